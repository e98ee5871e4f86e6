"""``roomkeeper_meetings{task_queue,phase}``: how many meetings are in each phase (Temporal visibility).

Counted (not incremented) so the gauge is right after restarts and across any number of workers.

The count is fleet-wide, so one process exports it: the worker that runs the task queue's reconcile
sweep (the ``RoomReconciler``'s pending activity, as Temporal records it). Every worker asks Temporal
who that is every 30 s (one ``DescribeWorkflowExecution``, not a visibility query); only that worker
counts and sets the gauge, and a worker that stops being it clears its copy. So N workers cost one
count every 30 s instead of N, and Prometheus sees one series per phase, not N that may disagree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from prometheus_client import Gauge
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from common.search_attributes import quoted
from workflows.meeting_status import TERMINAL_PHASES, Phase
from workflows.reconciler import reconciler_id

log = logging.getLogger(__name__)

MEETINGS = Gauge(
    "roomkeeper_meetings",
    "Meetings on this task queue by phase (Temporal visibility); exported only by the worker running "
    "the reconcile sweep.",
    ["task_queue", "phase"],
)


#: Runs that ended without the workflow saying how: an operator's terminate, a run timeout.
_STOPPED_FROM_OUTSIDE = " OR ".join(
    f"ExecutionStatus='{status}'" for status in ("Failed", "Terminated", "TimedOut")
)


def meetings_query(task_queue: str) -> str:
    """Every run of ``MeetingWorkflow`` on ``task_queue``, whatever its state."""
    return f"WorkflowType='MeetingWorkflow' AND TaskQueue={quoted(task_queue)}"


def phase_query(task_queue: str, phase: Phase) -> str:
    """The visibility query for the meetings in ``phase``.

    A phase before the end counts only running runs (a run that continued as new, or was terminated,
    keeps its last ``MeetingStatus``); ``failed`` also counts runs stopped from outside.
    """
    meetings = meetings_query(task_queue)
    if phase is Phase.FAILED:
        return f"{meetings} AND (MeetingStatus='failed' OR {_STOPPED_FROM_OUTSIDE})"
    if phase in TERMINAL_PHASES:
        return f"{meetings} AND MeetingStatus='{phase.value}'"
    return f"{meetings} AND MeetingStatus='{phase.value}' AND ExecutionStatus='Running'"


async def count_once(client: Client, task_queue: str) -> dict[Phase, int]:
    """Count the meetings in each phase now, and set ``roomkeeper_meetings`` in this process."""
    counts = {phase: (await client.count_workflows(phase_query(task_queue, phase))).count for phase in Phase}
    # Set only once every phase is counted: a scrape during the count sees the last census whole,
    # never some phases of the new one and none of the rest.
    for phase, count in counts.items():
        MEETINGS.labels(task_queue, phase.value).set(count)
    return counts


class _Unknown:
    """Temporal has no current answer to who runs the sweep (between two runs of it)."""


UNKNOWN = _Unknown()


async def sweep_holder(client: Client, task_queue: str) -> str | _Unknown | None:
    """The identity of the worker running ``task_queue``'s reconcile sweep, as Temporal records it.

    ``None`` when the task queue has no reconciler; ``UNKNOWN`` when its sweep is between two runs and
    no worker has picked up the next one yet.
    """
    try:
        description = await client.get_workflow_handle(reconciler_id(task_queue)).describe()
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
    # The reconciler runs one activity at a time: the sweep. A retry still names the worker that ran
    # the last attempt, which holds until another worker starts the next one.
    for activity in description.raw_description.pending_activities:
        if activity.last_worker_identity:
            return activity.last_worker_identity
    return UNKNOWN


class PhaseCensus:
    """Keeps ``roomkeeper_meetings`` current in the one worker that runs the reconcile sweep.

    Raises ``ValueError`` for a task queue no visibility query can name (see ``quoted``).
    """

    def __init__(self, client: Client, task_queue: str, every_seconds: float = 30.0) -> None:
        quoted(task_queue)
        self._client = client
        self._task_queue = task_queue
        self._every_seconds = every_seconds
        #: Whether this process exports the gauge; decided by ``tick``.
        self.exporting = False

    async def tick(self) -> bool:
        """Find out whether this worker exports the census and, if so, count (raises ``RPCError``).

        Returns False when Temporal could not say who runs the sweep (between two of its runs).
        """
        holder = await sweep_holder(self._client, self._task_queue)
        if isinstance(holder, _Unknown):
            settled = False  # keep the last answer: the sweep has not moved yet
        else:
            settled = True
            exporting = holder == self._client.identity
            if exporting != self.exporting:
                self._switch(exporting, holder)
        if self.exporting:
            await count_once(self._client, self._task_queue)
        return settled

    def _switch(self, exporting: bool, holder: str | None) -> None:
        self.exporting = exporting
        if exporting:
            log.info("this worker runs the reconcile sweep, so it exports roomkeeper_meetings")
            return
        # Another worker counts now: a stale copy here would be a second, diverging series.
        for phase in Phase:
            with contextlib.suppress(KeyError):  # never counted here
                MEETINGS.remove(self._task_queue, phase.value)
        if holder is None:
            log.info("no reconciler runs on this task queue; roomkeeper_meetings is not exported")
        else:
            log.info("worker %s runs the reconcile sweep now, and exports roomkeeper_meetings", holder)

    async def run(self) -> None:
        """``tick`` every ``every_seconds`` until cancelled; Temporal's errors are logged, not raised."""
        while True:
            settled = True
            try:
                settled = await self.tick()
            except RPCError as error:
                log.warning("could not count meetings by phase: %s", error)
            # Unsettled, ask again within a second: at start the sweep's first run is being picked up,
            # and the census should not wait a whole period to appear.
            await asyncio.sleep(self._every_seconds if settled else min(1.0, self._every_seconds))


async def count_meetings_by_phase(client: Client, task_queue: str, every_seconds: float = 30.0) -> None:
    """Run the phase census for ``task_queue`` until cancelled (see ``PhaseCensus``)."""
    try:
        census = PhaseCensus(client, task_queue, every_seconds)
    except ValueError as error:
        log.error("roomkeeper_meetings is not exported: the task queue %s", error)
        return
    await census.run()
