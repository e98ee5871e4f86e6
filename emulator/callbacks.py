"""Status callback delivery: signed like Twilio, sent in the background, every result logged.

The API only enqueues; a pool of sender tasks delivers. A slow or dead receiver therefore never
delays a REST response, and a full queue drops (and logs) rather than blocking.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from emulator.state import CallbackRequest
from twilio_video.signature import compute_signature
from twilio_video.timefmt import format_callback_timestamp

log = logging.getLogger(__name__)


def signed_request(request: CallbackRequest, auth_token: str) -> tuple[str, dict[str, str], bytes | None]:
    """The URL, headers and body Twilio would send for ``request``."""
    headers = {"User-Agent": "TwilioProxy/1.1", "Accept": "*/*"}
    if request.method == "GET":
        separator = "&" if "?" in request.url else "?"
        url = request.url + separator + urlencode(request.params)
        headers["X-Twilio-Signature"] = compute_signature(auth_token, url)
        return url, headers, None
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    headers["X-Twilio-Signature"] = compute_signature(auth_token, request.url, request.params)
    return request.url, headers, urlencode(request.params).encode()


class CallbackDispatcher:
    def __init__(
        self,
        auth_token_for: Callable[[str], str],
        *,
        senders: int = 8,
        timeout_seconds: float = 5.0,
        max_queue: int = 10_000,
        log_size: int = 20_000,
    ) -> None:
        self._auth_token_for = auth_token_for
        self._senders = senders
        self._timeout = timeout_seconds
        self._queue: asyncio.Queue[CallbackRequest] = asyncio.Queue(maxsize=max_queue)
        self._tasks: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None
        self.log: deque[dict[str, Any]] = deque(maxlen=log_size)
        self._in_flight = 0

    def enqueue(self, request: CallbackRequest) -> None:
        try:
            self._queue.put_nowait(request)
        except asyncio.QueueFull:
            self._record(request, result="dropped", error="callback queue full")

    @property
    def pending(self) -> int:
        return self._queue.qsize() + self._in_flight

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        self._tasks = [asyncio.create_task(self._sender()) for _ in range(self._senders)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()

    async def _sender(self) -> None:
        while True:
            request = await self._queue.get()
            self._in_flight += 1
            try:
                await self._deliver(request)
            finally:
                self._in_flight -= 1
                self._queue.task_done()

    async def _deliver(self, request: CallbackRequest) -> None:
        assert self._client is not None
        url, headers, body = signed_request(request, self._auth_token_for(request.account_sid))
        started = time.perf_counter()
        try:
            response = await self._client.request(request.method, url, headers=headers, content=body)
        except httpx.HTTPError as exc:
            self._record(request, result="error", error=f"{type(exc).__name__}: {exc}", started=started)
            log.info("status callback %s to %s failed: %s", request.params["StatusCallbackEvent"], url, exc)
            return
        self._record(
            request,
            result="delivered" if response.is_success else "rejected",
            status_code=response.status_code,
            started=started,
        )

    def _record(
        self,
        request: CallbackRequest,
        *,
        result: str,
        status_code: int | None = None,
        error: str | None = None,
        started: float | None = None,
    ) -> None:
        self.log.append(
            {
                "time": format_callback_timestamp(datetime.now(UTC)),
                "url": request.url,
                "method": request.method,
                "event": request.params["StatusCallbackEvent"],
                "room_sid": request.params["RoomSid"],
                "sequence_number": int(request.params["SequenceNumber"]),
                "result": result,
                "status_code": status_code,
                "error": error,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
                "params": request.params,
            }
        )
