"""``roomkeeper_meetings{phase}``: how many meetings are in each phase, counted from Temporal visibility.

Counted (not incremented) so the gauge is right after restarts and across any number of workers.
"""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import Gauge
from temporalio.client import Client
from temporalio.service import RPCError

from workflows.meeting_models import Phase

log = logging.getLogger(__name__)

MEETINGS = Gauge(
    "roomkeeper_meetings", "Meetings on this task queue by phase (Temporal visibility).", ["phase"]
)


async def count_once(client: Client, task_queue: str) -> dict[Phase, int]:
    counts = {}
    for phase in Phase:
        query = (
            f"WorkflowType='MeetingWorkflow' AND TaskQueue='{task_queue}' AND MeetingStatus='{phase.value}'"
        )
        counts[phase] = (await client.count_workflows(query)).count
        MEETINGS.labels(phase.value).set(counts[phase])
    return counts


async def count_meetings_by_phase(client: Client, task_queue: str, every_seconds: float = 30.0) -> None:
    while True:
        try:
            await count_once(client, task_queue)
        except RPCError as error:
            log.warning("could not count meetings by phase: %s", error)
        await asyncio.sleep(every_seconds)
