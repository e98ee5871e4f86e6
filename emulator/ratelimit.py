"""Twilio's per-account REST quotas as token buckets: 80 reads/s and 20 writes/s by default."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per second, holding at most one second's worth (so bursts up to ``rate``)."""

    def __init__(self, rate: float, now: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._now = now
        self._tokens = rate
        self._updated = now()

    def try_take(self) -> float | None:
        """Take a token; None if granted, else the seconds until one is available."""
        now = self._now()
        self._tokens = min(self.rate, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return (1 - self._tokens) / self.rate


class RateLimiter:
    def __init__(self, reads_per_second: float, writes_per_second: float, enabled: bool = True) -> None:
        self.enabled = enabled
        self._buckets = {"read": TokenBucket(reads_per_second), "write": TokenBucket(writes_per_second)}

    def check(self, kind: str) -> int | None:
        """None if the request may go ahead, else the Retry-After seconds (a whole number, at least 1)."""
        if not self.enabled:
            return None
        wait = self._buckets[kind].try_take()
        return None if wait is None else max(1, math.ceil(wait))
