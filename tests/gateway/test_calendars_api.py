"""``/calendars`` through the real gateway (uvicorn), on a real Temporal dev server, worker and emulator,
with a feed served over real HTTP: add → list → show → sync → remove, and the refusals."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from calendar_feeds.fetch import redacted
from tests.calendar_feeds.feeds_http import Event, FeedServer
from tests.workflows.stack import Stack, meeting_stack
from workflows.calendar_models import FeedStatus, SyncReport

TOKEN = "calendars-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest_asyncio.fixture
async def stack(temporal_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(temporal_env, api_token=TOKEN) as running:
        yield running


@pytest_asyncio.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers=AUTH, timeout=30) as client:
        yield client


async def test_a_calendar_through_the_api(
    stack: Stack, api: httpx.AsyncClient, feed_server: tuple[FeedServer, str]
) -> None:
    server, url = feed_server
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)
    server.events = [Event("weekly@example.com", start, rrule="FREQ=DAILY;COUNT=2", title="Weekly")]
    name = f"team-{uuid.uuid4().hex[:6]}"

    added = await api.post(
        "/calendars",
        json={"name": name, "ics": url, "every": "PT1H", "meetings": {"room": {"type": "group-small"}}},
    )
    assert added.status_code == 201, added.text
    assert added.headers["location"] == f"/calendars/{name}"
    status = FeedStatus.model_validate(added.json()["status"])
    assert (
        status.source == redacted(url)
        and status.source.endswith("/…/basic.ics")
        and status.meetings_ahead == 2
    )
    assert "private-0123" not in added.text

    listed = await api.get("/calendars")
    assert listed.status_code == 200
    assert name in [entry["name"] for entry in listed.json()]
    shown = await api.get(f"/calendars/{name}")
    assert FeedStatus.model_validate(shown.json()).upcoming[0].title == "Weekly"

    again = await api.post("/calendars", json={"name": name, "ics": url})
    assert (again.status_code, again.json()) == (
        409,
        {"error": f"calendar '{name}' already exists; remove it first (`roomkeeper calendar remove {name}`)"},
    )
    synced = await api.post(f"/calendars/{name}/sync")
    assert SyncReport.model_validate(synced.json()).outcome.value == "unchanged"

    removed = await api.delete(f"/calendars/{name}", params={"cancel_meetings": "true"})
    assert removed.status_code == 200 and FeedStatus.model_validate(removed.json()).meetings_ahead == 0
    for meeting in status.upcoming:
        result = await stack.env.client.get_workflow_handle(f"meeting-{meeting.meeting_id}").result()
        assert result["ended_by"] == "cancelled"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (
            {"name": "x", "ics": "ftp://h/a.ics"},
            422,
            "invalid request: ics: the API takes http(s):// and webcal:// addresses only; a local file is "
            "added with `roomkeeper calendar add` on the machine",
        ),
        (
            {"name": "x", "ics": "/etc/passwd"},
            422,
            "invalid request: ics: the API takes http(s):// and webcal:// addresses only; a local file is "
            "added with `roomkeeper calendar add` on the machine",
        ),
        (
            {"name": "x", "ics": "https://"},
            422,
            "invalid request: ics: the address https://… has no host",
        ),
        (
            {"name": "calcom", "ics": "https://h/a.ics"},
            422,
            "invalid request: name: 'calcom' is reserved (the "
            "gateway's /calendars/calcom is another door) (got 'calcom')",
        ),
        (
            {"name": "x", "ics": "https://h/a.ics", "every": "PT10S"},
            422,
            "invalid request: every: Input should be greater than or equal to 1 minute (got 'PT10S')",
        ),
        (
            {"name": "x", "ics": "https://h/a.ics", "colour": "red"},
            422,
            "invalid request: colour: Extra inputs are not permitted (got 'red')",
        ),
    ],
    ids=["scheme", "local-file", "no-host", "reserved", "every", "extra"],
)
async def test_bad_requests_are_named(api: httpx.AsyncClient, body: dict, status: int, error: str) -> None:
    answer = await api.post("/calendars", json=body)
    assert (answer.status_code, answer.json()["error"]) == (status, error)


async def test_unknown_calendars_and_the_token(stack: Stack, api: httpx.AsyncClient) -> None:
    for method, path in (("GET", "/calendars/nowhere"), ("POST", "/calendars/nowhere/sync"),
                         ("DELETE", "/calendars/nowhere")):  # fmt: skip
        answer = await api.request(method, path)
        assert (answer.status_code, answer.json()) == (404, {"error": "no calendar 'nowhere'"})
    async with httpx.AsyncClient(base_url=stack.gateway_url) as anonymous:
        refused = await anonymous.get("/calendars")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
