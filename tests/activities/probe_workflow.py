"""A test-only workflow that runs Twilio activities by name, the way MeetingWorkflow calls them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.policy import TWILIO_CALL


class Step(BaseModel):
    activity: str
    arg: dict[str, Any]


@workflow.defn
class ActivityProbe:
    @workflow.run
    async def run(self, steps: list[Step]) -> list[Any]:
        results: list[Any] = []
        for step in steps:
            results.append(await workflow.execute_activity(step.activity, step.arg, **TWILIO_CALL))
        return results


@workflow.defn
class CreateThenComplete:
    @workflow.run
    async def run(self, meeting_id: str) -> str:
        created = await workflow.execute_activity(
            "CreateRoom", {"workflow_id": meeting_id, "params": {"unique_name": meeting_id}}, **TWILIO_CALL
        )
        sid: str = created["room"]["sid"]
        await workflow.execute_activity("CompleteRoom", {"room_sid": sid}, **TWILIO_CALL)
        return sid
