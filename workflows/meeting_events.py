"""MeetingWorkflow's lifecycle events: the outbox, the sender that empties it in order, and the warnings.

Events are queued by whatever happened (the main loop, an update handler) and delivered one at a time,
in order, by a sender running beside the main loop: a slow or dead receiver delays the next event, never
the room. Each event keeps its id across retries and across continue-as-new (the outbox is carried), so
a receiver that failed to answer may get one again, with the same ``webhook-id``.

Warnings (``meeting.ending_soon``, ``participant.eviction_soon``) are due at a moment minus each offset.
When the main loop looks and several of a deadline's moments have passed unsent (a meeting shorter than
its first offset, a worker that was down), only the nearest one is sent: one accurate warning, not a
burst of stale ones. A warning still queued when the moment it announces has passed, or when the
meeting was ended or cancelled, is dropped unsent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.meeting_events import MeetingEventActivities
    from activities.policy import EVENT_DELIVERY_CALL, describe
    from common.event_endpoints import shown
    from common.meeting_events import MeetingEvent, MeetingEventDelivery, MeetingEventType
    from workflows.meeting_status import EventsStatus

#: Warning keys remembered (sent or skipped); the oldest are forgotten first.
WARNED_LIMIT = 200
WARNINGS = frozenset({MeetingEventType.ENDING_SOON, MeetingEventType.EVICTION_SOON})


class EventsState(BaseModel):
    """Where the meeting's events go and how delivery went, carried across continue-as-new."""

    receiver: str | None = None
    why_none: str | None = None
    outbox: list[MeetingEvent] = Field(default_factory=list)
    #: Warnings sent or passed over, as ``type/key/moment`` (see ``due_warning``).
    warned: list[str] = Field(default_factory=list)
    delivered: int = 0
    failed: int = 0
    last_failure: str | None = None

    def status(self) -> EventsStatus:
        return EventsStatus(
            receiver=shown(self.receiver) if self.receiver else None,
            why_none=self.why_none,
            delivered=self.delivered,
            failed=self.failed,
            pending=len(self.outbox),
            last_failure=self.last_failure,
        )


@dataclass(frozen=True)
class Warnings:
    """The warnings of ``kind`` about one ``deadline`` of one ``subject`` (the meeting's end, or a
    participant's eviction), ``offsets`` minutes before it."""

    kind: MeetingEventType
    subject: str
    deadline: datetime
    offsets: Sequence[int]

    def _unsent(self, state: EventsState) -> list[tuple[int, datetime]]:
        return [
            (offset, self.deadline - timedelta(minutes=offset))
            for offset in self.offsets
            if self._key(offset) not in state.warned
        ]

    def _key(self, offset: int) -> str:
        return f"{self.kind.value}/{self.subject}/{offset}/{self.deadline.isoformat()}"

    def due(self, state: EventsState, now: datetime) -> int | None:
        """The offset (minutes) of the warning to send now, if any; every passed one is marked, so
        it is not sent later."""
        if now >= self.deadline:
            return None
        passed = [offset for offset, moment in self._unsent(state) if now >= moment]
        if not passed:
            return None
        state.warned += [self._key(offset) for offset in passed]
        del state.warned[:-WARNED_LIMIT]
        return min(passed)

    def next_at(self, state: EventsState, now: datetime) -> datetime | None:
        """When the next warning is due (after ``now``), or None."""
        return min((moment for _, moment in self._unsent(state) if moment > now), default=None)


class EventSender:
    """Queues events and delivers them, in order, with the ``DeliverMeetingEvent`` activity."""

    def __init__(self, state: EventsState, *, record: Any) -> None:
        self._state = state
        self._record = record
        self._in_flight = False

    @property
    def on(self) -> bool:
        return self._state.receiver is not None

    def emit(self, kind: MeetingEventType, data: dict[str, Any]) -> None:
        """Queue an event of ``kind`` happening now (nothing if the meeting sends no events)."""
        if self._state.receiver is None:
            return
        event = MeetingEvent(id=f"msg_{workflow.uuid4().hex}", type=kind, timestamp=workflow.now(), data=data)
        self._state.outbox.append(event)

    def drop_warnings(self) -> None:
        """Drop queued warnings (the meeting is ending: there is nothing left to warn about)."""
        keep = self._state.outbox[:1] if self._in_flight else []
        rest = self._state.outbox[len(keep) :]
        self._state.outbox[:] = keep + [event for event in rest if event.type not in WARNINGS]

    async def run(self) -> None:
        """Deliver queued events for as long as the workflow runs."""
        while True:
            await workflow.wait_condition(lambda: bool(self._state.outbox))
            event = self._state.outbox[0]
            receiver = self._state.receiver
            if receiver is None or self._stale(event):
                self._state.outbox.pop(0)
                continue
            self._in_flight = True
            call = dict(EVENT_DELIVERY_CALL)
            if (moment := self._announces(event)) is not None:
                # A warning is worth delivering only until the moment it announces: no retry after it.
                call["schedule_to_close_timeout"] = moment - workflow.now()
            try:
                await workflow.execute_activity_method(
                    MeetingEventActivities.deliver,
                    MeetingEventDelivery(url=receiver, event=event),
                    summary=f"event {event.type.value}",
                    **call,
                )
                self._state.delivered += 1
            except ActivityError as error:
                self._state.failed += 1
                self._state.last_failure = f"{event.type.value}: {describe(error)}"
                self._record(f"lifecycle event {event.type.value} not delivered: {describe(error)}")
            finally:
                self._in_flight = False
                self._state.outbox.pop(0)

    async def drain(self) -> None:
        """Wait until every queued event is delivered or given up on (each has a bounded budget)."""
        await workflow.wait_condition(lambda: not self._state.outbox)

    @classmethod
    def _stale(cls, event: MeetingEvent) -> bool:
        """A warning whose moment has passed announces nothing any more."""
        moment = cls._announces(event)
        return moment is not None and moment <= workflow.now()

    @staticmethod
    def _announces(event: MeetingEvent) -> datetime | None:
        """The moment a warning announces (the end, an eviction); None for other events."""
        if event.type not in WARNINGS:
            return None
        moment = event.data.get("end_time" if event.type is MeetingEventType.ENDING_SOON else "evict_at")
        return datetime.fromisoformat(moment) if isinstance(moment, str) else None
