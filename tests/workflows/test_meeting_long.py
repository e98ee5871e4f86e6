"""A 24-hour meeting with 2,000 join/leave events: history stays bounded through continue-as-new."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from common.room_events import RoomEvent, RoomEventKind
from tests.workflows.helpers import meeting
from tests.workflows.stack import meeting_stack
from workflows.meeting import MeetingWorkflow
from workflows.meeting_control import EndRequest
from workflows.meeting_status import Phase

ROUNDS = 50
PER_ROUND = 20  # participants joining each round; each leaves the next round: 2 x 50 x 20 = 2,000 events


@pytest.mark.slow
async def test_a_day_long_meeting_with_two_thousand_events(skipping_env: WorkflowEnvironment) -> None:
    async with meeting_stack(skipping_env) as stack:
        handle = await stack.start(
            meeting(
                "marathon",
                starts_in=timedelta(minutes=1),
                lasts=timedelta(hours=24),
                room={"max_participants": 50},
            )
        )
        status = await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")
        room_sid = status.room_sid
        assert room_sid is not None

        def event(kind: RoomEventKind, number: int, at) -> RoomEvent:
            return RoomEvent(
                kind=kind,
                room_sid=room_sid,
                timestamp=at,
                participant_sid=f"PA{number:032x}",
                participant_identity=f"guest-{number}",
            )

        step = timedelta(hours=24) / (ROUNDS + 1)
        sent = 0
        for round_number in range(ROUNDS + 1):
            now = await stack.now(handle)
            if round_number > 0:  # last round's guests leave
                for offset in range(PER_ROUND):
                    await handle.signal(
                        MeetingWorkflow.room_event,
                        event(
                            RoomEventKind.PARTICIPANT_DISCONNECTED,
                            (round_number - 1) * PER_ROUND + offset,
                            now,
                        ),
                    )
                    sent += 1
            if round_number < ROUNDS:  # this round's guests join
                for offset in range(PER_ROUND):
                    await handle.signal(
                        MeetingWorkflow.room_event,
                        event(RoomEventKind.PARTICIPANT_CONNECTED, round_number * PER_ROUND + offset, now),
                    )
                    sent += 1
            await stack.env.fast_forward(handle, step - timedelta(minutes=1))
        assert sent == 2 * ROUNDS * PER_ROUND == 2000

        await stack.env.fast_forward(handle)
        result = await handle.result()
        assert result.ended_by == "schedule"
        assert result.participants_seen == ROUNDS * PER_ROUND
        assert result.participants_evicted == []
        assert result.room_sids == [room_sid]

        runs = [
            execution async for execution in stack.env.client.list_workflows("WorkflowId='meeting-marathon'")
        ]
        assert len(runs) >= 3, "history was kept bounded by continuing as new"
        for run in runs:
            history = await stack.env.client.get_workflow_handle(run.id, run_id=run.run_id).fetch_history()
            assert len(history.events) < 1_500


@pytest.mark.slow
async def test_end_now_during_a_pending_continue_as_new_still_ends_the_meeting(
    skipping_env: WorkflowEnvironment,
) -> None:
    """end_now waits for the meeting to be over; continue-as-new waits for handlers to finish.

    If the history outgrows the server's suggestion while an activity is in flight and end_now
    arrives meanwhile, the meeting must end, not wait on itself.
    """
    async with meeting_stack(skipping_env) as stack:
        await stack.http.post(
            f"{stack.emulator.url}/emulator/faults",
            json={"latency_ms": 8000, "operations": ["UpdateRoomParticipant"]},
        )
        handle = await stack.start(
            meeting("can-vs-end", starts_in=timedelta(minutes=1), room={"max_participant_duration": 600})
        )
        status = await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")
        now = await stack.now(handle)

        def connected(number: int, at) -> RoomEvent:
            return RoomEvent(
                kind=RoomEventKind.PARTICIPANT_CONNECTED,
                room_sid=status.room_sid or "",
                timestamp=at,
                participant_sid=f"PA{number:032x}",
                participant_identity=f"guest-{number}",
            )

        # Connected 10 minutes ago: evicted at once, and the eviction hangs for 8 s in Twilio.
        await handle.signal(MeetingWorkflow.room_event, connected(0, now - timedelta(seconds=600)))
        # Meanwhile the history grows past the suggestion (1,000 events in this server).
        for _ in range(800):
            await handle.signal(MeetingWorkflow.room_event, connected(1, now))
        summary = await asyncio.wait_for(
            handle.execute_update(MeetingWorkflow.end_now, EndRequest()), timeout=30
        )
        assert summary.ended_by == "end_now"
        assert [e.identity for e in summary.participants_evicted] == ["guest-0"]
