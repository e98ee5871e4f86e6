"""Feeds over real HTTP for tests: events written as iCalendar, served with an ETag per version by a real
server that can fail or serve anything on demand (the ``feed_server`` fixture in tests/conftest.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from roomkeeper.serving import serve_in_thread

SECRET_PATH = "/calendar/ical/private-0123456789abcdef/basic.ics"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass
class Event:
    uid: str
    start: datetime
    minutes: int = 30
    title: str = "Meeting"
    rrule: str | None = None
    sequence: int = 0
    recurrence_id: datetime | None = None
    cancelled: bool = False

    def ics(self) -> str:
        lines = [
            "BEGIN:VEVENT",
            f"UID:{self.uid}",
            "DTSTAMP:20260101T000000Z",
            f"SEQUENCE:{self.sequence}",
            f"SUMMARY:{self.title}",
            f"DTSTART:{stamp(self.start)}",
            f"DTEND:{stamp(self.start + timedelta(minutes=self.minutes))}",
        ]
        if self.rrule:
            lines.append(f"RRULE:{self.rrule}")
        if self.recurrence_id:
            lines.append(f"RECURRENCE-ID:{stamp(self.recurrence_id)}")
        if self.cancelled:
            lines.append("STATUS:CANCELLED")
        return "\r\n".join([*lines, "END:VEVENT"])


@dataclass
class FeedServer:
    """Serves the events as a feed, with an ETag per version; can fail or serve anything on demand."""

    events: list[Event] = field(default_factory=list)
    raw: bytes | None = None
    status: int = 200
    version: int = 1
    requests: list[tuple[str | None, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def body(self) -> bytes:
        if self.raw is not None:
            return self.raw
        inner = "\r\n".join(event.ics() for event in self.events)
        return (
            f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{inner}\r\nEND:VCALENDAR\r\n".encode()
        )

    def changed(self) -> None:
        self.version += 1

    async def serve(self, request: Request) -> Response:
        etag = f'"v{self.version}"'
        condition = request.headers.get("if-none-match")
        if self.status != 200:
            answer: Response = PlainTextResponse("broken", status_code=self.status)
        elif condition == etag:
            answer = Response(status_code=304)
        else:
            answer = Response(self.body(), media_type="text/calendar", headers={"ETag": etag})
        with self.lock:
            self.requests.append((condition, answer.status_code))
        return answer


@contextmanager
def served_feed() -> Iterator[tuple[FeedServer, str]]:
    """A ``FeedServer`` and its feed's address (with a secret-looking path, as Google's are)."""
    state = FeedServer()
    server = serve_in_thread(Starlette(routes=[Route(SECRET_PATH, state.serve)]))
    try:
        yield state, server.url + SECRET_PATH
    finally:
        server.stop()
