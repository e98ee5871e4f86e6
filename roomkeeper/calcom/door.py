"""The Cal.com door: each verified delivery becomes at most one change to one meeting per booking series.

- ``BOOKING_CREATED`` and ``BOOKING_RESCHEDULED`` say "the series is now this booking, at revision
  ``iCalSequence``": the meeting is started, moved, or (when its last run is over and the booking is
  newer) started again under the same id. ``iCalSequence`` orders them, so a repeated or late delivery
  changes nothing: a start that exists with the same input is recognised, an older reschedule is
  ``StaleRevision`` in the workflow, and an older booking never restarts a finished meeting.
- ``BOOKING_CANCELLED`` (also the host's "request reschedule") cancels the meeting; one that overtook
  its booking's creation starts the meeting already cancelled, so the late creation finds it over.
- ``BOOKING_REQUESTED`` waits for the host (who confirms with a ``BOOKING_CREATED``); everything else is
  acknowledged and ignored.

A reschedule of a meeting whose room is open cannot move its start: if the new opening time has come,
only the end moves; if it is later, the meeting ends now ("rescheduled to …") and a new run of the same
workflow id waits for the new window. One workflow id per series, one room at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from temporalio.client import WorkflowContinuedAsNewError, WorkflowFailureError
from temporalio.service import RPCError

from roomkeeper.calcom.bookings import meeting_id_for, memo_for, spec_for
from roomkeeper.calcom.event_types import EventTypes
from roomkeeper.calcom.payload import Booked, Cancelled, Delivery, Trigger, booking
from roomkeeper.meeting_client import (
    MeetingClient,
    MeetingNotFound,
    MeetingRejected,
    SpecConflict,
    TemporalUnavailable,
    workflow_id,
)
from workflows.meeting_control import CancelRequest, RescheduleRequest
from workflows.meeting_input import MeetingSpec, explain
from workflows.meeting_status import TERMINAL_PHASES, Phase

#: How often a delivery looks again when the meeting changed under it (another delivery, a room opening).
ATTEMPTS = 4
#: How long a delivery waits for a meeting it ended (or found ending) to close before starting it again.
CLOSE_WAIT = timedelta(seconds=15)
_REASON_LIMIT = 500


@dataclass(frozen=True)
class Outcome:
    """What a delivery did, for the response and the log line."""

    #: HTTP status: 200 done (or nothing to do), 409 the meeting refused, 422 no meeting can be made,
    #: 503 try again.
    status_code: int
    #: One word: started, restarted, unchanged, rescheduled, replaced, stale, cancelled, ignored,
    #: rejected, unservable, busy.
    outcome: str
    meeting_id: str | None = None
    detail: str = ""

    def body(self, trigger: str) -> dict[str, Any]:
        """The response: what happened, and for a refusal ``error`` (as every gateway refusal says it)."""
        shown: dict[str, Any] = {"trigger": trigger, "outcome": self.outcome}
        if self.meeting_id is not None:
            shown["meeting_id"] = self.meeting_id
            shown["workflow_id"] = workflow_id(self.meeting_id)
        if self.detail:
            shown["error" if self.status_code >= 400 else "detail"] = self.detail
        return shown


class _SeriesLocks:
    """One delivery at a time per booking series in this process: Temporal's own conflict rules keep
    several gateways right, but serialising here spares them the retries."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def held(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]  # nobody waits: forget it, so the table holds only live series
            else:
                self._locks[key] = (lock, users - 1)


def _now() -> datetime:
    return datetime.now(UTC)


