"""``roomkeeper_meetings{phase}``: how many meetings are in each phase, counted from Temporal visibility.

Counted (not incremented) so the gauge is right after restarts and across any number of workers.
"""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import Gauge
from temporalio.client import Client
from temporalio.service import RPCError

from workflows.meeting_status import TERMINAL_PHASES, Phase

log = logging.getLogger(__name__)

MEETINGS = Gauge(
    "roomkeeper_meetings", "Meetings on this task queue by phase (Temporal visibility).", ["phase"]
)


#: Runs that ended without the workflow saying how: an operator's terminate, a run timeout.
_STOPPED_FROM_OUTSIDE = " OR ".join(
    f"ExecutionStatus='{status}'" for status in ("Failed", "Terminated", "TimedOut")
)


def phase_query(task_queue: str, phase: Phase) -> str:
    """The visibility query for the meetings in ``phase``.

    A phase before the end counts only running runs (a run that continued as new, or was terminated,
    keeps its last ``MeetingStatus``); ``failed`` also counts runs stopped from outside.
    """
    meetings = f"WorkflowType='MeetingWorkflow' AND TaskQueue='{task_queue}'"
    if phase is Phase.FAILED:
        return f"{meetings} AND (MeetingStatus='failed' OR {_STOPPED_FROM_OUTSIDE})"
    if phase in TERMINAL_PHASES:
        return f"{meetings} AND MeetingStatus='{phase.value}'"
    return f"{meetings} AND MeetingStatus='{phase.value}' AND ExecutionStatus='Running'"


async def count_once(client: Client, task_queue: str) -> dict[Phase, int]:
    counts = {}
    for phase in Phase:
        counts[phase] = (await client.count_workflows(phase_query(task_queue, phase))).count
        MEETINGS.labels(phase.value).set(counts[phase])
    return counts


async def count_meetings_by_phase(client: Client, task_queue: str, every_seconds: float = 30.0) -> None:
    while True:
        try:
            await count_once(client, task_queue)
        except RPCError as error:
            log.warning("could not count meetings by phase: %s", error)
        await asyncio.sleep(every_seconds)
