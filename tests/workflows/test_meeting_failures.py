"""A meeting that fails is visible as failed everywhere an operator looks, and says why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from prometheus_client import REGISTRY
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from common.search_attributes import MEETING_STATUS
from roomkeeper.census import count_once
from tests.task_failures import TERMINATED_MID_TASK
from tests.workflows.helpers import meeting
from tests.workflows.stack import Stack, meeting_stack
from workflows.meeting_status import Phase


@pytest_asyncio.fixture
async def stack(skipping_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(skipping_env, sweep=None) as running:
        yield running


async def test_a_failed_meeting_is_found_by_status_census_and_metrics(stack: Stack) -> None:
    # Another application's room holds the name: a permanent error.
    taken = await stack.twilio("POST", "/v1/Rooms", data={"UniqueName": "taken-name"})
    assert taken.status_code == 201, taken.text
    handle = await stack.start(
        meeting("fails", starts_in=timedelta(minutes=2), room={"unique_name": "taken-name"})
    )
    await stack.advance(handle, timedelta(seconds=5))
    with pytest.raises(WorkflowFailureError) as exc:
        await handle.result()
    message = str(exc.value.cause)
    assert "could not create room 'taken-name'" in message and "RoomNameTaken" in message, message

    assert (await handle.describe()).typed_search_attributes.get(MEETING_STATUS) == "failed"
    listed = [
        w.id
        async for w in stack.env.client.list_workflows(
            f"MeetingStatus='failed' AND TaskQueue='{stack.task_queue}'"
        )
    ]
    assert listed == [handle.id]
    counts = await count_once(stack.env.client, stack.task_queue)
    assert counts[Phase.FAILED] == 1 and counts[Phase.SCHEDULED] == 0
    failed_here = {"task_queue": stack.task_queue, "phase": "failed"}
    assert REGISTRY.get_sample_value("roomkeeper_meetings", failed_here) == 1
    ended = REGISTRY.get_sample_value(
        "roomkeeper_meetings_ended_total", {"task_queue": stack.task_queue, "ended_by": "failed"}
    )
    assert ended == 1
    status = await stack.status(handle)
    assert status.phase is Phase.FAILED
    assert status.history[-1].what.startswith("failed: could not create room 'taken-name': RoomNameTaken")
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert "failed" in metadata.current_details


@pytest.mark.task_failures(TERMINATED_MID_TASK)  # an operator's terminate, on purpose
async def test_a_terminated_meeting_counts_as_failed_not_as_open(stack: Stack) -> None:
    handle = await stack.start(meeting("terminated", starts_in=timedelta(minutes=2)))
    await stack.advance(handle, timedelta(seconds=5))
    await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")
    await handle.terminate(reason="operator")
    counts = await count_once(stack.env.client, stack.task_queue)
    assert counts[Phase.OPEN] == 0 and counts[Phase.FAILED] == 1
