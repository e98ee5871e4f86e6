"""Live control in every phase: cancel, reschedule, extend, end_now; and rooms that Twilio ends early."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from common.room_events import RoomEvent, RoomEventKind
from tests.workflows.helpers import history_length, meeting
from tests.workflows.stack import Stack, meeting_stack
from workflows.meeting import MeetingWorkflow
from workflows.meeting_control import EndRequest, ExtendRequest, RescheduleRequest
from workflows.meeting_status import Phase


@pytest_asyncio.fixture
async def stack(skipping_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(skipping_env) as running:
        yield running


async def open_meeting(stack: Stack, meeting_id: str, **extra):
    handle = await stack.start(meeting(meeting_id, starts_in=timedelta(minutes=2), **extra))
    await stack.advance(handle, timedelta(seconds=5))
    status = await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")
    return handle, status.room_sid


# ------------------------------------------------------------------------------------- cancel


async def test_cancel_before_open_never_creates_a_room(stack: Stack) -> None:
    handle = await stack.start(meeting("cancel-early"))
    await stack.advance(handle, timedelta(minutes=10))
    await handle.signal(MeetingWorkflow.cancel, EndRequest(reason="no longer needed"))
    await stack.advance(handle, timedelta(hours=2))
    result = await handle.result()
    assert result.ended_by == "cancelled" and result.reason == "no longer needed"
    assert result.room_sid is None and result.end_lag_seconds is None
    assert stack.emulator.state.world.rooms == {}
    assert (await stack.status(handle)).phase is Phase.CANCELLED


async def test_cancel_while_the_room_is_being_created(stack: Stack) -> None:
    await stack.http.post(
        f"{stack.emulator.url}/emulator/faults", json={"latency_ms": 3000, "operations": ["CreateRoom"]}
    )
    # Its opening time has passed already: the room is created at once, slowly.
    handle = await stack.start(meeting("cancel-opening", starts_in=timedelta(minutes=1)))
    await stack.wait_for(handle, lambda s: s.phase is Phase.OPENING, "the create to be in flight")
    await handle.signal(MeetingWorkflow.cancel, EndRequest())
    result = await handle.result()
    assert result.ended_by == "cancelled"
    assert result.room_sid is not None
    [room] = stack.emulator.state.world.rooms.values()
    assert room.sid == result.room_sid and room.status.value == "completed"


async def test_cancel_while_open_completes_the_room(stack: Stack) -> None:
    handle, room_sid = await open_meeting(stack, "cancel-open")
    await stack.join("cancel-open", "alice")
    await stack.wait_for(handle, lambda s: len(s.participants) == 1, "alice")
    await handle.signal(MeetingWorkflow.cancel, EndRequest(reason="host ill"))
    result = await handle.result()
    assert result.ended_by == "cancelled" and result.reason == "host ill"
    assert stack.emulator.state.world.rooms[room_sid].status.value == "completed"
    assert result.closed_at is not None


# ----------------------------------------------------------------------------------- reschedule


async def test_reschedule_before_open_moves_the_opening(stack: Stack) -> None:
    spec = meeting("move-me")
    handle = await stack.start(spec)
    new_start = spec.start_time + timedelta(hours=1)
    status = await handle.execute_update(
        MeetingWorkflow.reschedule,
        RescheduleRequest(start_time=new_start, end_time=new_start + timedelta(minutes=30)),
    )
    assert status.start_time == new_start and status.phase is Phase.SCHEDULED
    await stack.advance(handle, timedelta(minutes=59))  # past the old opening time
    assert (await stack.status(handle)).phase is Phase.SCHEDULED
    await stack.advance(handle, timedelta(hours=1))
    await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room at the new time")
    await handle.execute_update(MeetingWorkflow.end_now, EndRequest())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"end_time": "past"}, "is in the past"),
        ({"end_time": "before-start"}, "must be after start_time"),
        ({"start_time": "far", "end_time": "far+8d"}, "longer than the maximum"),
    ],
)
async def test_bad_reschedules_are_rejected_without_touching_history(
    stack: Stack, change: dict, message: str
) -> None:
    spec = meeting(f"reject-{message.rsplit(maxsplit=1)[-1]}")
    handle = await stack.start(spec)
    await stack.wait_for(handle, lambda s: s.phase is Phase.SCHEDULED, "the meeting to start")
    now = await stack.now(handle)
    values = {
        "past": now - timedelta(minutes=1),
        "before-start": spec.start_time - timedelta(minutes=1),
        "far": spec.start_time,
        "far+8d": spec.start_time + timedelta(days=8),
    }
    before = await history_length(handle)
    with pytest.raises(WorkflowUpdateFailedError) as exc:
        await handle.execute_update(
            MeetingWorkflow.reschedule,
            RescheduleRequest(**{key: values[value] for key, value in change.items()}),
        )
    assert message in str(exc.value.cause)
    assert "pydantic" not in str(exc.value.cause) and "input_value" not in str(exc.value.cause)
    assert await history_length(handle) == before
    assert (await stack.status(handle)).end_time == spec.end_time
    await handle.signal(MeetingWorkflow.cancel, EndRequest())


@pytest.mark.parametrize(
    ("update", "payload", "message"),
    [
        ("extend", {"minutes": 0}, "extend: minutes: Input should be greater than or equal to 1 (got 0)"),
        ("extend", None, "extend: input: Input should be a valid dictionary"),
        ("extend", {"minutes": 10, "by": "x"}, "extend: by: Extra inputs are not permitted (got 'x')"),
        ("reschedule", {}, "reschedule: input: give start_time, end_time or both"),
        ("reschedule", {"end_time": "tomorrow"}, "reschedule: end_time: Input should be a valid datetime"),
        ("end_now", {"reason": 7}, "end_now: reason: Input should be a valid string (got 7)"),
        ("extend", [{"minutes": 5}, {}], "extend takes one argument; it was given 2"),
    ],
)
async def test_malformed_updates_are_rejected_in_one_readable_line(
    stack: Stack, update: str, payload: object, message: str
) -> None:
    handle = await stack.start(meeting(f"malformed-{update}-{uuid.uuid4().hex[:6]}"))
    await stack.wait_for(handle, lambda s: s.phase is Phase.SCHEDULED, "the meeting to start")
    before = await history_length(handle)
    args = [] if payload is None else payload if isinstance(payload, list) else [payload]
    with pytest.raises(WorkflowUpdateFailedError) as exc:
        await handle.execute_update(update, args=args)
    cause = exc.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "Rejected"
    assert cause.message.startswith(message), cause.message
    # Nothing chained below the one line (the Temporal CLI prints a cause chain in full).
    assert cause.cause is None and "pydantic" not in cause.message
    assert await history_length(handle) == before
    await handle.signal(MeetingWorkflow.cancel, EndRequest())


async def test_signals_without_or_with_bad_payloads_are_dropped_and_the_meeting_goes_on(stack: Stack) -> None:
    handle, room_sid = await open_meeting(stack, "odd-signals")
    await handle.signal("room_event")  # no payload at all
    await handle.signal("room_event", {"kind": "participant-connected"})  # no room, no time
    await handle.signal("room_event", args=[{"kind": "room-ended"}, {}])  # two arguments
    await handle.signal("cancel", args=["please", "now"])  # unreadable, but the intent is clear
    result = await handle.result()
    assert result.ended_by == "cancelled" and result.room_sid == room_sid


async def test_a_room_twilio_no_longer_knows_is_replaced(stack: Stack) -> None:
    handle, first_room = await open_meeting(stack, "vanished")
    assert (await stack.http.post(f"{stack.emulator.url}/emulator/reset")).status_code in (200, 204)
    # What the reconciler sends when the account's listing lacks the room.
    await handle.signal(
        MeetingWorkflow.room_event,
        RoomEvent(
            kind=RoomEventKind.ROOM_MISSING,
            source="reconcile",
            room_sid=first_room,
            timestamp=await stack.now(handle),
        ),
    )
    status = await stack.wait_for(
        handle, lambda s: s.room_sid not in (None, first_room) and s.phase is Phase.OPEN, "a new room"
    )
    assert any("is unknown to Twilio: it has ended" in entry.what for entry in status.history)
    assert status.room_sid in stack.emulator.state.world.rooms
    await handle.execute_update(MeetingWorkflow.end_now, EndRequest())


async def test_a_room_twilio_forgot_by_the_end_is_closed_not_failed(stack: Stack) -> None:
    # E.g. a meeting whose end passed while everything was down, restarted on a fresh emulator.
    handle, room_sid = await open_meeting(stack, "forgotten")
    assert (await stack.http.post(f"{stack.emulator.url}/emulator/reset")).status_code in (200, 204)
    summary = await handle.execute_update(MeetingWorkflow.end_now, EndRequest())
    assert summary.ended_by == "end_now" and summary.closed_at is not None
    status = await stack.status(handle)
    assert status.phase is Phase.COMPLETED
    assert any(f"room {room_sid} is unknown to Twilio: it has ended" in e.what for e in status.history)


async def test_reschedule_while_open_moves_only_the_end(stack: Stack) -> None:
    handle, room_sid = await open_meeting(stack, "open-move")
    status = await stack.status(handle)
    with pytest.raises(WorkflowUpdateFailedError) as exc:
        await handle.execute_update(
            MeetingWorkflow.reschedule,
            RescheduleRequest(start_time=status.start_time + timedelta(minutes=10)),
        )
    assert "only end_time can change" in str(exc.value.cause)
    new_end = status.end_time + timedelta(minutes=45)
    moved = await handle.execute_update(MeetingWorkflow.reschedule, RescheduleRequest(end_time=new_end))
    assert moved.end_time == new_end
    await stack.advance(handle, timedelta(minutes=40))  # past the old end (the idle room was replaced)
    await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the meeting to stay open")
    await stack.advance(handle, timedelta(hours=1))
    result = await handle.result()
    assert result.scheduled_end == new_end and result.ended_by == "schedule"
    assert result.closed_at is not None and new_end <= result.closed_at < new_end + timedelta(seconds=5)
    assert stack.emulator.state.world.rooms[room_sid].status.value == "completed"


# ------------------------------------------------------------------------------- extend, end


async def test_extend_pushes_the_end(stack: Stack) -> None:
    handle, _ = await open_meeting(stack, "extend-me")
    before = await stack.status(handle)
    extended = await handle.execute_update(MeetingWorkflow.extend, ExtendRequest(minutes=15))
    assert extended.end_time == before.end_time + timedelta(minutes=15)
    await stack.advance(handle, timedelta(hours=2))
    result = await handle.result()
    assert result.scheduled_end == extended.end_time
    assert result.closed_at is not None and result.closed_at >= extended.end_time


async def test_extend_is_rejected_once_ending(stack: Stack) -> None:
    handle, _ = await open_meeting(stack, "over")
    await handle.signal(MeetingWorkflow.cancel, EndRequest())
    with pytest.raises((WorkflowUpdateFailedError, RPCError)) as exc:
        await handle.execute_update(MeetingWorkflow.extend, ExtendRequest(minutes=5))
    # Either the validator saw the cancel ("ending") or the run had already completed.
    text = str(exc.value.cause) if isinstance(exc.value, WorkflowUpdateFailedError) else str(exc.value)
    assert "already ending" in text or "already completed" in text
    assert (await handle.result()).ended_by == "cancelled"


async def test_end_now_completes_the_room_and_returns_the_summary(stack: Stack) -> None:
    handle, room_sid = await open_meeting(stack, "end-now")
    await stack.join("end-now", "alice")
    await stack.wait_for(handle, lambda s: len(s.participants) == 1, "alice")
    summary = await handle.execute_update(MeetingWorkflow.end_now, EndRequest(reason="done early"))
    assert summary.ended_by == "end_now" and summary.reason == "done early"
    assert summary.room_sid == room_sid and summary.participants_seen == 1
    assert stack.emulator.state.world.rooms[room_sid].status.value == "completed"
    assert (await handle.result()).ended_by == "end_now"


async def test_end_now_before_open_means_no_room(stack: Stack) -> None:
    handle = await stack.start(meeting("end-early"))
    summary = await handle.execute_update(MeetingWorkflow.end_now, EndRequest())
    assert summary.ended_by == "end_now" and summary.room_sid is None
    assert stack.emulator.state.world.rooms == {}


# ------------------------------------------------------------------------- rooms ending early


async def test_a_no_show_room_is_not_churned_and_a_longer_meeting_gets_a_fresh_room(stack: Stack) -> None:
    # Under `recreate` the idle timeouts are raised to cover the window, at most Twilio's 60 minutes: a
    # 2-minute timeout would only end and recreate the room every 2 minutes while nobody comes.
    handle, first_room = await open_meeting(
        stack, "idle", lasts=timedelta(minutes=90), room={"unused_room_timeout": 2}
    )
    room = stack.emulator.state.world.rooms[first_room]
    assert (room.options.unused_room_timeout, room.options.empty_room_timeout) == (60, 60)
    await stack.advance(handle, timedelta(minutes=30))
    assert (await stack.status(handle)).room_sid == first_room
    assert room.status.value == "in-progress"
    await stack.advance(handle, timedelta(minutes=30, seconds=5))  # Twilio's 60 minutes: it ends the room
    status = await stack.wait_for(
        handle, lambda s: s.room_sid != first_room and s.phase is Phase.OPEN, "a new room"
    )
    assert stack.emulator.state.world.rooms[first_room].status.value == "completed"
    assert (await stack.join("idle", "late-alice"))["room_sid"] == status.room_sid
    summary = await handle.execute_update(MeetingWorkflow.end_now, EndRequest())
    assert summary.room_sids == [first_room, status.room_sid]


async def test_empty_room_timeout_gets_a_fresh_room(stack: Stack) -> None:
    handle, first_room = await open_meeting(
        stack, "emptied", lasts=timedelta(minutes=90), room={"empty_room_timeout": 1}
    )
    await stack.join("emptied", "alice")
    await stack.wait_for(handle, lambda s: len(s.participants) == 1, "alice")
    await stack.leave("emptied", "alice")
    await stack.wait_for(handle, lambda s: not s.participants, "alice to leave")
    await stack.advance(handle, timedelta(minutes=1, seconds=5))
    assert (await stack.status(handle)).room_sid == first_room  # raised to 60 minutes: not churned
    await stack.advance(handle, timedelta(minutes=59))
    status = await stack.wait_for(
        handle, lambda s: s.room_sid != first_room and s.phase is Phase.OPEN, "a new room"
    )
    assert status.room_sid in stack.emulator.state.world.rooms
    await handle.execute_update(MeetingWorkflow.end_now, EndRequest())


async def test_end_meeting_policy_ends_with_the_room(stack: Stack) -> None:
    handle, first_room = await open_meeting(
        stack, "one-room", room={"unused_room_timeout": 2}, if_room_ends_early="end_meeting"
    )
    await stack.advance(handle, timedelta(minutes=2, seconds=5))
    result = await handle.result()
    assert result.ended_by == "room_ended" and result.room_sids == [first_room]
    assert len(stack.emulator.state.world.rooms) == 1


async def test_a_room_ending_in_the_last_minute_is_not_replaced(stack: Stack) -> None:
    # Opened 2 min before a 58.5-minute meeting: the unused room's timeout is Twilio's maximum, 60 min,
    # so Twilio ends it 30 s before the meeting's end.
    handle = await stack.start(
        meeting("last-minute", starts_in=timedelta(minutes=2), lasts=timedelta(minutes=58, seconds=30))
    )
    await stack.advance(handle, timedelta(seconds=5))
    first = (await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")).room_sid
    await stack.advance(handle, timedelta(minutes=60))  # Twilio ends the unused room
    result = await handle.result()
    assert result.ended_by == "room_ended" and result.room_sids == [first]
    assert len(stack.emulator.state.world.rooms) == 1
    history = [entry.what for entry in (await stack.status(handle)).history]
    assert any(what.startswith("not replaced: only ") for what in history), history
