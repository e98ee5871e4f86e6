"""What the Cal.com door refuses, on the real gateway (uvicorn): unsigned, forged or oversized deliveries,
bodies that are not what a trigger needs. Each answer says what is wrong; none is a 500 or a stall; the
log has one line per delivery and neither the secret nor an attendee's email."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from common.temporal import DATA_CONVERTER
from emulator.credentials import TEST_AUTH_TOKEN
from roomkeeper.gateway.app import create_gateway
from roomkeeper.gateway.config import GatewayConfig
from roomkeeper.meeting_client import MeetingClient, Scheduled
from roomkeeper.serving import bind, serve
from tests.calcom.deliveries import SECRET, CalcomSender, Series, signature
from tests.gateway.harness import RecordingSignaller

LIMIT = 4096


@pytest_asyncio.fixture
async def gateway(temporal_env: WorkflowEnvironment) -> AsyncIterator[str]:
    """The gateway alone; nothing refused here reaches Temporal (its task queue has no worker)."""
    async with _Gateway(temporal_env, SECRET) as url:
        yield url


class _Gateway:
    def __init__(
        self, env: WorkflowEnvironment, secret: str | None, meetings: MeetingClient | None = None
    ) -> None:
        sock = bind()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = GatewayConfig(
            public_url=self.url,
            auth_token=TEST_AUTH_TOKEN,
            calcom_webhook_secret=secret,
            calcom_max_body_bytes=LIMIT,
        )
        meetings = meetings or MeetingClient(env.client, "no-worker-here")
        self.app = create_gateway(config, RecordingSignaller(), meetings)
        self.sock = sock

    async def __aenter__(self) -> str:
        self.server, self.serving = await serve(self.app, self.sock)
        return self.url

    async def __aexit__(self, *_: object) -> None:
        self.server.should_exit = True
        await self.serving


@pytest_asyncio.fixture
async def cal(gateway: str) -> AsyncIterator[CalcomSender]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield CalcomSender(gateway, http)


def ping() -> dict:
    """A delivery the door acknowledges without touching Temporal."""
    start = datetime.now(UTC) + timedelta(hours=1)
    return Series().created(start, start + timedelta(minutes=30), trigger="MEETING_ENDED", uid="ping-uid")


def refused(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    message: str = body["error"]
    return message


# --------------------------------------------------------------------------------- signature


async def test_a_correctly_signed_delivery_is_accepted(cal: CalcomSender) -> None:
    response = await cal.send(ping())
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    # Hex is hex: Cal.com writes lower case, an upper-case copy of the same digest is the same signature.
    body = json.dumps(ping()).encode()
    response = await cal.send(body, signatures=[signature(body).upper()])
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("signatures", "message"),
    [
        ([], "the X-Cal-Signature-256 header is missing"),
        (
            ["no-secret-provided"],
            "X-Cal-Signature-256 is 'no-secret-provided': the webhook in Cal.com has no secret; give it the "
            "same secret as CALCOM_WEBHOOK_SECRET",
        ),
        (
            ["forged-with-another-secret"],
            "X-Cal-Signature-256 does not match the HMAC-SHA256 of the body with CALCOM_WEBHOOK_SECRET (is "
            "the webhook's secret in Cal.com the same?)",
        ),
        (["right", "right"], "the X-Cal-Signature-256 header is repeated (2 values)"),
        (["", "right"], "the X-Cal-Signature-256 header is repeated (2 values)"),
        ([""], "X-Cal-Signature-256 does not match"),
    ],
)
async def test_unsigned_forged_or_repeated_signatures_are_refused(
    cal: CalcomSender, signatures: list[str], message: str
) -> None:
    body = json.dumps(ping()).encode()
    values = [
        signature(body)
        if value == "right"
        else signature(body, "another-secret")
        if value == "forged-with-another-secret"
        else value
        for value in signatures
    ]
    assert refused(await cal.send(body, signatures=values), 403).startswith(message)


async def test_the_signature_covers_the_exact_bytes(cal: CalcomSender) -> None:
    delivery = ping()
    signed = json.dumps(delivery).encode()
    sent = json.dumps(delivery, indent=1).encode()  # the same JSON, other bytes
    refused(await cal.send(sent, signatures=[signature(signed)]), 403)
    # A signature that is not ASCII cannot be a hex digest: refused, not an error.
    response = await cal.http.post(
        f"{cal.url}/calendars/calcom", content=sent, headers=[(b"X-Cal-Signature-256", "é".encode("latin-1"))]
    )
    assert "does not match" in refused(response, 403)


async def test_without_a_secret_nothing_is_accepted(temporal_env: WorkflowEnvironment) -> None:
    async with _Gateway(temporal_env, None) as url, httpx.AsyncClient(timeout=10) as http:
        response = await CalcomSender(url, http, secret="").send(ping())
        assert refused(response, 503) == (
            "CALCOM_WEBHOOK_SECRET is not set: roomkeeper refuses Cal.com deliveries it cannot verify"
        )


async def test_temporal_down_is_503_quickly_and_safe_to_deliver_again(
    temporal_env: WorkflowEnvironment,
) -> None:
    sock = bind()
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    never = await Client.connect(f"127.0.0.1:{port}", lazy=True, data_converter=DATA_CONVERTER)
    meetings = MeetingClient(never, "nowhere", rpc_timeout=timedelta(seconds=0.5))
    start = datetime.now(UTC) + timedelta(hours=1)
    series = Series()
    created = series.created(start, start + timedelta(minutes=30))
    async with _Gateway(temporal_env, SECRET, meetings) as url, httpx.AsyncClient(timeout=10) as http:
        for delivery in (created, series.cancelled(created)):
            response = await CalcomSender(url, http).send(delivery)
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"] == "5"
            body = response.json()
            assert body["outcome"] == "unavailable"
            assert body["error"].startswith("Temporal did not answer")
            assert body["error"].endswith("; delivering it again is safe")


class _Exploding(MeetingClient):
    async def schedule(self, *args: object, **kwargs: object) -> Scheduled:
        raise RuntimeError("a surprise from deep inside")


async def test_a_surprise_is_a_503_and_a_logged_traceback_not_a_500(
    temporal_env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    start = datetime.now(UTC) + timedelta(hours=1)
    created = Series().created(start, start + timedelta(minutes=30))
    meetings = _Exploding(temporal_env.client, "nowhere")
    async with _Gateway(temporal_env, SECRET, meetings) as url, httpx.AsyncClient(timeout=10) as http:
        response = await CalcomSender(url, http).send(created)
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "RuntimeError; delivering it again is safe"
    [failure] = [
        record for record in caplog.records if record.name == "roomkeeper.gateway.calcom" and record.exc_info
    ]
    assert failure.exc_info is not None and "a surprise from deep inside" in str(failure.exc_info[1])


# ------------------------------------------------------------------------------------- body


async def test_an_oversized_body_is_refused_before_it_is_read(cal: CalcomSender) -> None:
    body = json.dumps(ping() | {"padding": "x" * LIMIT}).encode()
    message = refused(await cal.send(body), 413)
    assert message == f"Content-Length is {len(body)}; the limit is {LIMIT} bytes"

    # No Content-Length: counted as it streams, and answered once past the limit, mid-body.
    host, port = cal.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            b"POST /calendars/calcom HTTP/1.1\r\nHost: gateway\r\nTransfer-Encoding: chunked\r\n"
            b"X-Cal-Signature-256: " + b"0" * 64 + b"\r\n\r\n"
        )
        chunk = b" " * 1024
        for _ in range(5):
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()  # never the last chunk: the gateway must not wait for the rest
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        answer = json.loads(await asyncio.wait_for(reader.readexactly(length), 10))
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 413 ") and b"connection: close" in head.lower()
    assert answer == {"error": f"the body is longer than the limit of {LIMIT} bytes"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the body is not JSON: Expecting value: line 1 column 1 (char 0)"),
        (b"triggerEvent=BOOKING_CREATED", "the body is not JSON: Expecting value: line 1 column 1 (char 0)"),
        (b'{"triggerEvent": "BOOKING_CREATED", ', "the body is not JSON: Expecting property name"),
        (b"\xff\xfe{}", "the body is not JSON"),
        (b"[" * 2000 + b"]" * 2000, "the body is not JSON: maximum recursion depth exceeded"),
        (b'["BOOKING_CREATED"]', "the body must be a JSON object with triggerEvent and payload"),
        (b'{"payload": {}}', "triggerEvent: Field required"),
        (b'{"triggerEvent": 7}', "triggerEvent: Input should be a valid string (got 7)"),
        (b'{"triggerEvent": "BOOKING_CREATED"}', "payload is required for BOOKING_CREATED (a JSON object)"),
    ],
)
async def test_a_body_that_is_not_a_delivery_is_refused(cal: CalcomSender, body: bytes, message: str) -> None:
    assert refused(await cal.send(body), 400).startswith(f"malformed Cal.com delivery: {message}")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"iCalUID": None}, "payload.iCalUID: Input should be a valid string (got None)"),
        ({"iCalSequence": "next"}, "payload.iCalSequence: Input should be a valid integer"),
        ({"iCalSequence": -1}, "payload.iCalSequence: Input should be greater than or equal to 0 (got -1)"),
        ({"startTime": "2026-11-25T09:00:00"}, "payload.startTime: Input should have timezone info"),
        ({"endTime": "tomorrow"}, "payload.endTime: Input should be a valid datetime"),
        ({"uid": ""}, "payload.uid: String should have at least 1 character (got '')"),
    ],
)
async def test_a_booking_without_what_its_trigger_needs_is_refused_naming_the_field(
    cal: CalcomSender, changes: dict, message: str
) -> None:
    start = datetime.now(UTC) + timedelta(hours=1)
    delivery = Series().created(start, start + timedelta(minutes=30))
    delivery["payload"].update(changes)
    assert refused(await cal.send(delivery), 400).startswith(f"malformed Cal.com delivery: {message}")
    for name in ("iCalUID", "startTime"):
        missing = Series().created(start, start + timedelta(minutes=30))
        del missing["payload"][name]
        assert refused(await cal.send(missing), 400) == (
            f"malformed Cal.com delivery: payload.{name}: Field required"
        )


async def test_only_post_is_served(cal: CalcomSender) -> None:
    response = await cal.http.get(f"{cal.url}/calendars/calcom")
    assert refused(response, 405) == "Method Not Allowed: GET /calendars/calcom"


# ------------------------------------------------------------------------------------- log


async def test_one_log_line_per_delivery_without_secrets_or_attendees(
    cal: CalcomSender, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="roomkeeper.gateway.calcom")
    delivery = ping()
    await cal.send(delivery)
    body = json.dumps(delivery).encode()
    await cal.send(body, signatures=[signature(body, "wrong")])
    lines = [record.getMessage() for record in caplog.records if record.name == "roomkeeper.gateway.calcom"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("Cal.com delivery 'MEETING_ENDED' for booking 'ping-uid': ignored None (200)")
    assert lines[1].startswith(
        'Cal.com delivery None for booking None refused: 403 "X-Cal-Signature-256 does not match'
    )
    text = "\n".join(lines)
    for private in (SECRET, signature(body), "alex@example.org", "pat@example.com"):
        assert private not in text
