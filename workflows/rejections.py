"""How MeetingWorkflow refuses an update: one line naming the field and rule, nothing written to history."""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

import pydantic
from temporalio.exceptions import ApplicationError

from workflows.meeting_input import explain

M = TypeVar("M", bound=pydantic.BaseModel)


def reject(message: str) -> NoReturn:
    """Refuse an update: the caller gets ``message``, and nothing is written to history."""
    raise ApplicationError(message, type="Rejected", non_retryable=True)


def stale(message: str) -> NoReturn:
    """Refuse a change older than the meeting (error type ``StaleRevision``): a calendar's repeated or
    late delivery, which its sender may treat as done. Like ``reject``, nothing is written to history."""
    raise ApplicationError(message, type="StaleRevision", non_retryable=True)


def parse(model: type[M], value: Any, what: str, extra: tuple[Any, ...] = ()) -> M:
    """``value`` as ``model``, or a rejection that names each field and rule (no pydantic dump)."""
    if extra:
        reject(f"{what} takes one argument; it was given {1 + len(extra)}")
    try:
        return model.model_validate(value)
    except pydantic.ValidationError as error:
        message = f"{what}: {explain(error)}"
    # Raised outside the except block, so the rejection carries no chained pydantic error as its cause.
    reject(message)
