"""Calling Twilio from MeetingWorkflow through an outage.

One activity call is one round of attempts (``activities.policy``). When a round runs out on a
transient error, the trouble is recorded where operators look (the state's ``trouble``: status query,
current details, history), a durable timer waits (``between_rounds``) and another round starts, until
the call succeeds, the error is permanent (raised at once), or the caller's deadline or interruption
says to give up (``GaveUp``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.policy import TWILIO_CALL, between_rounds, describe, is_permanent
    from common.lifecycle import Step, fields
    from workflows.meeting_state import MeetingState
    from workflows.meeting_status import Trouble
    from workflows.patches import Patch

T = TypeVar("T")
A = TypeVar("A")


class GaveUp(Exception):
    """A Twilio call stopped retrying: the meeting is ending, or its time ran out."""


class TwilioRounds:
    def __init__(
        self,
        state: MeetingState,
        *,
        meeting_id: str,
        record: Callable[[str], None],
        refresh: Callable[[], None],
        interrupted: Callable[[], bool],
    ) -> None:
        self._state = state
        self._meeting_id = meeting_id
        self._record = record
        self._refresh = refresh
        self._interrupted = interrupted

    async def call(
        self,
        operation: str,
        method: Callable[[Any, A], Awaitable[T]],
        arg: A,
        summary: str,
        *,
        give_up_at: Callable[[], datetime | None],
        task_queue: str | None = None,
    ) -> T:
        """Run the activity ``method(arg)`` round after round until it succeeds (on ``task_queue``, by
        default the workflow's own)."""
        while True:
            started = workflow.now()
            try:
                result: T = await workflow.execute_activity_method(
                    method, arg, summary=summary, task_queue=task_queue, **TWILIO_CALL
                )
            except ActivityError as error:
                if is_permanent(error) or not workflow.patched(Patch.RETRY_THROUGH_OUTAGES):
                    raise
                trouble = self._troubled(operation, started, describe(error))
                retry_at = workflow.now() + between_rounds(trouble.rounds)
                end = give_up_at()
                if end is not None:
                    retry_at = min(retry_at, end)
                if retry_at > workflow.now():
                    with contextlib.suppress(TimeoutError):
                        await workflow.wait_condition(
                            self._interrupted,
                            timeout=retry_at - workflow.now(),
                            timeout_summary=f"retry {operation} at {retry_at.isoformat()} (Twilio failing)",
                        )
                if self._interrupted() or (end is not None and workflow.now() >= end):
                    raise GaveUp(operation) from error
                continue
            if self._state.trouble is not None and self._state.trouble.operation == operation:
                trouble = self._state.trouble
                self._state.trouble = None
                self._record(f"{operation} works again (failing since {trouble.since.isoformat()})")
                workflow.logger.info(
                    "%s works again (failing since %s)",
                    operation,
                    trouble.since.isoformat(),
                    extra=self._fields(Step.TWILIO_RECOVERED, operation),
                )
            return result

    def _fields(self, step: Step, operation: str) -> dict[str, object]:
        return fields(step, meeting_id=self._meeting_id, room_sid=self._state.room_sid, operation=operation)

    def _troubled(self, operation: str, since: datetime, error: str) -> Trouble:
        trouble = self._state.trouble
        if trouble is not None and trouble.operation == operation:
            trouble.rounds += 1
            trouble.last_error = error
            self._refresh()
            return trouble
        trouble = self._state.trouble = Trouble(operation=operation, since=since, last_error=error)
        workflow.logger.warning(
            "%s keeps failing; retrying: %s",
            operation,
            error,
            extra=self._fields(Step.TWILIO_FAILING, operation),
        )
        self._record(f"{operation} keeps failing; retrying: {error}")
        return trouble
