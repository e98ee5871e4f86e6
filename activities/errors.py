"""Twilio client errors turned into what Temporal should do with them.

A transient error stays retryable, after ``Retry-After`` when Twilio sent one; a permanent error
becomes a non-retryable ``ApplicationError`` whose ``type`` is the error's name ("RoomExists",
"Unauthorized"...), so a workflow sees a clear name and message, not a stack trace.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import ParamSpec, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from common.metrics import TWILIO_RETRIES
from twilio_video.errors import TransientError, TwilioError

P = ParamSpec("P")
R = TypeVar("R")


def to_application_error(error: TwilioError) -> ApplicationError:
    details = {
        "operation": error.operation,
        "resource": error.resource,
        "status": error.status,
        "code": error.code,
    }
    if isinstance(error, TransientError):
        delay = timedelta(seconds=error.retry_after) if error.retry_after is not None else None
        return ApplicationError(str(error), details, type=type(error).__name__, next_retry_delay=delay)
    return ApplicationError(str(error), details, type=type(error).__name__, non_retryable=True)


def translate_twilio_errors(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Wrap an activity so ``TwilioError``s leave it as the right ``ApplicationError``.

    A retryable one is counted under the Twilio operation that failed (one activity may call several,
    as ``CreateRoom`` falls back to ``FetchRoom``) and the activity's registered name. It is not logged
    here: the SDK logs every failed attempt (``Completing activity as failed``), which the worker's log
    set-up (``roomkeeper.logs``) writes as one line with this error's type and message.
    """

    @functools.wraps(function)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await function(*args, **kwargs)
        except TwilioError as error:
            converted = to_application_error(error)
            if not converted.non_retryable:
                TWILIO_RETRIES.labels(
                    operation=error.operation,
                    activity=activity.info().activity_type,
                    error_type=converted.type or "unknown",
                ).inc()
            raise converted from error

    return wrapper
