"""Fetching a feed over real HTTP (conditional requests, caps, redirects, timeouts) and from files, and
expanding hostile feeds in a bounded child process."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from calendar_feeds.fetch import fetch, http_client, redacted, validate_source
from calendar_feeds.models import FeedError, FeedOptions, Validators
from calendar_feeds.sandbox import expand_isolated
from roomkeeper.serving import serve_in_thread

FEEDS = Path(__file__).parent / "feeds"
BERLIN = (FEEDS / "berlin_weekly.ics").read_bytes()
SECRET = "private-4f9a0c1d2e3b4a5c6d7e8f90/basic.ics"


class FeedServer:
    """A real HTTP server with a feed that honours ETag and If-Modified-Since, and misbehaving paths."""

    def __init__(self) -> None:
        self.body = BERLIN
        self.etag = '"v1"'
        self.last_modified = "Mon, 05 Oct 2026 08:00:00 GMT"
        self.requests: list[dict[str, str]] = []
        self._lock = threading.Lock()

    async def feed(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(dict(request.headers))
        if request.headers.get("if-none-match") == self.etag:
            return Response(status_code=304)
        headers = {"ETag": self.etag, "Last-Modified": self.last_modified}
        return Response(self.body, media_type="text/calendar", headers=headers)

    async def endless(self, request: Request) -> Response:
        # Chunked, so no Content-Length gives the size away: only counting while streaming can.
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(64):
                yield b"X" * 65536

        return StreamingResponse(chunks(), media_type="text/calendar")

    async def slow(self, request: Request) -> Response:
        await asyncio.sleep(30)
        return PlainTextResponse("late")

    async def loop(self, request: Request) -> Response:
        return RedirectResponse(str(request.url), status_code=302)

    async def trickle(self, request: Request) -> Response:
        # Each read comes within httpx's per-read timeout; the whole never ends.
        async def lines() -> AsyncIterator[bytes]:
            yield b"BEGIN:VCALENDAR\r\n"
            for _ in range(600):
                await asyncio.sleep(0.1)
                yield b"X-A:b\r\n"

        return StreamingResponse(lines(), media_type="text/calendar")

    async def gone(self, request: Request) -> Response:
        return PlainTextResponse("no such calendar", status_code=404)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(f"/calendar/ical/{SECRET}", self.feed),
                Route("/endless", self.endless),
                Route("/slow", self.slow),
                Route("/loop", self.loop),
                Route("/gone", self.gone),
                Route("/trickle", self.trickle),
            ]
        )


@pytest.fixture
def feed_server() -> Iterator[tuple[FeedServer, str]]:
    state = FeedServer()
    # The endless and slow handlers never finish on their own: do not wait for them when stopping.
    server = serve_in_thread(state.app(), timeout_graceful_shutdown=1)
    try:
        yield state, server.url
    finally:
        server.stop()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with http_client() as client:
        yield client


async def test_an_unchanged_feed_costs_one_conditional_request(feed_server, http) -> None:
    state, base = feed_server
    url = f"{base}/calendar/ical/{SECRET}"
    first = await fetch(url, Validators(), http)
    assert first.data == BERLIN and first.status == 200
    assert first.validators.etag == '"v1"' and first.validators.last_modified == state.last_modified

    again = await fetch(url, first.validators, http)
    assert again.data is None and again.status == 304
    assert state.requests[-1]["if-none-match"] == '"v1"'
    assert state.requests[-1]["if-modified-since"] == state.last_modified
    assert len(state.requests) == 2

    state.body, state.etag = BERLIN.replace(b"Weekly standup", b"Standup"), '"v2"'
    changed = await fetch(url, again.validators, http)
    assert changed.data is not None and b"Standup" in changed.data and changed.validators.etag == '"v2"'


async def test_a_server_ignoring_conditions_still_reports_no_change(feed_server, http) -> None:
    state, base = feed_server
    url = f"{base}/calendar/ical/{SECRET}"
    first = await fetch(url, Validators(), http)
    # Same body, new ETag (some servers make one per response): the digest says nothing changed.
    state.etag = '"random-each-time"'
    again = await fetch(url, first.validators, http)
    assert again.data is None and again.status == 200


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/endless", "is longer than the limit of 1048576 bytes"),
        ("/loop", "redirected more than 5 times"),
        ("/gone", "answered HTTP 404 Not Found"),
        ("/slow", "did not answer within 1 s"),
        ("/trickle", "did not answer within 1 s"),
    ],
)
async def test_misbehaving_servers_are_clear_errors(feed_server, http, path: str, message: str) -> None:
    _, base = feed_server
    started = time.monotonic()
    with pytest.raises(FeedError) as refused:
        await fetch(f"{base}{path}", Validators(), http, max_bytes=1024 * 1024, time_limit=1)
    port = base.rsplit(":", 1)[1]
    assert str(refused.value) == f"http://127.0.0.1:{port}/…/{path.strip('/')} {message}"
    assert time.monotonic() - started < 10


async def test_the_secret_part_of_an_address_is_never_shown(feed_server, http) -> None:
    _, base = feed_server
    with pytest.raises(FeedError) as refused:
        await fetch(f"{base}/calendar/ical/{SECRET}/nope?token=abc", Validators(), http)
    assert "private-4f9a" not in str(refused.value) and "abc" not in str(refused.value)
    assert redacted(f"https://calendar.google.com/calendar/ical/{SECRET}") == (
        "https://calendar.google.com/…/basic.ics"
    )


async def test_local_files_and_sources(tmp_path: Path, http) -> None:
    path = tmp_path / "team.ics"
    path.write_bytes(BERLIN)
    first = await fetch(str(path), Validators(), http)
    assert first.data == BERLIN and first.status == 0
    assert (await fetch(path.as_uri(), first.validators, http)).data is None
    # Rewritten within the same second (same modification time to the second): still a change.
    path.write_bytes(BERLIN.replace(b"Weekly standup", b"Standup"))
    changed = await fetch(str(path), first.validators, http)
    assert changed.data is not None and b"Standup" in changed.data
    with pytest.raises(FeedError, match=r"^cannot read .*missing\.ics: No such file or directory$"):
        await fetch(str(tmp_path / "missing.ics"), Validators(), http)
    # A named pipe or a device is no feed, and must not block the worker waiting for a writer.
    fifo = tmp_path / "pipe.ics"
    os.mkfifo(fifo)
    with pytest.raises(FeedError, match=r"^.*pipe\.ics is not a regular file$"):
        await fetch(str(fifo), Validators(), http)
    with pytest.raises(FeedError, match=r"^/dev/zero is not a regular file$"):
        await fetch("/dev/zero", Validators(), http)
    assert validate_source("webcal://example.com/a.ics") == "https://example.com/a.ics"
    with pytest.raises(FeedError, match=r"^a feed is an http\(s\):// or webcal:// address"):
        validate_source("ftp://example.com/a.ics")
    with pytest.raises(FeedError, match=r"^a feed is an http\(s\):// or webcal:// address"):
        validate_source("relative/path.ics")


def _rule_feed(rule: str, start: str) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:hostile\r\n"
        f"DTSTART:{start}\r\nDURATION:PT1H\r\nRRULE:{rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


WINDOW = datetime(2026, 10, 1, tzinfo=UTC)


async def test_the_sandbox_expands_a_normal_feed() -> None:
    found = await expand_isolated(BERLIN, WINDOW, FeedOptions())
    assert [o.start.isoformat() for o in found.occurrences] == ["2026-10-13T07:00:00+00:00"]


@pytest.mark.slow
async def test_a_rule_that_is_slow_to_expand_is_stopped_in_bounded_time() -> None:
    # Hourly on 28 days of every month since the year 1000: 8 million instances before the window.
    every_hour = ",".join(str(h) for h in range(24))
    every_day = ",".join(str(d) for d in range(1, 29))
    rule = f"FREQ=YEARLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYMONTHDAY={every_day};BYHOUR={every_hour}"
    started = time.monotonic()
    with pytest.raises(FeedError) as refused:
        await expand_isolated(_rule_feed(rule, "10000101T000000Z"), WINDOW, FeedOptions(), time_limit=2)
    assert str(refused.value) == (
        "expanding the feed took longer than 2 s (a recurrence rule with too many instances?); "
        "nothing was changed"
    )
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _rule_feed("FREQ=SECONDLY;COUNT=1000000000", "20260101T000000Z"),
            "an event recurs FREQ=SECONDLY: sub-hourly recurrence is not a meeting series and is refused",
        ),
        (
            _rule_feed("FREQ=DAILY;COUNT=1000000000", "20261001T000000Z").replace(b"DAILY", b"HOURLY"),
            "the feed has more than 2000 occurrences in the next 100 days; shorten the horizon or split "
            "the calendar",
        ),
        (b"\xff\xfeB\x00E\x00G\x00", "not an iCalendar feed: it does not start with BEGIN:VCALENDAR"),
    ],
    ids=["secondly", "too-many-occurrences", "utf16"],
)
async def test_hostile_feeds_are_clear_errors(data: bytes, message: str) -> None:
    with pytest.raises(FeedError) as refused:
        await expand_isolated(data, WINDOW, FeedOptions(horizon=timedelta(days=100)), time_limit=20)
    assert str(refused.value) == message


async def test_thousands_of_events_and_bad_bytes_in_values() -> None:
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:e{i}\r\nDTSTART:20261002T{i % 24:02d}0000Z\r\nDURATION:PT30M\r\n"
        f"SUMMARY:Meeting {i}\r\nEND:VEVENT\r\n"
        for i in range(1500)
    )
    data = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{events}END:VCALENDAR\r\n".encode()
    found = await expand_isolated(data, WINDOW, FeedOptions())
    assert len(found.occurrences) == 1500
    latin1 = BERLIN.replace(b"Weekly standup (moved)", "Réunion déplacée".encode("latin-1"))
    found = await expand_isolated(latin1, WINDOW, FeedOptions())
    assert len(found.occurrences) == 1
