"""A test-only worker interceptor that fails a workflow task on purpose, once per activity started.

Each time a workflow starts an activity for the first time, the task raises instead of sending the
command; Temporal retries the task, the workflow replays, and this time the command goes out. So
every workflow task that starts an activity runs twice: whatever workflow code did in it runs twice.
"""

from __future__ import annotations

import threading
from typing import Any

from temporalio import workflow
from temporalio.worker import (
    Interceptor,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

FORCED_CAUSE = "WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE"


class ForcedTaskFailure(RuntimeError):
    """Raised inside workflow code to fail the workflow task (not the workflow)."""


class TaskCrasher(Interceptor):
    def __init__(self) -> None:
        self.crashed: set[tuple[str, str, int]] = set()
        self._lock = threading.Lock()

    def first_time(self, key: tuple[str, str, int]) -> bool:
        with self._lock:
            if key in self.crashed:
                return False
            self.crashed.add(key)
            return True

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        crasher = self

        class Outbound(WorkflowOutboundInterceptor):
            def __init__(self, next: WorkflowOutboundInterceptor) -> None:
                super().__init__(next)
                self._started = 0

            def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
                self._started += 1
                info = workflow.info()
                if not workflow.unsafe.is_replaying() and crasher.first_time(
                    (info.workflow_id, info.run_id, self._started)
                ):
                    raise ForcedTaskFailure(f"forced failure before starting {input.activity}")
                return super().start_activity(input)

        class Inbound(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                super().init(Outbound(outbound))

        return Inbound
