"""How every Twilio activity is called: timeouts and one retry policy, defined once.

Transient failures (5xx, 429, timeouts, dropped connections) retry with exponential backoff, or after
exactly the ``Retry-After`` Twilio gave (the activity sets ``next_retry_delay``). Permanent ones are
raised as non-retryable ``ApplicationError``s whose type names the error; the list below repeats them
so that even an error raised without ``non_retryable`` never retries.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from temporalio.common import RetryPolicy

PERMANENT_ERROR_TYPES: Final = (
    "Unauthorized",
    "NotFound",
    "RoomExists",
    "RoomNameTaken",
    "RoomNotInProgress",
    "InvalidParameter",
    "TwilioError",
)

TWILIO_RETRY_POLICY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,  # bounded by schedule_to_close_timeout instead
    non_retryable_error_types=list(PERMANENT_ERROR_TYPES),
)

#: Keyword arguments for ``workflow.execute_activity*`` on every Twilio REST activity.
TWILIO_CALL: Final[dict[str, Any]] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "schedule_to_close_timeout": timedelta(minutes=10),
    "retry_policy": TWILIO_RETRY_POLICY,
}
