"""Time sources for the emulator.

Timestamps (``date_created``, ``Timestamp``...) come from ``now()``. Lifecycle timers (unused/empty
room timeouts, maximum participant duration, room lifetime) are measured on ``monotonic()`` and can be
sped up: with a time scale N, a five-minute timeout fires after 300/N real seconds while timestamps stay
real wall-clock time. ``ManualClock`` stops time altogether until a test advances it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    #: Whether real time passing moves this clock (False for a manual clock).
    runs_by_itself: bool

    def now(self) -> datetime:
        """Wall-clock time for timestamps (timezone-aware, UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds on the timer time line."""
        ...

    def timer_delay(self, seconds: float) -> float:
        """How far ahead on ``monotonic()`` a timer of ``seconds`` emulated seconds fires."""
        ...


class SystemClock:
    """Real time, with timers optionally running ``time_scale`` times faster."""

    runs_by_itself = True

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError(f"time scale must be positive, got {time_scale}")
        self.time_scale = time_scale

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def timer_delay(self, seconds: float) -> float:
        return seconds / self.time_scale


class ManualClock:
    """A clock that moves only when ``advance`` is called; for deterministic tests."""

    runs_by_itself = False

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime.now(UTC)
        self._elapsed = 0.0

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    def timer_delay(self, seconds: float) -> float:
        return seconds

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a manual clock only moves forward")
        self._elapsed += seconds
