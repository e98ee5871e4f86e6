"""Lifecycle events end to end: time-skipping Temporal, the real worker (its delivery activity, its
configuration), the emulator, and a receiver over real HTTP that verifies every delivery with the
Standard Webhooks package, as an application would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from prometheus_client import REGISTRY
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from tests.events_receiver import EventsReceiver, events_receiver
from tests.workflows.helpers import meeting as make_meeting
from tests.workflows.stack import Stack, meeting_stack
from workflows.meeting import MeetingWorkflow
from workflows.meeting_status import Phase


@pytest.fixture
def receiver() -> Iterator[EventsReceiver]:
    with events_receiver() as running:
        yield running


@pytest_asyncio.fixture
async def stack(skipping_env: WorkflowEnvironment, receiver: EventsReceiver) -> AsyncIterator[Stack]:
    settings = {"events_url": receiver.url, "events_secret": receiver.secret}
    async with meeting_stack(skipping_env, worker_settings=settings) as running:
        yield running


def events_metric(stack: Stack, event_type: str, outcome: str) -> float:
    labels = {"task_queue": stack.task_queue, "type": event_type, "outcome": outcome}
    return REGISTRY.get_sample_value("roomkeeper_meeting_events_total", labels) or 0.0


def at(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def on_time(sent: datetime, due: datetime) -> bool:
    """Not early, and late by no more than the dev server's timer granularity (about a second; the
    eviction test of test_meeting_story.py allows the same)."""
    return timedelta(0) <= sent - due < timedelta(seconds=2)


async def test_every_event_in_order_signed_and_on_time_re_timed_by_an_extension(
    stack: Stack, receiver: EventsReceiver
) -> None:
    # Defaults a user gets: the deployment's receiver, warnings 10 and 2 minutes before the end.
    # (an empty room lasts 60 minutes, so that the extended meeting keeps its one room)
    room = {"max_participant_duration": 600, "empty_room_timeout": 60}
    spec = make_meeting("events-story", lasts=timedelta(minutes=30), room=room)
    handle = await stack.start(spec)
    scheduled = (await receiver.wait_for("meeting.scheduled"))[0]
    assert scheduled.body["data"]["meeting_id"] == "events-story"
    assert at(scheduled.body["data"]["end_time"]) == spec.end_time

    # (in two steps, so that the emulator's clock is close behind when the room is created)
    await stack.advance(handle, timedelta(minutes=58) - timedelta(seconds=5))
    await stack.advance(handle, timedelta(seconds=10))  # opens 2 minutes early
    opened = (await receiver.wait_for("meeting.room_opened"))[0]
    status = await stack.status(handle)
    assert opened.body["data"]["room_sid"] == status.room_sid and opened.body["data"]["recreated"] is False

    # alice joins and would stay: warned 2 minutes before her 10 minutes are up, then evicted.
    await stack.join("events-story", "alice")
    status = await stack.wait_for(handle, lambda s: len(s.participants) == 1, "alice connected")
    deadline = status.participants[0].eviction_deadline
    assert deadline is not None
    await stack.advance(handle, timedelta(minutes=8, seconds=30))
    warned = (await receiver.wait_for("participant.eviction_soon"))[0]
    assert warned.body["data"]["identity"] == "alice" and at(warned.body["data"]["evict_at"]) == deadline
    assert on_time(warned.timestamp, deadline - timedelta(minutes=2))
    await stack.advance(handle, timedelta(minutes=2))
    evicted = (await receiver.wait_for("participant.evicted"))[0]
    assert evicted.body["data"]["identity"] == "alice"

    # Extended by 15 minutes: the warnings move to the new end.
    status = await handle.execute_update(MeetingWorkflow.extend, {"minutes": 15, "actor": "host:bob"})
    new_end = spec.end_time + timedelta(minutes=15)
    assert status.end_time == new_end
    assert [(e.minutes, e.actor, e.new_end) for e in status.extensions] == [(15, "host:bob", new_end)]
    extended = (await receiver.wait_for("meeting.extended"))[0]
    assert extended.body["data"]["actor"] == "host:bob" and at(extended.body["data"]["end_time"]) == new_end

    now = await stack.now(handle)
    await stack.advance(handle, new_end - timedelta(minutes=10) - now + timedelta(seconds=5))
    ten = (await receiver.wait_for("meeting.ending_soon"))[0]
    assert ten.body["data"]["minutes_before"] == 10 and at(ten.body["data"]["end_time"]) == new_end
    assert on_time(ten.timestamp, new_end - timedelta(minutes=10))
    await stack.advance(handle, timedelta(minutes=8))
    two = (await receiver.wait_for("meeting.ending_soon", 2))[1]
    assert two.body["data"]["minutes_before"] == 2
    assert on_time(two.timestamp, new_end - timedelta(minutes=2))

    await stack.advance(handle, timedelta(minutes=2, seconds=5))
    summary = await handle.result()
    ended = (await receiver.wait_for("meeting.ended"))[0]
    assert ended.body["data"]["ended_by"] == "schedule"
    assert ended.body["data"]["summary"]["room_sid"] == summary.room_sid

    assert receiver.types() == [
        "meeting.scheduled",
        "meeting.room_opened",
        "participant.eviction_soon",
        "participant.evicted",
        "meeting.extended",
        "meeting.ending_soon",
        "meeting.ending_soon",
        "meeting.ended",
    ]
    assert all(d.verified for d in receiver.deliveries)
    assert len({d.webhook_id for d in receiver.deliveries}) == len(receiver.deliveries)
    # No warning for the old end was sent: the extension came before its moment.
    assert all(
        at(d.body["data"]["end_time"]) == new_end for d in await receiver.wait_for("meeting.ending_soon", 2)
    )
    final = await stack.status(handle)
    assert final.events is not None
    assert (final.events.delivered, final.events.failed, final.events.pending) == (8, 0, 0)
    assert events_metric(stack, "meeting.ending_soon", "delivered") == 2


async def test_a_failing_receiver_gets_the_same_webhook_id_again_and_the_room_goes_on(
    stack: Stack, receiver: EventsReceiver
) -> None:
    receiver.fail("meeting.scheduled", 500, 503)
    spec = make_meeting("events-retry", starts_in=timedelta(minutes=30))
    handle = await stack.start(spec)
    accepted = (await receiver.wait_for("meeting.scheduled", within=30))[0]
    attempts = [d for d in receiver.deliveries if d.type == "meeting.scheduled"]
    assert [d.answered for d in attempts] == [500, 503, 204]
    assert {d.webhook_id for d in attempts} == {accepted.webhook_id}
    assert all(d.verified for d in attempts)
    assert events_metric(stack, "meeting.scheduled", "retried") == 2
    assert events_metric(stack, "meeting.scheduled", "delivered") == 1

    # A refusal (4xx) is not retried: counted, shown in the status, and the next events still go.
    receiver.fail("meeting.room_opened", 400)
    await stack.advance(handle, timedelta(minutes=28) - timedelta(seconds=5))
    await stack.advance(handle, timedelta(seconds=10))
    await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")
    status = await stack.wait_for(
        handle, lambda s: s.events is not None and s.events.failed == 1, "the refused event to be counted"
    )
    assert status.events is not None
    assert status.events.last_failure is not None
    assert "meeting.room_opened" in status.events.last_failure and "400" in status.events.last_failure
    assert [d.answered for d in receiver.deliveries if d.type == "meeting.room_opened"] == [400]
    assert events_metric(stack, "meeting.room_opened", "failed") == 1

    summary = await handle.execute_update(MeetingWorkflow.end_now, {"reason": "done early"})
    assert summary.ended_by == "end_now"
    await handle.result()
    ended = (await receiver.wait_for("meeting.ended"))[0]
    assert ended.body["data"]["ended_by"] == "end_now" and ended.body["data"]["reason"] == "done early"
    # end_now sends no warnings, before or after.
    assert "meeting.ending_soon" not in [d.type for d in receiver.deliveries]


async def test_a_meeting_naming_a_receiver_without_a_secret_sends_nothing_and_says_why(
    stack: Stack, receiver: EventsReceiver
) -> None:
    spec = make_meeting("events-elsewhere", events={"url": "https://elsewhere.example/hooks"})
    handle = await stack.start(spec)
    status = await stack.wait_for(handle, lambda s: s.events is not None, "the defaults to load")
    assert status.events is not None and status.events.receiver is None
    assert status.events.why_none is not None
    assert status.events.why_none.startswith("no signing secret for https://elsewhere.example/hooks")
    assert any("lifecycle events off: no signing secret" in h.what for h in status.history)
    await handle.execute_update(MeetingWorkflow.end_now, {})
    await handle.result()
    assert receiver.deliveries == []


async def test_extend_caps_reject_with_the_rule_named(skipping_env: WorkflowEnvironment) -> None:
    caps = {"extend_max_minutes": 30, "extend_max_count": 2, "extend_max_total_minutes": 45}
    async with meeting_stack(skipping_env, worker_settings=caps) as stack:
        spec = make_meeting("extend-caps", extend_policy={"max_extensions": 1})
        handle = await stack.start(spec)
        status = await stack.wait_for(handle, lambda s: s.events is not None, "the defaults to load")
        assert status.extend_limits is not None
        assert status.extend_limits.max_minutes == 30 and status.extend_limits.max_extensions == 1
        assert status.extend_limits.latest_end == spec.end_time + timedelta(minutes=45)

        async def refused(minutes: int) -> str:
            with pytest.raises(WorkflowUpdateFailedError) as raised:
                await handle.execute_update(MeetingWorkflow.extend, {"minutes": minutes})
            cause = raised.value.cause
            assert isinstance(cause, ApplicationError) and cause.type == "Rejected"
            return cause.message

        assert await refused(31) == (
            "extend: ROOMKEEPER_EXTEND_MAX_MINUTES: an extension may add at most 30 min; 31 min was asked"
        )
        await handle.execute_update(MeetingWorkflow.extend, {"minutes": 30, "actor": "cli:ann"})
        assert await refused(5) == (
            "extend: extend_policy.max_extensions: the meeting allows at most 1 extension(s), and has had 1"
        )
        status = await stack.status(handle)
        assert [(e.minutes, e.actor) for e in status.extensions] == [(30, "cli:ann")]
        assert any(h.what.endswith("(by cli:ann)") for h in status.history)
        await handle.execute_update(MeetingWorkflow.end_now, {})


async def test_a_reschedule_moves_the_warnings_and_a_failure_is_announced(
    stack: Stack, receiver: EventsReceiver
) -> None:
    # Another application's room holds the name: the meeting will fail when it opens.
    taken = await stack.twilio("POST", "/v1/Rooms", data={"UniqueName": "events-taken"})
    assert taken.status_code == 201, taken.text
    spec = make_meeting("events-fails", starts_in=timedelta(minutes=30), room={"unique_name": "events-taken"})
    handle = await stack.start(spec)
    await receiver.wait_for("meeting.scheduled")
    new_start = spec.start_time - timedelta(minutes=25)
    await handle.execute_update(
        MeetingWorkflow.reschedule,
        {"start_time": new_start.isoformat(), "end_time": (new_start + timedelta(minutes=30)).isoformat()},
    )
    moved = (await receiver.wait_for("meeting.rescheduled"))[0]
    assert at(moved.body["data"]["previous_start_time"]) == spec.start_time
    assert at(moved.body["data"]["start_time"]) == new_start
    # A reschedule before the room opens moves the plan: not an extension.
    assert (await stack.status(handle)).extensions == []

    await stack.advance(handle, timedelta(minutes=4))
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    failed = (await receiver.wait_for("meeting.failed"))[0]
    assert failed.body["data"]["error_type"] == "RoomNameTaken"
    assert failed.body["data"]["reason"].startswith("could not create room 'events-taken'")
    assert receiver.types() == ["meeting.scheduled", "meeting.rescheduled", "meeting.failed"]
