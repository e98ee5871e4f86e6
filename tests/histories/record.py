"""Records MeetingWorkflow histories for the replay test: ``python -m tests.histories.record``.

Re-record only on purpose: a history that no longer replays means running workflows would break too.
Each scenario drives the real stack (time-skipping server, worker, gateway, emulator).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from tests.temporal_env import TEMPORAL_CLI
from tests.workflows.helpers import meeting
from tests.workflows.stack import Stack, meeting_stack
from workflows import search_attributes
from workflows.meeting import MeetingWorkflow
from workflows.meeting_models import EndRequest, ExtendRequest, Phase, RescheduleRequest

HERE = Path(__file__).parent


async def full_story(stack: Stack) -> str:
    handle = await stack.start(meeting("rec-story", room={"max_participant_duration": 600}))
    await stack.advance(handle, timedelta(minutes=59))
    await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "open")
    await stack.join("rec-story", "alice")
    await stack.join("rec-story", "bob")
    await stack.wait_for(handle, lambda s: len(s.participants) == 2, "two")
    await stack.advance(handle, timedelta(minutes=2))
    await stack.leave("rec-story", "bob")
    await stack.wait_for(handle, lambda s: len(s.participants) == 1, "one")
    await stack.advance(handle, timedelta(minutes=10))
    await stack.wait_for(handle, lambda s: not s.participants, "eviction")
    await stack.advance(handle, timedelta(hours=1))
    await handle.result()
    return handle.id


async def cancelled_before_open(stack: Stack) -> str:
    handle = await stack.start(meeting("rec-cancel"))
    await stack.advance(handle, timedelta(minutes=5))
    await handle.signal(MeetingWorkflow.cancel, EndRequest(reason="recorded"))
    await handle.result()
    return handle.id


async def rescheduled_extended_ended(stack: Stack) -> str:
    spec = meeting("rec-control", room={"unused_room_timeout": 2})
    handle = await stack.start(spec)
    await handle.execute_update(
        MeetingWorkflow.reschedule,
        RescheduleRequest(
            start_time=spec.start_time + timedelta(minutes=30), end_time=spec.end_time + timedelta(minutes=30)
        ),
    )
    await stack.advance(handle, timedelta(minutes=89))
    await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "open")
    first = (await stack.status(handle)).room_sid
    await handle.execute_update(MeetingWorkflow.extend, ExtendRequest(minutes=10))
    await stack.advance(handle, timedelta(minutes=2, seconds=5))  # unused timeout: a new room
    await stack.wait_for(handle, lambda s: s.room_sid != first and s.phase is Phase.OPEN, "new room")
    await handle.execute_update(MeetingWorkflow.end_now, EndRequest(reason="recorded"))
    await handle.result()
    return handle.id


async def main() -> None:
    async with await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=str(TEMPORAL_CLI),
        data_converter=pydantic_data_converter,
        search_attributes=list(search_attributes.ALL),
        dev_server_log_level="error",
        dev_server_extra_args=["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"],
    ) as env:
        for scenario in (full_story, cancelled_before_open, rescheduled_extended_ended):
            async with meeting_stack(env) as stack:
                workflow_id = await scenario(stack)
                history = await env.client.get_workflow_handle(workflow_id).fetch_history()
                path = HERE / f"{scenario.__name__}.json"
                path.write_text(history.to_json())
                print(f"{path.name}: {len(history.events)} events")


if __name__ == "__main__":
    asyncio.run(main())
