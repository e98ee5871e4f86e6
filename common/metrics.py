"""roomkeeper's own Prometheus metrics (the Temporal SDK's are served beside them by the worker).

Business counters are incremented by the activity that did the thing, once its Twilio call
succeeded, never by workflow code: workflow code runs again whenever a workflow task is retried
(a crash, a worker restart, a signal racing the completion), activity results do not. So each counter
matches what Twilio's request log shows, and a histogram may hold negative values (an early opening),
which the SDK's workflow meter refuses.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from twilio_video.operations import Operation

TWILIO_REQUESTS = Counter(
    "roomkeeper_twilio_requests",
    "Twilio Video REST requests by operation, outcome (success or error class) and HTTP status.",
    ["operation", "outcome", "status"],
)
TWILIO_REQUEST_DURATION = Histogram(
    "roomkeeper_twilio_request_duration_seconds",
    "Twilio Video REST request latency by operation.",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TWILIO_RETRIES = Counter(
    "roomkeeper_twilio_retries",
    "Activity attempts that failed with a retryable Twilio error, by the Twilio operation that failed "
    "(as in roomkeeper_twilio_requests), the activity and the error type.",
    ["operation", "activity", "error_type"],
)

ROOMS_CREATED = Counter(
    "roomkeeper_rooms_created",
    "Twilio rooms opened for meetings (adopted=true: found after a lost CreateRoom response).",
    ["task_queue", "adopted"],
)
ROOMS_RECREATED = Counter(
    "roomkeeper_rooms_recreated",
    "Rooms opened to replace a meeting's room that ended before the meeting did (the recreate policy); "
    "also counted in roomkeeper_rooms_created.",
    ["task_queue"],
)
ROOMS_COMPLETED = Counter(
    "roomkeeper_rooms_completed",
    "Twilio rooms roomkeeper completed, by why (schedule, end_now, cancelled, failed).",
    ["task_queue", "ended_by"],
)
MEETINGS_ENDED = Counter(
    "roomkeeper_meetings_ended",
    "Meetings finished, by how they ended (schedule, end_now, cancelled, room_ended, window_passed, failed).",
    ["task_queue", "ended_by"],
)
PARTICIPANTS_EVICTED = Counter(
    "roomkeeper_participants_evicted",
    "Participants roomkeeper disconnected, by reason.",
    ["task_queue", "reason"],
)
CALENDAR_FETCHES = Counter(
    "roomkeeper_calendar_fetches",
    "Calendar feed fetches, by result: changed (parsed and reconciled), unchanged (304 or same bytes), "
    "failed (nothing was changed; the feed is tried again next period).",
    ["task_queue", "feed", "result"],
)
MEETING_EVENTS = Counter(
    "roomkeeper_meeting_events",
    "Lifecycle events sent to the application's receiver, by type and outcome: delivered (2xx), "
    "retried (an attempt failed and will be retried), failed (refused, or failing past every retry).",
    ["task_queue", "type", "outcome"],
)
ROOM_END_LAG = Histogram(
    "roomkeeper_room_end_lag_seconds",
    "Twilio's confirmation of the room's completion minus the meeting's scheduled end "
    "(meetings that ended on schedule).",
    ["task_queue"],
    # a healthy worker completes within a second or two
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
ROOM_OPEN_LEAD = Histogram(
    "roomkeeper_room_open_lead_seconds",
    "The meeting's first room ready minus its scheduled start: negative is early "
    "(the default opens 120 s early), positive is late.",
    ["task_queue"],
    buckets=(-600, -300, -180, -150, -120, -90, -60, -30, 0, 30, 60, 300),
)


class PrometheusRequestObserver:
    """Feeds every Twilio client request into the metrics above."""

    def observe(self, operation: Operation, outcome: str, status: int | None, seconds: float) -> None:
        TWILIO_REQUESTS.labels(operation, outcome, str(status) if status is not None else "none").inc()
        TWILIO_REQUEST_DURATION.labels(operation).observe(seconds)
