"""The Twilio client's own unit tests: wire encoding, paging, error mapping, metrics (respx)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import parse_qsl

import httpx
import pytest
import respx
from freezegun import freeze_time

from common.metrics import TWILIO_REQUESTS, PrometheusRequestObserver
from twilio_video.client import TwilioCredentials, VideoClient, parse_retry_after
from twilio_video.errors import (
    InvalidParameter,
    NotFound,
    RateLimited,
    RoomExists,
    RoomNotInProgress,
    TransientError,
    TwilioError,
    Unauthorized,
)
from twilio_video.models import ParticipantStatus, RoomStatus, VideoCodec
from twilio_video.params import CreateRoomParams

BASE = "https://video.example"
ACCOUNT = "AC" + "1" * 32
ROOM_SID = "RM" + "a" * 32


def room_json(sid: str = ROOM_SID, name: str = "r") -> dict:
    return {
        "sid": sid, "status": "in-progress", "date_created": "2026-11-25T09:00:00Z",
        "date_updated": "2026-11-25T09:00:00Z", "account_sid": ACCOUNT, "enable_turn": True,
        "unique_name": name, "status_callback": None, "status_callback_method": "POST", "end_time": None,
        "duration": None, "type": "group", "max_participants": 50, "max_participant_duration": 14400,
        "max_concurrent_published_tracks": 170, "record_participants_on_connect": False,
        "video_codecs": ["VP8"], "media_region": "us1", "audio_only": False, "empty_room_timeout": 5,
        "unused_room_timeout": 5, "large_room": False, "url": f"{BASE}/v1/Rooms/{sid}", "links": {},
        "a_field_twilio_added_later": 1,
    }  # fmt: skip


def error(status: int, code: int, message: str) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@pytest.fixture
async def client():
    async with VideoClient(TwilioCredentials.from_auth_token(ACCOUNT, "token"), BASE) as video:
        yield video


@respx.mock
async def test_create_encodes_like_twilios_libraries(client: VideoClient) -> None:
    route = respx.post(f"{BASE}/v1/Rooms").respond(201, json=room_json())
    params = CreateRoomParams(
        unique_name="Daily Standup",
        video_codecs=[VideoCodec.VP8, VideoCodec.H264],
        audio_only=False,
        record_participants_on_connect=True,
        recording_rules={"rules": [{"type": "include", "all": True}]},
        max_participants=10,
        empty_room_timeout=5,
    )
    room = await client.create_room(params)
    assert room.sid == ROOM_SID
    request = route.calls.last.request
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["user-agent"].startswith("roomkeeper/")
    assert request.headers["authorization"].startswith("Basic ")
    assert parse_qsl(request.content.decode()) == [
        ("UniqueName", "Daily Standup"),
        ("MaxParticipants", "10"),
        ("RecordParticipantsOnConnect", "true"),
        ("VideoCodecs", "VP8"),
        ("VideoCodecs", "H264"),
        ("RecordingRules", '{"rules":[{"type":"include","all":true}]}'),
        ("AudioOnly", "false"),
        ("EmptyRoomTimeout", "5"),
    ]


@respx.mock
async def test_paths_quote_names_and_updates_send_status(client: VideoClient) -> None:
    fetch = respx.get(f"{BASE}/v1/Rooms/a%20b%2Fc").respond(200, json=room_json())
    complete = respx.post(f"{BASE}/v1/Rooms/{ROOM_SID}").respond(202, json=room_json())
    await client.fetch_room("a b/c")
    await client.complete_room(ROOM_SID)
    assert fetch.called
    assert complete.calls.last.request.content == b"Status=completed"


@respx.mock
async def test_list_follows_next_page_url_verbatim(client: VideoClient) -> None:
    def page(items: list[dict], next_url: str | None) -> dict:
        meta = {"page": 0, "page_size": 2, "first_page_url": "x", "previous_page_url": None, "url": "x",
                "next_page_url": next_url, "key": "rooms"}  # fmt: skip
        return {"rooms": items, "meta": meta}

    first = respx.get(f"{BASE}/v1/Rooms", params={"Status": "completed", "PageSize": "2"}).respond(
        200,
        json=page(
            [room_json("RM" + "1" * 32), room_json("RM" + "2" * 32)], f"{BASE}/v1/Rooms?Page=1&PageToken=PA2"
        ),
    )
    second = respx.get(f"{BASE}/v1/Rooms", params={"Page": "1", "PageToken": "PA2"}).respond(
        200, json=page([room_json("RM" + "3" * 32)], None)
    )
    rooms = [r.sid async for r in client.list_rooms(status=RoomStatus.COMPLETED, page_size=2)]
    assert rooms == ["RM" + "1" * 32, "RM" + "2" * 32, "RM" + "3" * 32]
    assert first.call_count == second.call_count == 1


@respx.mock
async def test_list_filters_and_dates(client: VideoClient) -> None:
    route = respx.get(f"{BASE}/v1/Rooms/{ROOM_SID}/Participants").respond(
        200, json={"participants": [], "meta": {"page": 0, "page_size": 50, "first_page_url": "x",
                   "previous_page_url": None, "url": "x", "next_page_url": None, "key": "participants"}}
    )  # fmt: skip
    after = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    found = [
        p
        async for p in client.list_participants(
            ROOM_SID, status=ParticipantStatus.CONNECTED, identity="alice", created_after=after
        )
    ]
    assert found == []
    assert dict(route.calls.last.request.url.params) == {
        "Status": "connected",
        "Identity": "alice",
        "DateCreatedAfter": "2026-11-25T09:00:00Z",
        "PageSize": "50",
    }


ERROR_CASES = [
    (400, error(400, 53113, "Room exists"), RoomExists),
    (401, error(401, 20003, "Authenticate"), Unauthorized),
    (404, error(404, 20404, "The requested resource /Rooms/x was not found"), NotFound),
    (404, error(404, 53204, "Participant not found"), NotFound),
    (400, error(400, 53112, "Status is invalid"), RoomNotInProgress),
    (400, error(400, 53107, "MaxParticipants is out of range"), InvalidParameter),
    (429, error(429, 20429, "Too Many Requests"), RateLimited),
    (500, error(500, 20500, "Internal"), TransientError),
    (502, None, TransientError),
    (501, error(501, 501, "Not implemented by the Twilio Video emulator: Compositions"), InvalidParameter),
]


@pytest.mark.parametrize(
    ("status", "body", "cls"), ERROR_CASES, ids=[c[2].__name__ + str(c[0]) for c in ERROR_CASES]
)
@respx.mock
async def test_error_mapping(
    client: VideoClient, status: int, body: dict | None, cls: type[TwilioError]
) -> None:
    respx.get(f"{BASE}/v1/Rooms/x").respond(status, json=body) if body else respx.get(
        f"{BASE}/v1/Rooms/x"
    ).respond(status, text="<html>bad gateway</html>")
    with pytest.raises(TwilioError) as exc:
        await client.fetch_room("x")
    assert type(exc.value) is cls
    assert exc.value.status == status
    message = str(exc.value)
    assert message.startswith("FetchRoom x failed: ") and f"HTTP {status}" in message
    if body:
        assert (
            exc.value.code == body["code"]
            and f"Twilio {body['code']}" in message
            and body["message"] in message
        )


@respx.mock
async def test_retry_after_is_parsed(client: VideoClient) -> None:
    respx.post(f"{BASE}/v1/Rooms").respond(
        429, json=error(429, 20429, "Too Many Requests"), headers={"Retry-After": "3"}
    )
    with pytest.raises(RateLimited) as exc:
        await client.create_room(CreateRoomParams())
    assert exc.value.retry_after == 3.0


def test_retry_after_forms() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("soon") is None


@freeze_time("2026-01-01 07:27:30", tz_offset=0)
def test_retry_after_as_an_http_date_counts_from_now() -> None:
    # A fake clock, not a tolerance: the answer is exact whatever the machine's speed.
    assert parse_retry_after("Thu, 01 Jan 2026 07:28:00 GMT") == 30.0
    assert parse_retry_after(format_datetime(datetime(2026, 1, 1, 7, 27, tzinfo=UTC), usegmt=True)) == 0.0


@pytest.mark.parametrize(
    "exception",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")],
)
@respx.mock
async def test_transport_failures_are_transient(client: VideoClient, exception: Exception) -> None:
    respx.get(f"{BASE}/v1/Rooms/x").mock(side_effect=exception)
    with pytest.raises(TransientError) as exc:
        await client.fetch_room("x")
    assert exc.value.status is None and "FetchRoom x failed" in str(exc.value)


@respx.mock
async def test_garbled_success_body_is_transient(client: VideoClient) -> None:
    respx.get(f"{BASE}/v1/Rooms/x").respond(200, text='{"sid": 1')
    with pytest.raises(TransientError, match="unexpected response body"):
        await client.fetch_room("x")


@respx.mock
async def test_every_request_is_counted_by_operation_and_outcome() -> None:
    respx.get(f"{BASE}/v1/Rooms/x").respond(404, json=error(404, 20404, "nope"))
    respx.get(f"{BASE}/v1/Rooms/{ROOM_SID}").respond(200, json=room_json())

    def count(outcome: str, status: str) -> float:
        return TWILIO_REQUESTS.labels("FetchRoom", outcome, status)._value.get()

    before_ok, before_missing = count("success", "200"), count("NotFound", "404")
    credentials = TwilioCredentials.from_auth_token(ACCOUNT, "token")
    async with VideoClient(credentials, BASE, observer=PrometheusRequestObserver()) as client:
        await client.fetch_room(ROOM_SID)
        with pytest.raises(NotFound):
            await client.fetch_room("x")
    assert count("success", "200") == before_ok + 1
    assert count("NotFound", "404") == before_missing + 1


def test_credentials_never_show_their_secret() -> None:
    credentials = TwilioCredentials.from_api_key(ACCOUNT, "SK" + "2" * 32, "top-secret")
    client = VideoClient(credentials, BASE)
    assert "top-secret" not in repr(credentials) and "top-secret" not in repr(client)
