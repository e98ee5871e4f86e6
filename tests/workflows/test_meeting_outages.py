"""A Twilio outage longer than one round of activity retries: no room is stranded, nothing fails
quietly, and what is failing (since when) shows in the status, the current details and the history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from activities.policy import FIRST_BETWEEN_ROUNDS, MAX_BETWEEN_ROUNDS
from tests.workflows.helpers import meeting
from tests.workflows.stack import Stack, meeting_stack
from workflows.meeting_status import Phase


@pytest_asyncio.fixture
async def stack(skipping_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(skipping_env) as running:
        yield running


async def outage(stack: Stack, *operations: str, status: int = 503) -> None:
    plan = {"rate": 1.0, "statuses": [status], "operations": list(operations), "retry_after_seconds": 1}
    response = await stack.http.post(f"{stack.emulator.url}/emulator/faults", json=plan)
    assert response.status_code == 200, response.text


async def outage_over(stack: Stack) -> None:
    assert (await stack.http.delete(f"{stack.emulator.url}/emulator/faults")).status_code == 204


def requests(stack: Stack, operation: str) -> list[dict]:
    return [entry for entry in stack.emulator.state.requests if entry["operation"] == operation]


async def details(handle) -> str:
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return str(metadata.current_details)


@pytest.mark.slow
async def test_completing_keeps_trying_through_an_outage_longer_than_a_round(stack: Stack) -> None:
    handle = await stack.start(
        meeting("outage-close", starts_in=timedelta(minutes=2), lasts=timedelta(minutes=5))
    )
    await stack.advance(handle, timedelta(seconds=5))
    status = await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")
    room_sid = status.room_sid
    assert room_sid is not None
    await stack.join("outage-close", "alice")  # so Twilio's own idle timeouts keep out of the story

    await outage(stack, "UpdateRoom")  # what CompleteRoom calls
    await stack.advance(handle, timedelta(minutes=7))  # past the end: completing starts failing
    status = await stack.wait_for(handle, lambda s: s.trouble is not None, "the trouble to show", within=60)
    await stack.advance(handle, FIRST_BETWEEN_ROUNDS)  # rounds go on for as long as the outage lasts
    status = await stack.wait_for(
        handle, lambda s: s.trouble is not None and s.trouble.rounds >= 2, "another round", within=60
    )
    assert status.phase is Phase.CLOSING
    assert status.trouble is not None and status.trouble.operation == "CompleteRoom"
    assert "503" in status.trouble.last_error or "ServiceUnavailable" in status.trouble.last_error
    assert status.trouble.since >= status.end_time
    assert "CompleteRoom keeps failing; retrying" in status.history[-1].what
    shown = await details(handle)
    assert "CompleteRoom failing since" in shown, shown
    assert stack.emulator.state.world.rooms[room_sid].status.value == "in-progress"
    failed_calls = [r for r in requests(stack, "UpdateRoom") if r["status"] == 503]
    assert len(failed_calls) > 3

    await outage_over(stack)
    await stack.advance(handle, MAX_BETWEEN_ROUNDS)
    result = await handle.result()
    assert result.ended_by == "schedule"
    assert stack.emulator.state.world.rooms[room_sid].status.value == "completed"
    final = await stack.status(handle)
    assert final.trouble is None
    assert any(entry.what.startswith("CompleteRoom works again (failing since") for entry in final.history)


@pytest.mark.slow
async def test_evicting_keeps_trying_and_the_end_still_completes_the_room(stack: Stack) -> None:
    spec = meeting(
        "outage-evict",
        starts_in=timedelta(minutes=2),
        lasts=timedelta(minutes=20),
        room={"max_participant_duration": 600},
    )
    handle = await stack.start(spec)
    await stack.advance(handle, timedelta(seconds=5))
    status = await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")
    await stack.join("outage-evict", "alice")
    await stack.wait_for(handle, lambda s: len(s.participants) == 1, "alice")

    await outage(stack, "UpdateRoomParticipant")  # what DisconnectParticipant calls
    await stack.advance(handle, timedelta(minutes=10, seconds=5))  # alice's deadline passes
    status = await stack.wait_for(
        handle,
        lambda s: s.trouble is not None and s.trouble.operation == "DisconnectParticipant",
        "the failing eviction to show",
        within=60,
    )
    assert status.phase is Phase.OPEN

    await outage_over(stack)
    await stack.advance(handle, MAX_BETWEEN_ROUNDS)
    status = await stack.wait_for(handle, lambda s: not s.participants, "alice's eviction", within=60)
    assert status.trouble is None and status.room_sid is not None
    await stack.advance(handle, timedelta(minutes=15))
    result = await handle.result()
    assert [e.identity for e in result.participants_evicted] == ["alice"]
    assert result.ended_by == "schedule"
    assert stack.emulator.state.world.rooms[status.room_sid].status.value == "completed"


@pytest.mark.slow
async def test_opening_keeps_trying_while_the_window_is_open_then_fails_clearly(stack: Stack) -> None:
    spec = meeting("outage-open", starts_in=timedelta(0), lasts=timedelta(seconds=40))
    await outage(stack, "CreateRoom")
    handle = await stack.start(spec)
    status = await stack.wait_for(handle, lambda s: s.trouble is not None, "the trouble to show", within=60)
    assert status.phase is Phase.OPENING and status.trouble is not None
    assert status.trouble.operation == "CreateRoom"

    await stack.advance(handle, timedelta(minutes=1))  # the whole window passes in the outage
    with pytest.raises(WorkflowFailureError) as exc:
        await handle.result()
    message = str(exc.value.cause)
    assert "could not create room 'outage-open' before the meeting's end" in message, message
    assert "Twilio kept failing since" in message
    assert stack.emulator.state.world.rooms == {}
    assert (await stack.status(handle)).phase is Phase.FAILED


@pytest.mark.slow
async def test_opening_recovers_when_the_outage_ends_within_the_window(stack: Stack) -> None:
    await outage(stack, "CreateRoom")
    handle = await stack.start(meeting("outage-recover", starts_in=timedelta(0)))
    await stack.wait_for(handle, lambda s: s.trouble is not None, "the trouble to show", within=60)
    await outage_over(stack)
    await stack.advance(handle, MAX_BETWEEN_ROUNDS)
    status = await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open", within=60)
    assert status.trouble is None and status.room_sid is not None


async def test_a_permanent_error_still_fails_the_meeting_at_once(stack: Stack) -> None:
    await outage(stack, "CreateRoom", status=401)
    handle = await stack.start(meeting("outage-401", starts_in=timedelta(minutes=2)))
    await stack.advance(handle, timedelta(seconds=5))
    with pytest.raises(WorkflowFailureError) as exc:
        await handle.result()
    assert "could not create room 'outage-401'" in str(exc.value.cause)
    assert "Unauthorized" in str(exc.value.cause)
    assert len(requests(stack, "CreateRoom")) == 1  # no retry storm
