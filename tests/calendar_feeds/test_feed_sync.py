"""A feed kept in sync with its meetings, end to end: a feed served over real HTTP, CalendarFeedWorkflow on a
real Temporal dev server, the meetings on a real worker with the emulator.

Syncs are driven by the ``sync_now`` update (the period is an hour), so every step is deterministic;
the feed's dates are relative to now, because the sync's window is.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from prometheus_client import REGISTRY
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from calendar_feeds.fetch import redacted
from common.sealing import Sealer
from tests.calendar_feeds.feeds_http import Event, FeedServer
from tests.support import TEST_SECRET_KEY, wait_until_async
from tests.workflows.stack import Stack, meeting_stack
from workflows.calendar_feed import CalendarFeedWorkflow
from workflows.calendar_models import (
    CalendarFeed,
    FeedInput,
    FeedStatus,
    RemoveRequest,
    SyncOutcome,
    SyncReport,
    feed_workflow_id,
)
from workflows.meeting import MeetingWorkflow
from workflows.meeting_status import Phase


@pytest_asyncio.fixture
async def stack(temporal_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(temporal_env) as running:
        yield running


async def start_feed(stack: Stack, url: str, **extra: Any) -> WorkflowHandle[Any, Any]:
    name = f"team-{uuid.uuid4().hex[:8]}"
    feed = CalendarFeed(
        name=name,
        source=Sealer.from_setting(TEST_SECRET_KEY).seal(url),
        source_shown=redacted(url),
        every=timedelta(hours=1),
        **extra,
    )
    return await stack.env.client.start_workflow(
        CalendarFeedWorkflow.run, FeedInput(feed), id=feed_workflow_id(name), task_queue=stack.task_queue
    )


async def sync(handle: WorkflowHandle[Any, Any]) -> SyncReport:
    report: SyncReport = await handle.execute_update(CalendarFeedWorkflow.sync_now)
    return report


async def first_report(handle: WorkflowHandle[Any, Any]) -> SyncReport:
    """The sync a new feed runs on start (wait for it by asking for its status until it has one)."""
    status = await wait_until_async(
        lambda: handle.query(CalendarFeedWorkflow.status), lambda s: s.last is not None, what="first sync"
    )
    assert status.last is not None
    return status.last


async def history_lengths(stack: Stack, ids: list[str]) -> dict[str, int]:
    lengths = {}
    for meeting_id in ids:
        history = await stack.env.client.get_workflow_handle(f"meeting-{meeting_id}").fetch_history()
        lengths[meeting_id] = len(history.events)
    return lengths


def fetches(feed: str, result: str, task_queue: str) -> float:
    labels = {"task_queue": task_queue, "feed": feed, "result": result}
    return REGISTRY.get_sample_value("roomkeeper_calendar_fetches_total", labels) or 0.0


@pytest.mark.slow
async def test_a_feed_starts_moves_and_cancels_exactly_the_right_meetings(
    stack: Stack, feed_server: tuple[FeedServer, str]
) -> None:
    server, url = feed_server
    base = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)
    daily = Event("daily@example.com", base, rrule="FREQ=DAILY;COUNT=3", title="Daily")
    review = Event("review@example.com", base + timedelta(days=2, hours=3), minutes=60, title="Review")
    server.events = [daily, review]

    handle = await start_feed(stack, url)
    first = await first_report(handle)
    assert (first.outcome, first.started, first.moved, first.cancelled, first.refused) == (
        SyncOutcome.SYNCED, 4, 0, 0, 0
    )  # fmt: skip
    status: FeedStatus = await handle.query(CalendarFeedWorkflow.status)
    meetings = {m.start: m.meeting_id for m in status.upcoming}
    assert sorted(meetings) == [base, base + timedelta(days=1), base + timedelta(days=2), review.start]
    daily_1, daily_2, daily_3 = (meetings[base + timedelta(days=d)] for d in range(3))
    review_id = meetings[review.start]
    for meeting_id in meetings.values():
        meeting = await stack.env.client.get_workflow_handle(f"meeting-{meeting_id}").query(
            MeetingWorkflow.status
        )
        assert meeting.phase is Phase.SCHEDULED
    before = await history_lengths(stack, [daily_1])

    # The second instance moves two hours, the third is cancelled, the review moves (SEQUENCE+1),
    # and a new event appears.
    server.events = [
        daily,
        Event(daily.uid, base + timedelta(days=1, hours=2), title="Daily (later)", sequence=1,
              recurrence_id=base + timedelta(days=1)),
        Event(daily.uid, base + timedelta(days=2), title="Daily", sequence=1,
              recurrence_id=base + timedelta(days=2), cancelled=True),
        Event(review.uid, review.start + timedelta(hours=1), minutes=60, title="Review", sequence=1),
        Event("new@example.com", base + timedelta(days=3), title="New"),
    ]  # fmt: skip
    server.changed()
    report = await sync(handle)
    assert (report.started, report.moved, report.cancelled, report.unchanged, report.refused) == (
        1,
        2,
        1,
        1,
        0,
    )
    moved = await stack.env.client.get_workflow_handle(f"meeting-{daily_2}").query(MeetingWorkflow.status)
    assert (moved.start_time, moved.end_time) == (
        base + timedelta(days=1, hours=2),
        base + timedelta(days=1, hours=2, minutes=30),
    )
    review_now = await stack.env.client.get_workflow_handle(f"meeting-{review_id}").query(
        MeetingWorkflow.status
    )
    assert review_now.start_time == review.start + timedelta(hours=1)
    cancelled = await stack.env.client.get_workflow_handle(f"meeting-{daily_3}").result()
    assert cancelled["ended_by"] == "cancelled" and cancelled["reason"] == "cancelled in the calendar"
    # The untouched meeting got nothing: no update, no history.
    assert await history_lengths(stack, [daily_1]) == before

    # The new event is removed again: its meeting is cancelled.
    server.events = server.events[:-1]
    server.changed()
    report = await sync(handle)
    assert (report.started, report.moved, report.cancelled) == (0, 0, 1)
    status = await handle.query(CalendarFeedWorkflow.status)
    assert status.meetings_ahead == 3  # daily 1, daily 2 (moved), review

    # An unchanged feed costs one conditional request, and touches no meeting.
    before = await history_lengths(stack, [daily_1, daily_2, review_id])
    requests = len(server.requests)
    report = await sync(handle)
    assert report.outcome is SyncOutcome.UNCHANGED and report.unchanged == 3
    assert server.requests[requests:] == [(f'"v{server.version}"', 304)]
    assert await history_lengths(stack, [daily_1, daily_2, review_id]) == before

    # Removing the calendar with its meetings cancels those that have not ended; the workflow ends.
    final: FeedStatus = await handle.execute_update(
        CalendarFeedWorkflow.remove, RemoveRequest(cancel_meetings=True)
    )
    assert final.removed and final.meetings_ahead == 0
    assert (await handle.result()).removed is True
    for meeting_id in (daily_1, daily_2, review_id):
        result = await stack.env.client.get_workflow_handle(f"meeting-{meeting_id}").result()
        assert result["ended_by"] == "cancelled"


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ({"status": 500}, "answered HTTP 500 Internal Server Error"),
        (
            {
                "raw": b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260101T000000Z\r\n"
                b"RRULE:FREQ=SECONDLY;COUNT=1000000000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            },
            "an event recurs FREQ=SECONDLY: sub-hourly recurrence is not a meeting series and is refused",
        ),
        ({"raw": b"<html>Sign in</html>"}, "not an iCalendar feed: it does not start with BEGIN:VCALENDAR"),
    ],
    ids=["http-500", "secondly", "html"],
)
async def test_a_broken_feed_changes_nothing_and_says_why(
    stack: Stack, feed_server: tuple[FeedServer, str], breakage: dict[str, Any], message: str
) -> None:
    server, url = feed_server
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)
    server.events = [Event("standup@example.com", start, rrule="FREQ=DAILY;COUNT=2", title="Standup")]
    handle = await start_feed(stack, url)
    assert (await first_report(handle)).started == 2
    status: FeedStatus = await handle.query(CalendarFeedWorkflow.status)
    ids = [m.meeting_id for m in status.upcoming]
    before = await history_lengths(stack, ids)
    failed_before = fetches(status.name, "failed", stack.task_queue)

    for name, value in breakage.items():
        setattr(server, name, value)
    server.changed()
    report = await sync(handle)
    assert report.outcome is SyncOutcome.FAILED
    assert report.message is not None and report.message.endswith(message)
    assert "private-0123" not in report.message  # the secret part of the address is never shown
    status = await handle.query(CalendarFeedWorkflow.status)
    assert status.failing_since == report.at and status.meetings_ahead == 2
    assert await history_lengths(stack, ids) == before
    assert fetches(status.name, "failed", stack.task_queue) == failed_before + 1
    # The Temporal UI's details pane says the same.
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert f"⚠ {report.message}" in metadata.current_details and "failing since" in metadata.current_details

    # Fixed: the next sync recovers and clears the failure (the feed is as it was: nothing to do).
    server.status, server.raw = 200, None
    server.changed()
    report = await sync(handle)
    assert report.outcome is SyncOutcome.UNCHANGED and report.unchanged == 2
    assert (await handle.query(CalendarFeedWorkflow.status)).failing_since is None
    await handle.execute_update(CalendarFeedWorkflow.remove, RemoveRequest(cancel_meetings=True))


async def test_a_series_moved_in_time_and_a_meeting_under_way(
    stack: Stack, feed_server: tuple[FeedServer, str]
) -> None:
    server, url = feed_server
    now = datetime.now(UTC).replace(microsecond=0)
    # Starts in a minute: its room opens at once (two minutes early by default).
    live = Event("live@example.com", now + timedelta(minutes=1), minutes=30, title="Live")
    base = now.replace(second=0) + timedelta(days=2)
    series = Event("series@example.com", base, rrule="FREQ=DAILY;COUNT=2", title="Series")
    other = Event("other@example.com", base + timedelta(hours=5), title="Other")
    server.events = [live, series, other]
    handle = await start_feed(stack, url)
    assert (await first_report(handle)).started == 4
    status: FeedStatus = await handle.query(CalendarFeedWorkflow.status)
    ids = {(m.title, m.start): m.meeting_id for m in status.upcoming}
    live_id = ids[("Live", live.start)]
    await wait_until_async(
        lambda: stack.meetings.status(live_id), lambda s: s.phase is Phase.OPEN, what="the live room"
    )
    before = await history_lengths(stack, [ids[("Other", other.start)]])

    # The live meeting is moved an hour later: its room stays, only its end moves. The series moves
    # from its start to an hour later (SEQUENCE+1): RFC 5545 names instances by their original start,
    # so these are new instances: the old meetings are cancelled and new ones started.
    server.events = [
        Event(live.uid, live.start + timedelta(hours=1), minutes=30, title="Live", sequence=1),
        Event(series.uid, base + timedelta(hours=1), rrule="FREQ=DAILY;COUNT=2", title="Series", sequence=1),
        other,
    ]
    server.changed()
    report = await sync(handle)
    assert (report.started, report.moved, report.cancelled, report.unchanged, report.refused) == (
        2,
        1,
        2,
        1,
        0,
    )
    moved = await stack.meetings.status(live_id)
    assert (moved.phase, moved.start_time, moved.end_time) == (
        Phase.OPEN,
        live.start,
        live.start + timedelta(hours=1, minutes=30),
    )
    status = await handle.query(CalendarFeedWorkflow.status)
    assert sorted(m.start for m in status.upcoming if m.title == "Series" and not m.cancelled) == [
        base + timedelta(hours=1),
        base + timedelta(days=1, hours=1),
    ]
    assert await history_lengths(stack, [ids[("Other", other.start)]]) == before
    await handle.execute_update(CalendarFeedWorkflow.remove, RemoveRequest(cancel_meetings=True))
