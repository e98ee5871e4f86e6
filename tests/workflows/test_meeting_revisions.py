"""Revisions: a calendar's late or repeated change moves nothing. A reschedule not newer than the meeting
is rejected as ``StaleRevision`` (nothing in history); a cancel of an older revision is ignored."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from roomkeeper.meeting_client import MeetingClient, MeetingRejected
from tests.workflows.helpers import history_length, meeting
from tests.workflows.stack import Stack, meeting_stack
from workflows.meeting import MeetingWorkflow
from workflows.meeting_control import CancelRequest, RescheduleRequest
from workflows.meeting_status import Phase


@pytest_asyncio.fixture
async def stack(skipping_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(skipping_env) as running:
        yield running


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


async def test_a_reschedule_not_newer_than_the_meeting_is_rejected_as_stale(stack: Stack) -> None:
    spec = meeting(unique("stale-move"), revision=2)
    handle = await stack.start(spec)
    status = await stack.wait_for(handle, lambda s: s.phase is Phase.SCHEDULED, "the meeting to start")
    assert status.revision == 2
    later = timedelta(hours=1)
    before = await history_length(handle)
    for revision in (2, 1):
        with pytest.raises(WorkflowUpdateFailedError) as exc:
            await handle.execute_update(
                MeetingWorkflow.reschedule,
                RescheduleRequest(
                    start_time=spec.start_time + later, end_time=spec.end_time + later, revision=revision
                ),
            )
        cause = exc.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "StaleRevision"
        assert cause.message == (
            f"reschedule: revision {revision} is not newer than the meeting's revision 2; nothing changed"
        )
    assert await history_length(handle) == before  # a rejected update leaves no trace
    status = await stack.status(handle)
    assert (status.start_time, status.end_time, status.revision) == (spec.start_time, spec.end_time, 2)

    # The door's client names the error type, so a calendar delivery can be acknowledged as stale.
    meetings = MeetingClient(stack.env.client, stack.task_queue)
    with pytest.raises(MeetingRejected) as rejected:
        await meetings.reschedule(spec.meeting_id, RescheduleRequest(end_time=spec.end_time, revision=0))
    assert rejected.value.kind == "StaleRevision"

    moved = await meetings.reschedule(
        spec.meeting_id,
        RescheduleRequest(start_time=spec.start_time + later, end_time=spec.end_time + later, revision=3),
    )
    assert (moved.start_time, moved.revision) == (spec.start_time + later, 3)
    assert moved.history[-1].what.startswith("rescheduled (revision 3): ")
    # A change without a revision (a person, say) moves the window and keeps the revision.
    extended = await meetings.reschedule(
        spec.meeting_id, RescheduleRequest(end_time=spec.end_time + later + timedelta(minutes=5))
    )
    assert extended.revision == 3
    await meetings.cancel(spec.meeting_id)
    assert (await handle.result()).ended_by == "cancelled"


async def test_a_meeting_without_a_revision_takes_the_first_one(stack: Stack) -> None:
    spec = meeting(unique("first-revision"))
    handle = await stack.start(spec)
    status = await stack.wait_for(handle, lambda s: s.phase is Phase.SCHEDULED, "the meeting to start")
    assert status.revision is None
    change = RescheduleRequest(end_time=spec.end_time + timedelta(minutes=10), revision=0)
    assert (await handle.execute_update(MeetingWorkflow.reschedule, change)).revision == 0
    with pytest.raises(WorkflowUpdateFailedError, match="Workflow update failed") as exc:
        await handle.execute_update(MeetingWorkflow.reschedule, change)
    assert isinstance(exc.value.cause, ApplicationError) and exc.value.cause.type == "StaleRevision"
    await handle.signal(MeetingWorkflow.cancel, CancelRequest())
    await handle.result()


async def test_a_stale_cancel_is_ignored_and_a_current_one_applies(stack: Stack) -> None:
    spec = meeting(unique("stale-cancel"), starts_in=timedelta(minutes=30), revision=3)
    handle = await stack.start(spec)
    await stack.wait_for(handle, lambda s: s.phase is Phase.SCHEDULED, "the meeting to start")
    await handle.signal(MeetingWorkflow.cancel, CancelRequest(reason="old booking", revision=2))
    status = await stack.wait_for(
        handle,
        lambda s: any("stale cancel" in entry.what for entry in s.history),
        "the stale cancel to be noted",
    )
    assert status.history[-1].what == "ignored a stale cancel (revision 2; the meeting is at revision 3)"
    assert status.phase is Phase.SCHEDULED and status.revision == 3

    # The meeting goes on as if nothing came: it opens its room on time.
    await stack.advance(handle, timedelta(minutes=29))
    status = await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")
    assert status.room_sid is not None

    # A cancel of the meeting's own revision, or a newer one, ends it (and a newer one is kept).
    await handle.signal(MeetingWorkflow.cancel, CancelRequest(reason="booking cancelled", revision=4))
    result = await handle.result()
    assert (result.ended_by, result.reason) == ("cancelled", "booking cancelled")
    assert stack.emulator.state.world.rooms[status.room_sid].status.value == "completed"
    assert (await stack.status(handle)).revision == 4
