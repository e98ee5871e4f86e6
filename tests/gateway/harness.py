"""The gateway alone on a real uvicorn server, with a signaller that records instead of calling Temporal,
and a raw HTTP/1.1 connection for requests httpx will not make (lying lengths, half-sent bodies)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from temporalio.service import RPCError, RPCStatusCode

from common.room_events import RoomEvent, WorkflowGone
from common.status_callback import status_callback_url
from emulator.credentials import TEST_AUTH_TOKEN
from roomkeeper.gateway.app import create_gateway
from roomkeeper.gateway.config import GatewayConfig
from roomkeeper.serving import ThreadedServer, serve_in_thread
from twilio_video.signature import compute_signature

ROOM_SID = "RM" + "a" * 32
PARTICIPANT_SID = "PA" + "b" * 32

#: A genuine-looking participant-connected callback, as the emulator (and Twilio) sends it.
CONNECTED = {
    "AccountSid": "AC" + "c" * 32,
    "RoomName": "standup",
    "RoomSid": ROOM_SID,
    "RoomStatus": "in-progress",
    "RoomType": "group",
    "StatusCallbackEvent": "participant-connected",
    "Timestamp": "2026-11-25T09:00:01.876Z",
    "SequenceNumber": "1",
    "ParticipantSid": PARTICIPANT_SID,
    "ParticipantIdentity": "alice",
    "ParticipantStatus": "connected",
}


@dataclass
class RecordingSignaller:
    """Implements the gateway's ``Signaller``: records each signal. Ids starting ``gone-`` are not
    running, ``down-`` ones find Temporal unavailable, ``refused-`` ones are refused by Temporal."""

    signals: list[tuple[str, RoomEvent]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def room_event(self, workflow_id: str, event: RoomEvent) -> None:
        if workflow_id.startswith("gone-"):
            raise WorkflowGone(workflow_id)
        if workflow_id.startswith("down-"):
            raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
        if workflow_id.startswith("refused-"):
            raise RPCError("WorkflowId length exceeds limit.", RPCStatusCode.INVALID_ARGUMENT, b"")
        with self.lock:
            self.signals.append((workflow_id, event))

    def ids(self) -> list[str]:
        with self.lock:
            return [workflow_id for workflow_id, _ in self.signals]


@dataclass
class Gateway:
    server: ThreadedServer
    signaller: RecordingSignaller
    #: What Twilio is told to call; the server itself listens on ``url``.
    public_url: str
    http: httpx.Client

    @property
    def url(self) -> str:
        return self.server.url

    def callback_url(self, workflow_id: str) -> str:
        return status_callback_url(self.public_url, workflow_id)

    def local(self, public: str) -> str:
        """The loopback URL of a public one: same path and query, this server's address."""
        parts = urlsplit(public)
        return self.url + parts.path + (f"?{parts.query}" if parts.query else "")

    def post(
        self,
        workflow_id: str,
        params: dict[str, str] | list[tuple[str, str]],
        *,
        token: str = TEST_AUTH_TOKEN,
        signed_url: str | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        """POST ``params`` to the workflow's callback URL, signed for ``signed_url`` (by default that URL)."""
        public = self.callback_url(workflow_id)
        pairs = list(params.items()) if isinstance(params, dict) else params
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature or compute_signature(token, signed_url or public, pairs),
        }
        return self.http.post(self.local(public), content=urlencode(pairs), headers=headers)

    def get(
        self, workflow_id: str, params: dict[str, str], *, token: str = TEST_AUTH_TOKEN
    ) -> httpx.Response:
        """A GET callback: the parameters in the query, the signature over the URL alone."""
        public = f"{self.callback_url(workflow_id)}?{urlencode(params)}"
        return self.http.get(
            self.local(public), headers={"X-Twilio-Signature": compute_signature(token, public)}
        )


class _LateApp:
    """Forwards to an app built once the server's own URL (the default public URL) is known."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@contextmanager
def running_gateway(public_url: str | None = None, **config: Any) -> Iterator[Gateway]:
    """The gateway on a free loopback port. ``public_url`` defaults to its own URL; another one (say
    ``https://rooms.example.com``) is where a proxy in front of it would be reached."""
    signaller = RecordingSignaller()
    late = _LateApp()
    # No lifespan: the gateway has no startup work, and the app does not exist until the port is known.
    server = serve_in_thread(late, lifespan="off")
    public = public_url or server.url
    late.app = create_gateway(
        GatewayConfig(public_url=public, auth_token=TEST_AUTH_TOKEN, **config), signaller
    )
    try:
        with httpx.Client(timeout=10) as http:
            yield Gateway(server, signaller, public, http)
    finally:
        server.stop()


@dataclass
class RawResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RawConnection:
    """One HTTP/1.1 connection written byte by byte, for requests a client library would not send."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        # A timeout only so a broken gateway fails the test instead of hanging it; never waited out.
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
        self.sent = 0

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)
        self.sent += len(data)

    def read_response(self) -> RawResponse:
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed before a response; got {buffer!r}")
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return RawResponse(int(status_line.split()[1]), headers, rest[:length])

    def close(self) -> None:
        self.sock.close()
