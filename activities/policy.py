"""How every Twilio activity is called: timeouts and one retry policy, defined once.

Transient failures (5xx, 429, timeouts, dropped connections) retry with exponential backoff, or after
exactly the ``Retry-After`` Twilio gave (the activity sets ``next_retry_delay``). Permanent ones are
raised as non-retryable ``ApplicationError``s whose type names the error; the list below repeats them
so that even an error raised without ``non_retryable`` never retries.

One activity call is one *round* of ``ROUND_ATTEMPTS`` attempts (about 15 s of backoff, or less when
Twilio sends ``Retry-After``). A round that runs out during a long Twilio outage is not the end:
MeetingWorkflow records the trouble where operators see it, waits ``between_rounds`` on a durable
timer and starts another round (completing and evicting never stop trying; opening tries while the
meeting's window is open). So an outage costs each meeting a handful of requests a minute, not a storm.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

PERMANENT_ERROR_TYPES: Final = (
    "Unauthorized",
    "NotFound",
    "RoomExists",
    "RoomNameTaken",
    "RoomNotInProgress",
    "InvalidParameter",
    "TwilioError",
)

#: Attempts in one round: 0, 1, 3, 7 and 15 s after the first (or Twilio's ``Retry-After``).
ROUND_ATTEMPTS: Final = 5

TWILIO_RETRY_POLICY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=ROUND_ATTEMPTS,
    non_retryable_error_types=list(PERMANENT_ERROR_TYPES),
)

#: Keyword arguments for ``workflow.execute_activity*`` on every Twilio REST activity.
TWILIO_CALL: Final[dict[str, Any]] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "schedule_to_close_timeout": timedelta(minutes=5),
    "retry_policy": TWILIO_RETRY_POLICY,
}

#: The wait after the first failed round; it doubles each round up to ``MAX_BETWEEN_ROUNDS``.
FIRST_BETWEEN_ROUNDS: Final = timedelta(seconds=15)
MAX_BETWEEN_ROUNDS: Final = timedelta(minutes=2)


def between_rounds(failed_rounds: int) -> timedelta:
    """How long to wait after ``failed_rounds`` rounds in a row ran out."""
    doubled: timedelta = FIRST_BETWEEN_ROUNDS * 2 ** max(0, failed_rounds - 1)
    return min(doubled, MAX_BETWEEN_ROUNDS)


#: Twilio's account-wide write budget is 20/s (reads 80/s). Writes (create, complete, disconnect) go
#: through their own task queue, which Temporal's matching service dispatches at most this fast to all
#: workers together (``max_task_queue_activities_per_second``): a burst of 1,000 meetings queues in
#: Temporal instead of drawing 429s and whole-second ``Retry-After`` backoffs. A little under 20 leaves
#: room for the jitter between Temporal's dispatch and Twilio's own bucket.
TWILIO_WRITES_PER_SECOND: Final = 19.0


_PACED_WRITES_SUFFIX: Final = "/twilio-writes"


def paced_writes_queue(task_queue: str) -> str:
    """The task queue of a deployment's Twilio writes (its workers poll it beside ``task_queue``)."""
    return task_queue + _PACED_WRITES_SUFFIX


def deployment_queue(task_queue: str) -> str:
    """The deployment's task queue, also for an activity running on its paced writes queue: the
    ``task_queue`` label of the business metrics."""
    return task_queue.removesuffix(_PACED_WRITES_SUFFIX)


#: ``RecordMeetingOutcome`` only counts and logs: it must never hold a meeting's ending up for long.
BOOKKEEPING_CALL: Final[dict[str, Any]] = {
    "start_to_close_timeout": timedelta(seconds=10),
    "schedule_to_close_timeout": timedelta(minutes=5),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)
    ),
}


#: A lifecycle event is tried this many times: 0, 1, 3, 7, 15, 31, 61, 121, 181 and 241 s after the
#: first attempt (or after the receiver's ``Retry-After``), about four minutes in all, then given up.
EVENT_ATTEMPTS: Final = 10
#: What a receiver's refusal is called; these never retry (``activities.meeting_events``).
EVENT_PERMANENT_ERRORS: Final = ("ReceiverRefused", "ReceiverGone", "NoEventSecret")

#: Keyword arguments for the ``DeliverMeetingEvent`` activity: a bounded budget, so an event never
#: waits behind a dead receiver for longer than about four minutes.
EVENT_DELIVERY_CALL: Final[dict[str, Any]] = {
    "start_to_close_timeout": timedelta(seconds=15),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=60),
        maximum_attempts=EVENT_ATTEMPTS,
        non_retryable_error_types=list(EVENT_PERMANENT_ERRORS),
    ),
}

#: ``MeetingDefaults`` is a local activity reading the worker's configuration: quick, or nothing.
DEFAULTS_CALL: Final[dict[str, Any]] = {
    "start_to_close_timeout": timedelta(seconds=5),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=5)),
}


def is_permanent(error: ActivityError) -> bool:
    """True when retrying cannot help (a named permanent error), False for a round that ran out."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and (cause.non_retryable or cause.type in PERMANENT_ERROR_TYPES):
        return True
    return error.retry_state is RetryState.NON_RETRYABLE_FAILURE


def describe(error: ActivityError) -> str:
    """One line for a failed activity: the error's type and message, not a stack trace."""
    cause = error.cause
    if isinstance(cause, ActivityTimeoutError) and cause.cause is not None:
        # a round that ran out: what the last attempt said is what matters
        last = cause.cause
        if isinstance(last, ApplicationError):
            return f"{last.type}: {last.message}" if last.type else last.message
        return f"{type(last).__name__}: {last}"
    if isinstance(cause, ApplicationError):
        return f"{cause.type}: {cause.message}" if cause.type else cause.message
    if cause is not None:
        return f"{type(cause).__name__}: {cause}"
    return str(error)
