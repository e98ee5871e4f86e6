"""The worker's health, as ``/healthz`` (live) and ``/readyz`` (ready) answer it beside ``/metrics``.

- **Live**: the process's event loop keeps turning and the Temporal worker has not stopped by itself.
  A failing liveness probe gets the process restarted, so an unreachable Temporal does *not* make a
  worker unlive: restarting it would not bring Temporal back.
- **Ready**: live, the worker is polling its task queue, and Temporal answered a health check within
  the last few checks. A worker that is not ready does no harm (it just gets no tasks); the probe lets
  rollouts wait for new workers to really work before stopping old ones.

The probes are served by the metrics server's thread and only read what the loop's ``watch`` task
writes (floats and a string), so a blocked event loop cannot block the probes: it shows as not live.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

from temporalio.client import Client

#: How often the loop reports in and asks Temporal for its health.
CHECK_EVERY = 5.0
#: The loop is stuck when it has not reported in for this long.
STUCK_AFTER = 30.0
#: Temporal counts as reachable while one of the last three checks answered.
TEMPORAL_STALE_AFTER = 3 * CHECK_EVERY + 1


class WorkerHealth:
    """What the worker's loop last saw, and the two verdicts the probes serve."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._beat_at: float | None = None
        self._temporal_ok_at: float | None = None
        self._temporal_problem = "Temporal has not been asked yet"
        self._polling: Callable[[], bool] | None = None
        self._stopping = False

    def beat(self) -> None:
        """The loop is turning (called by ``watch``; tests call it directly)."""
        self._beat_at = self._clock()

    def temporal_answered(self, ok: bool, problem: str = "") -> None:
        """Record one health check of Temporal."""
        if ok:
            self._temporal_ok_at = self._clock()
        else:
            self._temporal_problem = problem

    def stopping(self) -> None:
        """A graceful stop began: not ready any more, but still live until the process ends."""
        self._stopping = True

    def live(self) -> tuple[bool, str]:
        """Whether the process is worth keeping, and why not."""
        if self._beat_at is not None and self._clock() - self._beat_at > STUCK_AFTER:
            return False, f"the event loop has not turned for {self._clock() - self._beat_at:.0f}s"
        if self._polling is not None and not self._polling() and not self._stopping:
            return False, "the Temporal worker stopped by itself"
        return True, "ok"

    def ready(self) -> tuple[bool, str]:
        """Whether the worker is doing its job: live, polling, and Temporal reachable."""
        live, why = self.live()
        if not live:
            return False, why
        if self._stopping:
            return False, "shutting down"
        if self._polling is None or not self._polling():
            return False, "the worker is not polling yet"
        if self._temporal_ok_at is None or self._clock() - self._temporal_ok_at > TEMPORAL_STALE_AFTER:
            return False, f"Temporal is not answering: {self._temporal_problem}"
        return True, "ok"

    async def watch(self, client: Client, polling: Callable[[], bool], every: float = CHECK_EVERY) -> None:
        """Beat and check Temporal every ``every`` seconds until cancelled; ``polling`` says whether the
        Temporal worker runs."""
        self._polling = polling
        while True:
            self.beat()
            try:
                ok = await client.service_client.check_health(timeout=timedelta(seconds=every))
                self.temporal_answered(ok, "" if ok else "its health check says it is not serving")
            except Exception as error:  # whatever the failure, Temporal did not answer
                self.temporal_answered(False, str(error) or type(error).__name__)
            await asyncio.sleep(every)
