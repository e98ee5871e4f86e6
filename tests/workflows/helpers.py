from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from tests.support import wait_until_async
from workflows.meeting_input import MeetingSpec


def meeting(
    meeting_id: str,
    *,
    starts_in: timedelta = timedelta(hours=1),
    lasts: timedelta = timedelta(minutes=30),
    **extra: Any,
) -> MeetingSpec:
    start = datetime.now(UTC).replace(microsecond=0) + starts_in
    return MeetingSpec.model_validate(
        {
            "meeting_id": meeting_id,
            "title": f"Test {meeting_id}",
            "start_time": start,
            "end_time": start + lasts,
            **extra,
        }
    )


async def history_length(handle: WorkflowHandle[Any, Any]) -> int:
    """The history's length once the meeting is at rest: its first workflow task (which asks the
    worker's configuration with a local activity) completed with the timer it sleeps on."""

    async def events() -> list[Any]:
        return list((await handle.fetch_history()).events)

    def at_rest(found: list[Any]) -> bool:
        return found[-1].event_type == EventType.EVENT_TYPE_TIMER_STARTED

    settled: list[Any] = await wait_until_async(events, at_rest, what="the meeting to sleep on its timer")
    return len(settled)
