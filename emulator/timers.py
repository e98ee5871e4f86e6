"""One heap of named deadlines, fired in order by a single task.

A key names what the timer is for (``("unused", room_sid)``); scheduling the same key again moves the
deadline, cancelling drops it. Stale heap entries are skipped lazily, so both are O(log n).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
from collections.abc import Callable, Hashable

from emulator.clock import Clock

log = logging.getLogger(__name__)

TimerKey = Hashable


class Timers:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, TimerKey]] = []
        self._live: dict[TimerKey, tuple[int, Callable[[], None]]] = {}
        self._counter = itertools.count()
        self._changed = asyncio.Event()
        #: The ``monotonic()`` time ``run`` sleeps until (infinity: until told); a timer due later
        #: need not wake it, which spares a wake-up for nearly every room created.
        self._sleeps_until = math.inf

    def schedule(self, key: TimerKey, seconds: float, action: Callable[[], None]) -> None:
        """Run ``action`` once ``seconds`` of emulated time have passed (replacing any timer ``key``)."""
        due = self._clock.monotonic() + self._clock.timer_delay(seconds)
        token = next(self._counter)
        self._live[key] = (token, action)
        heapq.heappush(self._heap, (due, token, key))
        if due < self._sleeps_until:
            self._changed.set()

    def cancel(self, key: TimerKey) -> None:
        self._live.pop(key, None)

    def clear(self) -> None:
        self._heap.clear()
        self._live.clear()

    def __len__(self) -> int:
        return len(self._live)

    def fire_due(self) -> int:
        """Run every action whose deadline has passed, in deadline order; returns how many ran."""
        fired = 0
        now = self._clock.monotonic()
        while self._heap and self._heap[0][0] <= now:
            _, token, key = heapq.heappop(self._heap)
            live = self._live.get(key)
            if live is None or live[0] != token:
                continue
            del self._live[key]
            try:
                live[1]()
            except Exception:
                log.exception("emulator timer %r failed", key)
            fired += 1
        return fired

    def _next_delay(self) -> float | None:
        while self._heap:
            due, token, key = self._heap[0]
            live = self._live.get(key)
            if live is None or live[0] != token:
                heapq.heappop(self._heap)
                continue
            return max(0.0, due - self._clock.monotonic())
        return None

    async def run(self) -> None:
        """Fire timers as real time passes. With a manual clock only ``advance`` + ``fire_due`` do."""
        while True:
            delay = self._next_delay() if self._clock.runs_by_itself else None
            self._sleeps_until = math.inf if delay is None else self._clock.monotonic() + delay
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=delay)
            if self._clock.runs_by_itself:
                self.fire_due()
