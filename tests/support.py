"""Helpers shared by the tests: real servers on free loopback ports, and condition waits."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from common.settings import Settings
from emulator.app import Emulator, EmulatorConfig, create_app
from emulator.clock import ManualClock
from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from emulator.serving import GatheringHttpToolsProtocol
from roomkeeper.serving import ThreadedServer, serve_in_thread

T = TypeVar("T")

SHARED_REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


def wait_until(check: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds.

    Used for effects that are asynchronous by design (callback delivery), never to let time pass.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


async def wait_until_async(
    fetch: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    within: float = 10.0,
    what: str = "condition",
) -> T:
    """Await ``fetch()`` until ``done`` holds for its result (e.g. Temporal's eventually consistent
    visibility); fail with the last result after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = await fetch()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}; last: {result!r}")
        await asyncio.sleep(0.05)


@dataclass
class RunningEmulator:
    server: ThreadedServer
    app: Starlette

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def state(self) -> Emulator:
        emulator: Emulator = self.app.state.emulator
        return emulator

    def api(self) -> httpx.Client:
        """An httpx client on the Twilio surface, authenticated as the test account."""
        return httpx.Client(base_url=self.url, auth=(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN), timeout=10)

    def control(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def advance(self, seconds: float) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/emulator/clock/advance", json={"seconds": seconds})
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result


#: The tests' ROOMKEEPER_SECRET_KEY (a Fernet key), so no test creates the per-user key file.
TEST_SECRET_KEY = "dGVzdC1vbmx5LXNlY3JldC1rZXktMzItYnl0ZXMhISE="


def emulator_settings(emulator_url: str, task_queue: str, public_url: str, **more: Any) -> Settings:
    """A worker's settings for the emulator's test account (no .env read), plus ``more``."""
    return Settings(
        _env_file=None,
        twilio_account_sid=TEST_ACCOUNT_SID,
        twilio_auth_token=TEST_AUTH_TOKEN,
        twilio_video_base_url=emulator_url,
        task_queue=task_queue,
        public_url=public_url,
        secret_key=TEST_SECRET_KEY,
        **more,
    )


@contextmanager
def running_emulator(config: EmulatorConfig | None = None) -> Iterator[RunningEmulator]:
    app = create_app(config or EmulatorConfig(clock=ManualClock(), rate_limits=False))
    # Served as `roomkeeper emulator` serves it: with the protocol that writes each response at once.
    server = serve_in_thread(app, http=GatheringHttpToolsProtocol)
    try:
        yield RunningEmulator(server, app)
    finally:
        server.stop()


@dataclass
class ReceivedCallback:
    method: str
    url: str
    headers: dict[str, str]
    params: dict[str, str]


@dataclass
class CallbackSink:
    """A real HTTP server that records every status callback it receives."""

    server: ThreadedServer
    received: list[ReceivedCallback] = field(default_factory=list)
    status_code: int = 200

    @property
    def url(self) -> str:
        return f"{self.server.url}/callbacks"

    def events(self) -> list[str]:
        return [cb.params["StatusCallbackEvent"] for cb in self.ordered()]

    def ordered(self) -> list[ReceivedCallback]:
        """In each room's event order. Parallel delivery (like Twilio's) does not keep arrival order."""
        return sorted(self.received, key=lambda cb: (cb.params["RoomSid"], int(cb.params["SequenceNumber"])))

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedCallback]:
        wait_until(lambda: len(self.received) >= count, timeout, f"{count} callbacks (got {self.events()})")
        return self.ordered()


@contextmanager
def callback_sink() -> Iterator[CallbackSink]:
    lock = threading.Lock()
    holder: list[CallbackSink] = []

    async def record(request: Request) -> PlainTextResponse:
        body = (await request.body()).decode()
        params = dict(
            parse_qsl(body if request.method == "POST" else request.url.query, keep_blank_values=True)
        )
        with lock:
            holder[0].received.append(
                ReceivedCallback(request.method, str(request.url), dict(request.headers), params)
            )
        return PlainTextResponse("ok", status_code=holder[0].status_code)

    server = serve_in_thread(Starlette(routes=[Route("/{path:path}", record, methods=["GET", "POST"])]))
    sink = CallbackSink(server)
    holder.append(sink)
    try:
        yield sink
    finally:
        server.stop()
