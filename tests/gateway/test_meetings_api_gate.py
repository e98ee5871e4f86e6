"""What every ``/meetings`` request passes before it reaches Temporal: the bearer token, a bounded JSON
body, validation in ``{"error", "problems"}`` form, and Temporal's absence as a 503 with ``Retry-After``.

The gateway runs under uvicorn with a meeting client whose Temporal never answers, so a request that
gets past the gate shows it by a 503 (and one that does not, by never waiting for Temporal)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from common.temporal import DATA_CONVERTER
from emulator.credentials import TEST_AUTH_TOKEN
from roomkeeper.gateway.config import MAX_BODY_BYTES
from roomkeeper.meeting_client import MeetingClient
from tests.gateway.harness import CONNECTED
from tests.gateway.meetings_support import (
    AUTH,
    TOKEN,
    gateway_on,
    serving,
    spec_json,
    unreachable_meetings,
)
from tests.temporal_env import TEMPORAL_CLI
from twilio_video.signature import compute_signature

#: One request per route: (method, path, JSON body).
ROUTES = [
    ("POST", "/meetings", spec_json("gate")),
    ("GET", "/meetings", None),
    ("GET", "/meetings/gate", None),
    ("PATCH", "/meetings/gate", {"extend_minutes": 5}),
    ("POST", "/meetings/gate/end", {"reason": "done"}),
    ("DELETE", "/meetings/gate", None),
]


@pytest_asyncio.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    async with serving(gateway_on(await unreachable_meetings()), headers=AUTH) as http:
        yield http


def error(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    message: str = body["error"]
    return message


# ---------------------------------------------------------------------------------------- the token


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_every_route_wants_the_token(
    api: httpx.AsyncClient, method: str, path: str, body: dict | None
) -> None:
    async with httpx.AsyncClient(base_url=api.base_url) as anonymous:
        absent = await anonymous.request(method, path, json=body)
    blank = await api.request(method, path, json=body, headers={"Authorization": ""})
    for missing in (absent, blank):
        assert missing.status_code == 401, missing.text
        assert missing.headers["www-authenticate"] == 'Bearer realm="roomkeeper"'
        assert error(missing) == "the Authorization header is missing: send Authorization: Bearer <token>"
    wrongs = [
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Basic {TOKEN}",
        TOKEN,
        "Bearer",
        "Bearer ü",
    ]
    for wrong in wrongs:
        # As bytes: httpx would refuse to encode the "ü" itself.
        refused = await api.request(method, path, json=body, headers={b"Authorization": wrong.encode()})
        assert refused.status_code == 401, (wrong, refused.text)
        assert refused.headers["www-authenticate"] == 'Bearer realm="roomkeeper", error="invalid_token"'
        assert error(refused) == "the bearer token is not the gateway's ROOMKEEPER_API_TOKEN"
    # The right token gets past the gate: to Temporal, which does not answer.
    passed = await api.request(method, path, json=body, headers={"Authorization": f"bearer  {TOKEN}"})
    assert passed.status_code == 503, passed.text


async def test_a_repeated_authorization_header_is_refused(api: httpx.AsyncClient) -> None:
    headers = [("Authorization", f"Bearer {TOKEN}"), ("Authorization", f"Bearer {TOKEN}")]
    response = await api.get("/meetings/x", headers=httpx.Headers(headers))
    assert response.status_code == 401, response.text


@pytest.mark.parametrize("api_token", [None, ""])
async def test_without_a_configured_token_the_api_is_closed_and_says_why(api_token: str | None) -> None:
    app = gateway_on(await unreachable_meetings(), api_token=api_token)
    async with serving(app) as http:
        for method, path, body in ROUTES:
            for headers in ({}, AUTH, {"Authorization": "Bearer"}):
                response = await http.request(method, path, json=body, headers=headers)
                assert response.status_code == 503, response.text
                assert "retry-after" not in response.headers
                assert error(response) == (
                    "the meetings API is closed: ROOMKEEPER_API_TOKEN is not set on the gateway, and "
                    "without it anyone who reaches the gateway could start and read meetings"
                )
        # The rest of the gateway stays open: health, and Twilio's callbacks (checked by signature).
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        signature = compute_signature(
            TEST_AUTH_TOKEN, "http://127.0.0.1/twilio/status/meeting-x", list(CONNECTED.items())
        )
        callback = await http.post(
            "/twilio/status/meeting-x", data=CONNECTED, headers={"X-Twilio-Signature": signature}
        )
        assert callback.status_code == 202, callback.text


async def test_the_token_is_never_logged(api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for headers in (AUTH, {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": f"Basic {TOKEN}"}):
        await api.get("/meetings/x", headers=headers)
    assert TOKEN not in caplog.text and TOKEN[3:9] not in caplog.text


# ---------------------------------------------------------------------------------------- the body


async def test_a_body_over_the_limit_is_413_whether_declared_or_streamed(api: httpx.AsyncClient) -> None:
    big = b'{"title": "' + b"x" * MAX_BODY_BYTES + b'"}'
    declared = await api.post("/meetings", content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413, declared.text
    assert error(declared) == f"Content-Length is {len(big)}; the limit is {MAX_BODY_BYTES} bytes"

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    streamed = await api.patch("/meetings/x", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413, streamed.text
    assert error(streamed) == f"the body is longer than the limit of {MAX_BODY_BYTES} bytes"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"meeting_id": ', "the body is not valid JSON: Expecting value at line 1, column 16"),
        (b"{'meeting_id': 'x'}", "the body is not valid JSON: Expecting property name enclosed in double "
         "quotes at line 1, column 2"),
        (b'{"a": 1} {"b": 2}', "the body is not valid JSON: Extra data at line 1, column 10"),
        (b'{"title": "\xff"}', "the body is not valid JSON: it is not UTF-8"),
        (b"[" * 10_000 + b"]" * 10_000,
         "the body is not valid JSON that can be read: it is nested too deeply"),
        (b'{"open_before_seconds": ' + b"9" * 5000 + b"}", "the body is not valid JSON that can be read: "
         "Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits; use "
         "sys.set_int_max_str_digits() to increase the limit"),
    ],
)  # fmt: skip
async def test_malformed_json_is_400_with_what_is_wrong(
    api: httpx.AsyncClient, body: bytes, message: str
) -> None:
    for method, path in (("POST", "/meetings"), ("PATCH", "/meetings/x"), ("POST", "/meetings/x/end")):
        response = await api.request(method, path, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.text
        assert error(response) == message


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        (None, "the body must be JSON, sent with Content-Type: application/json"),
        ("text/plain", "the body must be JSON with Content-Type: application/json, not 'text/plain'"),
        (
            "application/x-www-form-urlencoded",
            "the body must be JSON with Content-Type: application/json, "
            "not 'application/x-www-form-urlencoded'",
        ),
        (
            "application/jsonx",
            "the body must be JSON with Content-Type: application/json, not 'application/jsonx'",
        ),
    ],
)
async def test_a_body_that_is_not_sent_as_json_is_415(
    api: httpx.AsyncClient, content_type: str | None, message: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await api.post("/meetings", content=b'{"meeting_id": "x"}', headers=headers)
    assert response.status_code == 415, response.text
    assert error(response) == message


async def test_json_media_types_with_parameters_or_a_suffix_are_json(api: httpx.AsyncClient) -> None:
    for content_type in (
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
    ):
        response = await api.patch(
            "/meetings/x", content=b'{"extend_minutes": 5}', headers={"Content-Type": content_type}
        )
        assert response.status_code == 503, (content_type, response.text)  # past the gate, to Temporal


# ---------------------------------------------------------------------------------------- validation


def problems(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"error", "problems"}, body
    found = [(p["field"], p["message"]) for p in body["problems"]]
    listed = "; ".join(message if field == "body" else f"{field}: {message}" for field, message in found)
    assert body["error"] == f"invalid request: {listed}"
    return found


BAD_SPECS = [
    (
        {"room": {"max_participants": 60}},
        [("room.max_participants", "60 is out of range; allowed from 1 up to 50 for a 'group' room")],
    ),
    (
        {"room": {"type": "go", "max_participants": 10, "audio_only": True}},
        [
            ("room.max_participants", "10 is out of range; allowed from 1 up to 2 for a 'go' room"),
            ("room.audio_only", "true needs type 'group', not type 'go'"),
        ],
    ),
    (
        {"room": {"type": "peer-to-peer", "max_participants": 0, "max_participant_duration": 100}},
        [
            ("room.max_participants", "0 is out of range; allowed from 1 up to 10 for a 'peer-to-peer' room"),
            ("room.max_participant_duration", "100 is out of range; allowed from 600 to 86400 seconds"),
        ],
    ),
    (
        {"room": {"type": "group-small", "record_participants_on_connect": True, "media_region": "mars1"}},
        [
            ("room.media_region", "'mars1' is not one of au1, br1, de1, gll, ie1, in1, jp1, sg1, us1, us2"),
        ],
    ),
    (
        {"room": {"video_codecs": ["VP9"], "colour": "red"}, "start_time": "2030-06-03T09:00:00"},
        [
            ("start_time", "Input should have timezone info (got '2030-06-03T09:00:00')"),
            ("room.video_codecs.0", "Input should be 'VP8' or 'H264' (got 'VP9')"),
            ("room.colour", "Extra inputs are not permitted (got 'red')"),
        ],
    ),
    (
        {"meeting_id": "no spaces", "title": "t" * 201},
        [
            ("meeting_id", "String should match pattern '^[A-Za-z0-9][A-Za-z0-9._:@-]*$' (got 'no spaces')"),
            ("title", f"String should have at most 200 characters (got {'t' * 201!r})"),
        ],
    ),
    (
        {"start_time": "2030-06-03T10:00:00Z", "end_time": "2030-06-03T09:00:00+00:00"},
        [("body", "end_time 2030-06-03T09:00:00+00:00 must be after start_time 2030-06-03T10:00:00+00:00")],
    ),
]


@pytest.mark.parametrize(("change", "expected"), BAD_SPECS)
async def test_invalid_specs_name_each_field_and_rule(
    api: httpx.AsyncClient, change: dict, expected: list[tuple[str, str]]
) -> None:
    spec = spec_json("valid") | change
    assert problems(await api.post("/meetings", json=spec)) == expected


async def test_missing_fields_and_bodies(api: httpx.AsyncClient) -> None:
    assert problems(await api.post("/meetings", json={"title": "x"})) == [
        ("meeting_id", "Field required"),
        ("start_time", "Field required"),
        ("end_time", "Field required"),
    ]
    assert problems(await api.post("/meetings")) == [("body", "a JSON body is required")]
    assert problems(await api.post("/meetings", json=[1])) == [
        ("body", "Input should be a valid dictionary or object to extract fields from")
    ]


async def test_a_meeting_whose_end_has_passed_is_refused_by_the_gateways_clock(
    api: httpx.AsyncClient,
) -> None:
    # The contract's example: its end passed on 2026-11-25. Temporal is unreachable here: the 422 comes
    # from the gateway's own clock, not from a workflow refusing to start.
    spec = {"meeting_id": "standup", "start_time": "2026-11-25T09:00:00Z", "end_time": "2026-11-25T09:15:00Z"}
    response = await api.post("/meetings", json=spec)
    (field, message), = problems(response)  # fmt: skip
    assert field == "end_time"
    assert message.startswith("2026-11-25T09:15:00+00:00 has already passed (it is ")
    assert message.endswith("): there is no window left to open a room in")


async def test_times_without_a_utc_equivalent_are_422(api: httpx.AsyncClient) -> None:
    early = {"start_time": "0001-01-01T00:00:00+05:00", "end_time": "0001-01-01T01:00:00+05:00"}
    assert problems(await api.post("/meetings", json=spec_json("x") | early)) == [
        ("start_time", "0001-01-01T00:00:00+05:00 is out of range in UTC")
    ]
    listed = await api.get("/meetings", params={"from": "0001-01-01T00:00:00+05:00"})
    assert problems(listed) == [("from", "0001-01-01T00:00:00+05:00 is out of range in UTC")]


async def test_bad_parameters_are_named(api: httpx.AsyncClient) -> None:
    response = await api.get(
        "/meetings",
        params={"phase": "done", "from": "yesterday", "to": "2030-06-03T09:00:00", "page_size": 0},
    )
    assert problems(response) == [
        ("phase", "Input should be 'scheduled', 'opening', 'open', 'closing', 'completed', 'cancelled' or "
         "'failed' (got 'done')"),
        ("from", "Input should be a valid datetime or date, input is too short (got 'yesterday')"),
        ("to", "Input should have timezone info (got '2030-06-03T09:00:00')"),
        ("page_size", "Input should be greater than or equal to 1 (got '0')"),
    ]  # fmt: skip
    for forged in ("%%%", "bm90IGEgdG9rZW4="):
        assert problems(await api.get("/meetings", params={"page_token": forged})) == [
            ("page_token", "page_token is not one this listing returned")
        ]
    assert problems(await api.get("/meetings/not%20an%20id")) == [
        ("meeting_id", "String should match pattern '^[A-Za-z0-9][A-Za-z0-9._:@-]*$' (got 'not an id')")
    ]
    assert problems(await api.delete("/meetings/x", params={"reason": "r" * 501})) == [
        ("reason", f"String should have at most 500 characters (got {'r' * 501!r})")
    ]


NEITHER = "give start_time and/or end_time (a reschedule) or extend_minutes (an extension)"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, [("body", NEITHER)]),
        (
            {"extend_minutes": 5, "end_time": "2030-06-03T09:00:00Z"},
            [("body", f"{NEITHER}, not both")],
        ),
        ({"extend_minutes": 0}, [("extend_minutes", "Input should be greater than or equal to 1 (got 0)")]),
        ({"extend_minutes": 1441},
         [("extend_minutes", "Input should be less than or equal to 1440 (got 1441)")]),
        ({"minutes": 5}, [("minutes", "Extra inputs are not permitted (got 5)")]),
    ],
)  # fmt: skip
async def test_a_change_is_a_reschedule_or_an_extension(
    api: httpx.AsyncClient, change: dict, expected: list[tuple[str, str]]
) -> None:
    assert problems(await api.patch("/meetings/x", json=change)) == expected


# ---------------------------------------------------------------------------------------- Temporal down


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_temporal_unreachable_is_503_with_retry_after(
    api: httpx.AsyncClient, method: str, path: str, body: dict | None
) -> None:
    response = await api.request(method, path, json=body)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert error(response).startswith("Temporal did not answer")


async def test_a_stopped_temporal_is_503_too() -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI),
        data_converter=DATA_CONVERTER,
        dev_server_log_level="error",
    )
    await env.shutdown()
    meetings = MeetingClient(env.client, "nowhere", rpc_timeout=timedelta(seconds=0.5))
    async with serving(gateway_on(meetings), headers=AUTH) as api:
        for method, path, body in ROUTES:
            response = await api.request(method, path, json=body)
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"


# ---------------------------------------------------------------------------------------- a bug


class _Broken(MeetingClient):
    async def status(self, meeting_id: str):
        raise RuntimeError(f"a bug while reading {meeting_id}")


async def test_an_unexpected_error_is_logged_once_and_answered_without_detail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = _Broken((await unreachable_meetings()).temporal, "nowhere")
    caplog.set_level(logging.ERROR)
    async with serving(gateway_on(broken), headers=AUTH) as api:
        response = await api.get("/meetings/secret-id")
    assert response.status_code == 500
    assert error(response) == "internal error; the gateway's log has the details"
    (record,) = [r for r in caplog.records if r.name == "roomkeeper.gateway.api_gate"]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "API: GET '/meetings/secret-id' failed unexpectedly"
    assert record.exc_info is not None and "a bug while reading secret-id" in str(record.exc_info[1])
