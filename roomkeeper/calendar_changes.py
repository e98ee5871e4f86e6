"""The ``ApplyMeetingChanges`` activity: a calendar sync's starts, moves and cancels, made on Temporal.

A calendar feed is a door into meetings like the API and the CLI, so its changes go through the same
``MeetingClient``; this activity is where CalendarFeedWorkflow (which decides *what* changes) reaches it.
Every change is idempotent: starting an occurrence's meeting twice finds the first, moving it to where
it already is changes nothing, cancelling a finished meeting is reported, not an error. One change
failing never stops the others; each result says what happened.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from roomkeeper.meeting_client import (
    MeetingClient,
    MeetingError,
    MeetingNotFound,
    MeetingRejected,
    SpecConflict,
    TemporalUnavailable,
)
from workflows.calendar_models import ChangeBatch, ChangeKind, ChangeResult, ChangeResults, MeetingChange
from workflows.meeting_control import RescheduleRequest

log = logging.getLogger(__name__)

#: Changes in flight at once (each is one or two calls to Temporal).
CONCURRENCY = 8
#: The rejection the meeting gives a new start once its room is open (workflows/meeting.py).
_ONLY_THE_END = "only end_time can change now"


class CalendarChangeActivities:
    def __init__(self, meetings: MeetingClient) -> None:
        self._meetings = meetings

    @activity.defn(name="ApplyMeetingChanges")
    async def apply(self, batch: ChangeBatch) -> ChangeResults:
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(change: MeetingChange) -> ChangeResult:
            async with limit:
                return await self._apply(change)

        results = await asyncio.gather(*(one(change) for change in batch.changes))
        if any(r.message and r.message.startswith("Temporal did not answer") for r in results):
            # Temporal itself is failing: retry the batch (every change is idempotent) rather than
            # record a sync that changed nothing as if the meetings had refused.
            raise ApplicationError("Temporal did not answer some of the changes", type="TemporalUnavailable")
        return ChangeResults(results=list(results))

    async def _apply(self, change: MeetingChange) -> ChangeResult:
        try:
            note = await self._make(change)
        except TemporalUnavailable as error:
            return ChangeResult(meeting_id=change.meeting_id, kind=change.kind, ok=False, message=str(error))
        except MeetingError as error:
            log.info("calendar change %s %s refused: %s", change.kind.value, change.meeting_id, error)
            return ChangeResult(meeting_id=change.meeting_id, kind=change.kind, ok=False, message=str(error))
        return ChangeResult(meeting_id=change.meeting_id, kind=change.kind, ok=True, message=note)

    async def _make(self, change: MeetingChange) -> str | None:
        meetings = self._meetings
        if change.kind is ChangeKind.START:
            assert change.spec is not None
            try:
                scheduled = await meetings.schedule(change.spec, memo=change.memo, restart_if_closed=True)
            except SpecConflict as conflict:
                if conflict.state != "running":
                    raise
                # The feed's record was lost (the feed removed and added again): move the meeting there.
                return await self._move(change.meeting_id, change.spec.start_time, change.spec.end_time)
            return None if scheduled.created else "already scheduled"
        if change.kind is ChangeKind.RESCHEDULE:
            assert change.start_time is not None and change.end_time is not None
            try:
                return await self._move(change.meeting_id, change.start_time, change.end_time)
            except MeetingNotFound:
                raise MeetingRejected("the meeting no longer exists") from None
        await meetings.cancel(change.meeting_id, change.reason)
        return None

    async def _move(self, meeting_id: str, start: datetime, end: datetime) -> str | None:
        try:
            await self._meetings.reschedule(meeting_id, RescheduleRequest(start_time=start, end_time=end))
        except MeetingRejected as rejected:
            if _ONLY_THE_END not in str(rejected):
                raise
            # The room is open: a live room is never moved, only its end (the calendar convention).
            await self._meetings.reschedule(meeting_id, RescheduleRequest(end_time=end))
            return "the room is open: only the end moved"
        return None
