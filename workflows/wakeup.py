"""How MeetingWorkflow's handlers wake its main loop, without a flag that must be cleared on the right line.

Handlers ``ring()``. The loop takes a ``mark()`` before it looks at state and sleeps with that mark: a
ring that came after the mark (while the loop was busy, even inside an activity) cuts the sleep short.
Nothing is ever cleared, so a ring cannot be lost; the worst a misplaced mark can do is wake the loop
once for nothing.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow


class Wakeup:
    def __init__(self) -> None:
        self._rings = 0

    def ring(self) -> None:
        self._rings += 1

    def mark(self) -> int:
        return self._rings

    async def sleep_until(self, when: datetime, mark: int, summary: str) -> None:
        """Sleep until ``when`` (a durable timer named ``summary``) or a ring after ``mark``."""
        delay = when - workflow.now()
        if delay <= timedelta(0):
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._rings != mark, timeout=delay, timeout_summary=summary)
