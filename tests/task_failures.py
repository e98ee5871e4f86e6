"""Finding failed workflow tasks in the histories of the workflows a test started."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client

#: What the server tells a worker whose completing task raced a new event (a signal arriving as the
#: workflow finishes): "decide again with the new event". Not a crash of our code and not preventable
#: for a workflow that receives outside signals (the Temporal UI does not show it as a failure either);
#: it is the one cause allowed everywhere. Business counters are not emitted by workflow code, so it
#: cannot make them over-count (tests/workflows/test_counters.py races it on purpose).
BENIGN_TASK_FAILURE_CAUSES = frozenset({"WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND"})

#: What a terminate records when it lands while a workflow task is in flight: a test that terminates a
#: workflow on purpose declares it with ``@pytest.mark.task_failures(TERMINATED_MID_TASK)``.
TERMINATED_MID_TASK = "WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND"


async def failed_workflow_tasks(
    client: Client, since: datetime, allowed: Collection[str] = BENIGN_TASK_FAILURE_CAUSES
) -> list[str]:
    """One line per failed or timed-out workflow task of every workflow started since ``since``.

    ``allowed`` holds failure cause names (``WORKFLOW_TASK_FAILED_CAUSE_…``) and ``"timed_out"``.
    """
    problems = []
    query = f"StartTime >= '{since.isoformat()}'"
    async for execution in client.list_workflows(query):
        history = await client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history()
        where = f"{execution.id} (run {execution.run_id})"
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                attributes = event.workflow_task_failed_event_attributes
                cause = WorkflowTaskFailedCause.Name(attributes.cause)
                if cause not in allowed:
                    problems.append(f"{where} event {event.event_id}: {cause}: {attributes.failure.message}")
            elif (
                event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT
                and "timed_out" not in allowed
            ):
                problems.append(f"{where} event {event.event_id}: workflow task timed out")
    return problems
