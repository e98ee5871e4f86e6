"""An application's receiver of lifecycle events, over real HTTP, verifying each delivery the way an
application would: with the Standard Webhooks convention's own Python package (``standardwebhooks``),
not with roomkeeper's signing code."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from common.standard_webhooks import new_secret
from roomkeeper.serving import ThreadedServer, serve_in_thread
from tests.support import wait_until_async


@dataclass(frozen=True)
class Delivery:
    """One POST the receiver got: verified (or why not), and what it answered."""

    path: str
    webhook_id: str
    body: dict[str, Any]
    verified: bool
    answered: int
    headers: dict[str, str]

    @property
    def type(self) -> str:
        return str(self.body.get("type"))

    @property
    def timestamp(self) -> datetime:
        return datetime.fromisoformat(self.body["timestamp"])


@dataclass
class EventsReceiver:
    server: ThreadedServer
    secret: str
    deliveries: list[Delivery] = field(default_factory=list)
    #: Answer this status to the next N deliveries of an event type (then 204).
    failing: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"{self.server.url}/hooks/roomkeeper"

    def fail(self, event_type: str, *statuses: int) -> None:
        with self.lock:
            self.failing[event_type] = list(statuses)

    def accepted(self) -> list[Delivery]:
        """Deliveries answered 2xx, in arrival order."""
        with self.lock:
            return [d for d in self.deliveries if 200 <= d.answered < 300]

    def types(self) -> list[str]:
        return [d.type for d in self.accepted()]

    async def wait_for(self, event_type: str, count: int = 1, within: float = 20.0) -> list[Delivery]:
        """The accepted deliveries of ``event_type``, once there are ``count`` (delivery is asynchronous)."""

        async def of_type() -> list[Delivery]:
            return [d for d in self.accepted() if d.type == event_type]

        return await wait_until_async(
            of_type, lambda found: len(found) >= count, within, f"{count} accepted {event_type}"
        )


@contextmanager
def events_receiver(secret: str | None = None) -> Iterator[EventsReceiver]:
    holder: list[EventsReceiver] = []

    async def receive(request: Request) -> PlainTextResponse:
        receiver = holder[0]
        raw = await request.body()
        headers = dict(request.headers)
        try:
            Webhook(receiver.secret).verify(raw, headers)
            verified = True
        except WebhookVerificationError:
            verified = False
        body = json.loads(raw)
        with receiver.lock:
            queue = receiver.failing.get(body.get("type"), [])
            answer = queue.pop(0) if queue and verified else (204 if verified else 401)
            receiver.deliveries.append(
                Delivery(request.url.path, headers.get("webhook-id", ""), body, verified, answer, headers)
            )
        return PlainTextResponse("", status_code=answer)

    server = serve_in_thread(Starlette(routes=[Route("/{path:path}", receive, methods=["POST"])]))
    receiver = EventsReceiver(server, secret or new_secret())
    holder.append(receiver)
    try:
        yield receiver
    finally:
        server.stop()
