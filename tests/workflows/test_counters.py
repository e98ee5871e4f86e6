"""Business counters match what Twilio really did (the emulator's request log), even when every
workflow task that starts an activity is failed and retried, and signals race the completions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from prometheus_client import REGISTRY
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from common.room_events import ObservedParticipant, RoomEvent, RoomEventKind
from tests.workflows.helpers import meeting
from tests.workflows.stack import Stack, meeting_stack
from tests.workflows.task_crasher import FORCED_CAUSE, TaskCrasher
from workflows.meeting import MeetingWorkflow
from workflows.meeting_control import EndRequest
from workflows.meeting_status import Phase

crasher = TaskCrasher()


@pytest_asyncio.fixture
async def stack(skipping_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(skipping_env, interceptors=[crasher]) as running:
        yield running


def counted(stack: Stack, name: str) -> dict[str, float]:
    """A counter's samples for this test's task queue, by their other label's value."""
    found: dict[str, float] = {}
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.name == name and sample.labels.get("task_queue") == stack.task_queue:
                other = [v for k, v in sample.labels.items() if k != "task_queue"]
                found[other[0]] = found.get(other[0], 0) + sample.value
    return found


def twilio_did(stack: Stack, operation: str, **form: str) -> int:
    """Successful (2xx) requests for ``operation`` in the emulator's log, with these form values."""
    return sum(
        1
        for entry in stack.emulator.state.requests
        if entry["operation"] == operation
        and 200 <= entry["status"] < 300
        and all(entry.get("form", {}).get(name) == [value] for name, value in form.items())
    )


async def race_signals(handle: WorkflowHandle[Any, Any], room_sid: str) -> int:
    """Send room events until the workflow is closed; returns how many were accepted."""
    sent = 0
    while True:
        event = RoomEvent(
            kind=RoomEventKind.SNAPSHOT,
            source="reconcile",
            room_sid=room_sid,
            timestamp=datetime.now(UTC),
            participants=[
                ObservedParticipant(sid="PA" + "0" * 32, identity="ghost", connected_at=datetime.now(UTC))
            ],
        )
        try:
            await handle.signal(MeetingWorkflow.room_event, event)
        except Exception:  # the workflow has completed: the race is over
            return sent
        sent += 1
        if (await handle.describe()).status is not WorkflowExecutionStatus.RUNNING:
            return sent


@pytest.mark.slow
@pytest.mark.task_failures(FORCED_CAUSE)
async def test_counters_match_the_request_log_through_task_retries_and_racing_signals(stack: Stack) -> None:
    endings = {"on-schedule": "schedule", "ended-now": "end_now", "cancelled": "cancelled"}
    handles = {}
    for name in endings:
        spec = meeting(
            f"count-{name}",
            starts_in=timedelta(minutes=2),
            lasts=timedelta(minutes=15),
            room={"max_participant_duration": 600},
        )
        handles[name] = await stack.start(spec)
    rooms = {}
    for name, handle in handles.items():
        await stack.advance(handle, timedelta(seconds=5))
        status = await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, f"{name} to open")
        assert status.room_sid is not None
        rooms[name] = status.room_sid
        await stack.join(f"count-{name}", "alice")
        await stack.wait_for(handle, lambda s: len(s.participants) == 1, "alice")
    for handle in handles.values():  # alice overstays everywhere: one eviction per meeting
        await stack.advance(handle, timedelta(minutes=10, seconds=5))
        await stack.wait_for(handle, lambda s: not s.participants, "the eviction")

    racers = [asyncio.create_task(race_signals(handles[n], rooms[n])) for n in handles]
    await handles["ended-now"].execute_update(MeetingWorkflow.end_now, EndRequest(reason="test"))
    await handles["cancelled"].signal(MeetingWorkflow.cancel, EndRequest(reason="test"))
    await stack.advance(handles["on-schedule"], timedelta(minutes=10))
    for name, handle in handles.items():
        assert (await handle.result()).ended_by == endings[name]
    sent = await asyncio.gather(*racers)
    assert all(count > 0 for count in sent), sent

    # Tasks really were failed and retried: each meeting's creation, eviction, completion, outcome.
    assert len([key for key in crasher.crashed if key[0].startswith("meeting-count-")]) >= 4 * len(handles)

    created = counted(stack, "roomkeeper_rooms_created_total")
    # (an emptied room may end by Twilio's own idle timeout and be replaced: the log is the truth)
    assert sum(created.values()) == twilio_did(stack, "CreateRoom") >= len(handles)
    completed = counted(stack, "roomkeeper_rooms_completed_total")
    assert sum(completed.values()) == twilio_did(stack, "UpdateRoom", Status="completed") == 3
    assert completed == {"schedule": 1, "end_now": 1, "cancelled": 1}
    evicted = counted(stack, "roomkeeper_participants_evicted_total")
    assert evicted == {"max_participant_duration": 3}
    assert twilio_did(stack, "UpdateRoomParticipant", Status="disconnected") == 3
    assert counted(stack, "roomkeeper_meetings_ended_total") == {"schedule": 1, "end_now": 1, "cancelled": 1}
    ended_lags = REGISTRY.get_sample_value(
        "roomkeeper_room_end_lag_seconds_count", {"task_queue": stack.task_queue}
    )
    assert ended_lags == 1  # only the meeting that ended on schedule has an end lag