class CalcomDoor:
    """Applies verified deliveries to the meetings of ``meetings``."""

    def __init__(
        self,
        meetings: MeetingClient,
        event_types: EventTypes | None = None,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._meetings = meetings
        self._event_types = event_types or EventTypes()
        self._now = clock
        self._locks = _SeriesLocks()

    async def deliver(self, delivery: Delivery) -> Outcome:
        """Apply ``delivery``. Raises ``BadPayload`` (400) and ``TemporalUnavailable`` (503)."""
        trigger = delivery.trigger
        if trigger in (Trigger.BOOKING_CREATED, Trigger.BOOKING_RESCHEDULED):
            booked = booking(Booked, delivery)
            async with self._locks.held(booked.ical_uid):
                return await self._booked(booked)
        if trigger == Trigger.BOOKING_CANCELLED:
            cancelled = booking(Cancelled, delivery)
            async with self._locks.held(cancelled.ical_uid):
                return await self._cancelled(cancelled)
        if trigger == Trigger.BOOKING_REQUESTED:
            return Outcome(
                200,
                "ignored",
                detail="a booking that needs the host's confirmation: its meeting starts when Cal.com sends "
                "BOOKING_CREATED on confirmation",
            )
        return Outcome(200, "ignored", detail=f"roomkeeper does nothing on {trigger}")

    # ----------------------------------------------------------------------- booked or moved

    async def _booked(self, booked: Booked) -> Outcome:
        try:
            spec = spec_for(booked, self._event_types, revision=booked.ical_sequence)
        except ValidationError as error:
            return Outcome(
                422,
                "unservable",
                meeting_id_for(booked.ical_uid),
                f"no meeting can be made of booking {booked.uid!r}: {explain(error)}",
            )
        if spec.end_time <= self._now():
            return Outcome(
                200,
                "ignored",
                spec.meeting_id,
                f"the booking ended at {spec.end_time.isoformat()}: no window is left to open a room in",
            )
        memo = memo_for(booked)
        for _ in range(ATTEMPTS):
            try:
                scheduled = await self._meetings.schedule(spec, memo=memo)
            except SpecConflict as conflict:
                running = conflict.state == "running"
                done = await (
                    self._move(spec, memo) if running else self._restart(spec, memo, conflict.state)
                )
                if done is not None:
                    return done
                continue  # the meeting changed under this delivery: look again
            if scheduled.created:
                return Outcome(200, "started", spec.meeting_id, self._window(spec))
            return Outcome(
                200, "unchanged", spec.meeting_id, "the meeting was already started with this booking"
            )
        return self._busy(spec.meeting_id)

    async def _move(self, spec: MeetingSpec, memo: dict[str, Any]) -> Outcome | None:
        """Apply a newer booking to the running meeting; None to look again."""
        meeting_id, revision = spec.meeting_id, spec.revision
        assert revision is not None  # a booking always has one
        try:
            status = await self._meetings.status(meeting_id)
        except MeetingNotFound:
            return None
        if status.revision is not None and revision <= status.revision:
            return self._stale(meeting_id, revision, status.revision)
        if status.phase in TERMINAL_PHASES or status.phase is Phase.CLOSING:
            await self._until_closed(meeting_id)
            return None
        if status.phase is Phase.SCHEDULED:
            change = RescheduleRequest(start_time=spec.start_time, end_time=spec.end_time, revision=revision)
            detail = self._window(spec)
        elif spec.open_at <= self._now():
            # The room the new window needs is the one already open: keep it, move only the end.
            change = RescheduleRequest(end_time=spec.end_time, revision=revision)
            detail = (
                f"the room is {status.phase.value}: it stays, and the meeting now ends at "
                f"{spec.end_time.isoformat()}"
            )
        else:
            return await self._replace(spec, memo)
        try:
            await self._meetings.reschedule(meeting_id, change)
        except MeetingRejected as rejected:
            if rejected.kind == "StaleRevision":
                return Outcome(200, "stale", meeting_id, str(rejected))
            # The room may have begun opening since the status was read: look again if anything moved.
            now = await self._meetings.status(meeting_id)
            if (now.phase, now.revision) != (status.phase, status.revision):
                return None
            return Outcome(409, "rejected", meeting_id, f"the meeting refused the change: {rejected}")
        return Outcome(200, "rescheduled", meeting_id, detail)

    async def _replace(self, spec: MeetingSpec, memo: dict[str, Any]) -> Outcome | None:
        """End the open meeting now and start a new run of it for the new window, which opens later.

        ``end_now`` carries no revision: the revision was read just before, and this process applies
        one delivery per series at a time. A known gap: with several gateways, a newer change that
        another one applies in between is ended with the meeting, and this older window replaces it.
        """
        reason = f"rescheduled to {spec.start_time.isoformat()}"
        # Already ending or over is fine too: either way it closes, and then the new run starts.
        with contextlib.suppress(MeetingRejected):
            await self._meetings.end(spec.meeting_id, reason, wait=CLOSE_WAIT)
        await self._until_closed(spec.meeting_id)
        try:
            await self._meetings.schedule(spec, memo=memo, restart_if_closed=True)
        except SpecConflict:
            return None  # another delivery started a run meanwhile: look again
        return Outcome(
            200,
            "replaced",
            spec.meeting_id,
            f"the open meeting ended ({reason}); a new run of it: {self._window(spec)}",
        )

    async def _restart(self, spec: MeetingSpec, memo: dict[str, Any], state: str) -> Outcome | None:
        """A newer booking of a series whose meeting is over starts a new run of the same workflow id
        (a reschedule that replaced an open meeting, an attendee's new booking after the host asked for
        a reschedule); an older or equal one changes nothing."""
        meeting_id, revision = spec.meeting_id, spec.revision
        assert revision is not None
        ended_at = await self._revision_of(meeting_id)
        if ended_at is not None and revision <= ended_at:
            return Outcome(
                200,
                "stale",
                meeting_id,
                f"the meeting is over ({state}) at revision {ended_at}; revision {revision} is not newer",
            )
        try:
            scheduled = await self._meetings.schedule(spec, memo=memo, restart_if_closed=True)
        except SpecConflict:
            return None  # another delivery started it meanwhile
        if not scheduled.created:
            return Outcome(200, "unchanged", meeting_id, "the meeting was already started with this booking")
        return Outcome(200, "restarted", meeting_id, f"a new run of the meeting: {self._window(spec)}")

    async def _revision_of(self, meeting_id: str) -> int | None:
        """The revision a finished meeting ended at (its status query answers after the end too)."""
        try:
            return (await self._meetings.status(meeting_id)).revision
        except MeetingRejected:
            return None  # a run that failed on its input reflects no booking

    async def _until_closed(self, meeting_id: str) -> None:
        """Wait (bounded) until the meeting's run has finished, however it ends."""
        handle = self._meetings.temporal.get_workflow_handle(workflow_id(meeting_id))
        try:
            await asyncio.wait_for(handle.result(follow_runs=False), CLOSE_WAIT.total_seconds())
        except TimeoutError:
            raise TemporalUnavailable(
                f"meeting {meeting_id!r} did not finish within {CLOSE_WAIT.total_seconds():g} s"
            ) from None
        except (WorkflowFailureError, WorkflowContinuedAsNewError):
            return  # failed, cancelled, terminated or continued: finished is all that matters here
        except RPCError as error:
            raise TemporalUnavailable(f"Temporal did not answer: {error.message}") from None

    # ------------------------------------------------------------------------------ cancel

    async def _cancelled(self, cancelled: Cancelled) -> Outcome:
        meeting_id = meeting_id_for(cancelled.ical_uid)
        # Cal.com's cancel carries the cancelled booking's iCalSequence plus one (handleCancelBooking,
        # the request-reschedule handler): it cancels that booking's revision, one lower.
        sequence = cancelled.ical_sequence
        request = CancelRequest(
            reason=self._cancel_reason(cancelled), revision=None if sequence is None else max(0, sequence - 1)
        )
        try:
            # Only a cancel that knows its revision may stand in for a booking that has not arrived: one
            # without could not tell that booking's late create from a newer one.
            spec = None if request.revision is None else self._cancelled_spec(cancelled, request.revision)
            if spec is None:
                await self._meetings.cancel(meeting_id, request.reason, revision=request.revision)
            else:
                await self._meetings.schedule_cancelled(spec, request, memo=memo_for(cancelled))
        except MeetingNotFound:
            return Outcome(200, "ignored", meeting_id, "no meeting was started for this booking")
        except MeetingRejected as rejected:
            return Outcome(200, "ignored", meeting_id, str(rejected))
        what = (
            "the host asked for a new time" if cancelled.request_reschedule else "the booking was cancelled"
        )
        return Outcome(
            200,
            "cancelled",
            meeting_id,
            f"{what}: cancel sent (revision {request.revision}; a cancel older than the meeting is ignored)"
            if request.revision is not None
            else f"{what}: cancel sent",
        )

    def _cancelled_spec(self, cancelled: Cancelled, revision: int) -> MeetingSpec | None:
        """The meeting the cancelled booking would have had, to start it cancelled if it was never
        started; None when there is no window left (a late booking would not start it either)."""
        if cancelled.end_time is None or cancelled.end_time <= self._now():
            return None
        try:
            return spec_for(cancelled, self._event_types, revision=revision)
        except ValidationError:
            return None  # no meeting could be made of it, so none can be started late either

    @staticmethod
    def _cancel_reason(cancelled: Cancelled) -> str:
        if cancelled.request_reschedule:
            reason = "Cal.com: the host asked the attendee to book a new time"
        else:
            reason = "Cal.com: booking cancelled"
        if cancelled.cancellation_reason:
            reason += f" ({cancelled.cancellation_reason})"
        return reason[:_REASON_LIMIT]

    # ------------------------------------------------------------------------------ words

    @staticmethod
    def _window(spec: MeetingSpec) -> str:
        return (
            f"{spec.start_time.isoformat()} to {spec.end_time.isoformat()} at revision {spec.revision}; "
            f"the room opens at {spec.open_at.isoformat()}"
        )

    @staticmethod
    def _stale(meeting_id: str, revision: int, current: int) -> Outcome:
        return Outcome(
            200,
            "stale",
            meeting_id,
            f"revision {revision} is not newer than the meeting's revision {current}; nothing changed",
        )

    @staticmethod
    def _busy(meeting_id: str) -> Outcome:
        return Outcome(
            503,
            "busy",
            meeting_id,
            "the meeting kept changing while this delivery was applied; delivering it again is safe",
        )
