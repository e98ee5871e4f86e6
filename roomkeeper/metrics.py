"""roomkeeper's own Prometheus metrics (the Temporal SDK's are served beside them by the worker)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
    "Activity attempts that failed with a retryable Twilio error, by operation and error type.",
    ["operation", "error_type"],
)


class PrometheusRequestObserver:
    """Feeds every Twilio client request into the metrics above."""

    def observe(self, operation: str, outcome: str, status: int | None, seconds: float) -> None:
        TWILIO_REQUESTS.labels(operation, outcome, str(status) if status is not None else "none").inc()
        TWILIO_REQUEST_DURATION.labels(operation).observe(seconds)
