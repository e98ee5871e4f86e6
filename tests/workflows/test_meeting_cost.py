"""What a meeting costs in history and in Twilio writes, and the defaults that keep it cheap.

The bench (bench/, docs/performance.md) measures these at scale; here each design choice is pinned on
one meeting: a signal does not restart the timer, the room memo tells the reconciler what the meeting
knows, writes go to the paced queue, nobody is evicted by default.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.policy import paced_writes_queue
from common.room_events import ROOM_MEMO, RoomEvent, RoomEventKind, RoomMemo, roster_digest
from tests.workflows.helpers import meeting
from tests.workflows.stack import Stack, meeting_stack
from twilio_video import limits
from workflows.meeting import MeetingWorkflow
from workflows.meeting_status import Phase

PARTICIPANTS = 10
#: Events the time-skipping test server adds, which a real server's history does not have.
TIME_SKIPPING_ONLY = (
    "EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED",
    "EVENT_TYPE_WORKFLOW_EXECUTION_TIME_SKIPPING_TRANSITIONED",
)


@pytest_asyncio.fixture
async def stack(skipping_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(skipping_env) as running:
        yield running


async def event_types(handle) -> Counter[str]:
    history = await handle.fetch_history()
    return Counter(EventType.Name(event.event_type) for event in history.events)


async def test_a_meeting_with_ten_participants_stays_under_150_history_events(stack: Stack) -> None:
    handle = await stack.start(meeting("cost", starts_in=timedelta(minutes=2), lasts=timedelta(hours=1)))
    await stack.advance(handle, timedelta(seconds=5))
    await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "open")
    opened = sum((await event_types(handle)).values())

    async def connected(count: int) -> None:
        await stack.wait_for(handle, lambda s: len(s.participants) == count, f"{count} connected")

    for index in range(PARTICIPANTS):
        await stack.join("cost", f"p{index}")
        await connected(index + 1)
    for index in range(PARTICIPANTS):
        await stack.leave("cost", f"p{index}")
        await connected(PARTICIPANTS - index - 1)
    watched = await event_types(handle)
    signals = watched["EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED"]
    assert signals >= 2 * PARTICIPANTS
    # A signal costs its workflow task (3 events) and, when who is connected changed, one memo update;
    # the timer until the end keeps running (it used to be cancelled and restarted: 2 more).
    assert sum(watched.values()) - opened <= 5 * signals
    assert watched["EVENT_TYPE_TIMER_CANCELED"] == 0

    await stack.advance(handle, timedelta(hours=1, minutes=5))
    summary = await handle.result()
    assert summary.ended_by == "schedule" and summary.participants_evicted == []
    everything = await event_types(handle)
    for artefact in TIME_SKIPPING_ONLY:
        del everything[artefact]
    assert sum(everything.values()) <= 150, dict(everything)
    assert everything["EVENT_TYPE_TIMER_STARTED"] == 1  # until the end (it opened at once)


async def test_nobody_is_evicted_before_the_end_without_a_max_participant_duration(stack: Stack) -> None:
    # Opened 2 minutes early, an hour long: the old default (3600 s) evicted whoever came at opening
    # two minutes before the end. PRODUCT §4: not given means nobody is evicted before the end.
    spec = meeting("stay", starts_in=timedelta(minutes=2), lasts=timedelta(hours=1))
    assert spec.room.max_participant_duration is None
    handle = await stack.start(spec)
    await stack.advance(handle, timedelta(seconds=5))
    status = await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "open")
    assert status.room_sid is not None
    room = stack.emulator.state.world.rooms[status.room_sid]
    assert room.options.max_participant_duration == limits.MAX_PARTICIPANT_DURATION_SECONDS
    await stack.join("stay", "early-bird")
    status = await stack.wait_for(handle, lambda s: len(s.participants) == 1, "joined")
    assert status.participants[0].eviction_deadline is None
    await stack.advance(handle, timedelta(minutes=61))
    assert [p.identity for p in (await stack.status(handle)).participants] == ["early-bird"]
    await stack.advance(handle, timedelta(minutes=5))
    summary = await handle.result()
    assert summary.participants_evicted == [] and summary.ended_by == "schedule"


async def test_the_room_memo_tells_the_reconciler_whether_callbacks_flow(stack: Stack) -> None:
    handle = await stack.start(meeting("memo", starts_in=timedelta(minutes=2)))
    await stack.advance(handle, timedelta(seconds=5))
    status = await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "open")
    room_sid = status.room_sid
    assert room_sid is not None

    async def memo() -> RoomMemo:
        return RoomMemo.model_validate(await (await handle.describe()).memo_value(ROOM_MEMO))

    joined = await stack.join("memo", "alice")
    await stack.wait_for(handle, lambda s: len(s.participants) == 1, "alice")
    # (written in the workflow task that applied the callback, so it is there once the query sees alice)
    assert await memo() == RoomMemo(
        room_sid=room_sid, callbacks_flowing=True, connected=roster_digest([joined["sid"]])
    )
    # A reconciler snapshot with news no callback brought: callbacks missed something.
    snapshot = RoomEvent(
        kind=RoomEventKind.SNAPSHOT, source="reconcile", room_sid=room_sid, timestamp=await stack.now(handle)
    )
    await handle.signal(MeetingWorkflow.room_event, snapshot)
    await stack.wait_for(handle, lambda s: not s.participants, "the snapshot")
    assert await memo() == RoomMemo(room_sid=room_sid, callbacks_flowing=False, connected=roster_digest([]))
    await stack.join("memo", "bob")  # a callback again: flowing
    await stack.wait_for(handle, lambda s: len(s.participants) == 1, "bob")
    assert (await memo()).callbacks_flowing


async def test_twilio_writes_run_on_the_paced_writes_queue(stack: Stack) -> None:
    handle = await stack.start(meeting("paced", starts_in=timedelta(minutes=2), lasts=timedelta(minutes=5)))
    await stack.advance(handle, timedelta(minutes=10))
    await handle.result()
    queues = {
        event.activity_task_scheduled_event_attributes.activity_type.name: (
            event.activity_task_scheduled_event_attributes.task_queue.name
        )
        for event in (await handle.fetch_history()).events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    writes = paced_writes_queue(stack.task_queue)
    assert queues == {"CreateRoom": writes, "CompleteRoom": writes, "RecordMeetingOutcome": stack.task_queue}
