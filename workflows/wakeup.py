"""How MeetingWorkflow's handlers wake its main loop, without a flag that must be cleared on the right line.

Handlers ``ring()``. The loop takes a ``mark()`` before it looks at state and sleeps with that mark: a
ring that came after the mark (while the loop was busy, even inside an activity) cuts the sleep short.
Nothing is ever cleared, so a ring cannot be lost; the worst a misplaced mark can do is wake the loop
once for nothing.

With ``keep_timer`` the durable timer outlives a ring: a signal then costs its workflow task and
nothing else, and the timer is cancelled and started again only when the deadline itself moves. (A
``wait_condition`` with a timeout starts a timer per wait and cancels it when a ring ends the wait:
two more history events for every signal.)
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow


class Wakeup:
    """Rings from handlers, and the main loop's sleeps that a ring cuts short."""

    def __init__(self) -> None:
        self._rings = 0
        self._timer: asyncio.Task[None] | None = None
        self._timer_at: datetime | None = None

    def ring(self) -> None:
        self._rings += 1

    def mark(self) -> int:
        return self._rings

    async def sleep_until(self, when: datetime, mark: int, summary: str, *, keep_timer: bool = False) -> None:
        """Sleep until ``when`` (a durable timer named ``summary``) or a ring after ``mark``.

        ``keep_timer``: the timer stays running when a ring ends the sleep, and the next sleep until the
        same ``when`` waits on it again instead of starting another.
        """
        delay = when - workflow.now()
        if delay <= timedelta(0):
            return
        if not keep_timer:
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._rings != mark, timeout=delay, timeout_summary=summary
                )
            return
        if self._timer is None or self._timer.done() or self._timer_at != when:
            self.cancel_timer()
            self._timer = asyncio.create_task(workflow.sleep(delay, summary=summary))
            self._timer_at = when
        timer = self._timer
        await workflow.wait_condition(lambda: self._rings != mark or timer.done())

    def cancel_timer(self) -> None:
        """Cancel the kept timer, if one is running (its deadline moved, or nothing waits for it now)."""
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._timer, self._timer_at = None, None
