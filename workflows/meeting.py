"""MeetingWorkflow: one scheduled meeting's room, from before its start to after its end.

The story: wait for the opening time, create the room, watch it (status callbacks and the
reconciler's observations arrive as ``room_event`` signals), evict whoever overstays, and complete the
room at the end. ``reschedule``, ``extend`` and ``end_now`` (updates) and ``cancel`` (signal) change the
story while it runs. All I/O is in activities; everything here is deterministic.

Handlers only record what was asked and wake the main loop; the main loop alone changes the room, so
there are no races between handlers and no awaits under shared state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, NoReturn, TypeVar

import pydantic
from temporalio import workflow
from temporalio.common import SearchAttributePair, SearchAttributeUpdate, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.meeting_events import DefaultsRequest, MeetingDefaults, MeetingEventActivities
    from activities.outcome import MeetingOutcome, record_meeting_outcome
    from activities.policy import BOOKKEEPING_CALL, DEFAULTS_CALL, describe, paced_writes_queue
    from activities.rooms import (
        CompleteRoomRequest,
        CreatedRoom,
        CreateRoomRequest,
        ListParticipantsRequest,
        ParticipantRef,
        RoomActivities,
        RoomRef,
    )
    from common.extend_policy import Caps, caps_for, refusal
    from common.lifecycle import Step, fields
    from common.meeting_events import MeetingEventType
    from common.room_events import ROOM_MEMO, RoomEvent, RoomEventKind, RoomMemo, roster_digest
    from common.search_attributes import MEETING_END, MEETING_START, MEETING_STATUS, ROOM_SID
    from twilio_video import limits
    from twilio_video.models import Participant, RoomStatus
    from twilio_video.params import CreateRoomParams
    from workflows.meeting_control import CancelRequest, EndRequest, ExtendRequest, RescheduleRequest
    from workflows.meeting_events import EventSender, Warnings
    from workflows.meeting_input import EventsSpec, MeetingSpec, RoomEndsEarly, explain
    from workflows.meeting_state import ContinuedMeeting, MeetingInput, MeetingState
    from workflows.meeting_status import (
        TERMINAL_PHASES,
        ConnectedParticipant,
        EndedBy,
        Eviction,
        ExtendLimits,
        Extension,
        HistoryEntry,
        MeetingStatus,
        MeetingSummary,
        Phase,
    )
    from workflows.patches import Patch
    from workflows.rejections import parse, reject, stale
    from workflows.roster import Roster
    from workflows.twilio_rounds import GaveUp, TwilioRounds
    from workflows.wakeup import Wakeup

HISTORY_LIMIT = 100
#: A safety valve on the ``recreate`` policy: a meeting never burns through more rooms than this.
MAX_ROOMS_PER_MEETING = 100
#: A room that ends with less than this left of the meeting is not replaced: nobody can use it.
MIN_WINDOW_FOR_A_NEW_ROOM = timedelta(minutes=1)
#: What an absent ``max_participant_duration`` meant before ``Patch.NO_EVICTION_BY_DEFAULT``: meetings
#: started by that code keep evicting after an hour.
OLD_DEFAULT_PARTICIPANT_DURATION = timedelta(seconds=3600)

T = TypeVar("T")
A = TypeVar("A")


def search_attributes_for(spec: MeetingSpec) -> TypedSearchAttributes:
    """What a starter puts on a new meeting workflow (the workflow keeps them current after)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(MEETING_STATUS, Phase.SCHEDULED.value),
            SearchAttributePair(MEETING_START, spec.start_time),
            SearchAttributePair(MEETING_END, spec.end_time),
        ]
    )


@workflow.defn(name="MeetingWorkflow", failure_exception_types=[pydantic.ValidationError])
class MeetingWorkflow:
    @workflow.init
    def __init__(self, meeting: Any = None, *extra: Any) -> None:
        # Set up here, not in run: signals and updates can arrive in the very first activation.
        # The input is validated here rather than by the data converter, so that a bad one fails the
        # run with the field named (and the status query says why) instead of failing workflow tasks.
        self._wakeup = Wakeup()
        self._end_requested = False
        self._cancel_requested = False
        self._invalid: str | None = None
        self._state = MeetingState()
        self._continued = False
        #: The eviction duration when the spec gives none; run() decides (``Patch.COVER_THE_WINDOW``).
        self._default_duration: timedelta | None = OLD_DEFAULT_PARTICIPANT_DURATION
        # Which version of the story this run tells; decided once in run() (see workflows/patches.py).
        self._lean = self._paced_writes = self._cover_the_window = False
        #: The ``room`` memo as last written, so it is written only when it changes.
        self._memo: RoomMemo | None = None
        #: Lifecycle events (``workflows.meeting_events``); sends nothing until run() loads a receiver.
        self._events = EventSender(self._state.events, record=self._record)
        self._event_sender: asyncio.Task[None] | None = None
        if extra:
            self._invalid = (
                f"MeetingWorkflow takes one argument, the meeting as JSON; it was given {1 + len(extra)}"
            )
            return
        try:
            given = MeetingInput.model_validate(meeting).root
        except pydantic.ValidationError as error:
            self._invalid = (
                "MeetingWorkflow needs one argument, the meeting as JSON (meeting_id, start_time, end_time)"
                if meeting is None
                else f"invalid meeting: {explain(error)}"
            )
            return
        if isinstance(given, ContinuedMeeting):
            self._spec, self._state, self._continued = given.spec, given.carried_state, True
        else:
            self._spec = given
        self._events = EventSender(self._state.events, record=self._record)  # the carried state's

    # ------------------------------------------------------------------------------ the story

    @workflow.run
    async def run(self, meeting: Any = None, *extra: Any) -> MeetingSummary:
        """``meeting`` is a ``MeetingInput``: a ``MeetingSpec`` as JSON, or a ``ContinuedMeeting``."""
        if self._invalid is not None:
            await self._reject_input(self._invalid)
        if not self._continued:
            started = workflow.info().start_time
            if self.spec.end_time <= started and workflow.patched(Patch.REJECT_PAST_WINDOW):
                self._invalid = (
                    f"end_time {self.spec.end_time.isoformat()} had already passed when the meeting was "
                    f"started ({started.isoformat()}): there is no window left to open a room in"
                )
                await self._reject_input(self._invalid)
            self._record(f"scheduled: {self.spec.start_time.isoformat()} to {self.spec.end_time.isoformat()}")
            self._step(
                Step.MEETING_SCHEDULED,
                "meeting scheduled: %s to %s, room opens at %s",
                self.spec.start_time.isoformat(),
                self.spec.end_time.isoformat(),
                self.spec.open_at.isoformat(),
            )
        lifecycle = workflow.patched(Patch.LIFECYCLE_EVENTS)
        if lifecycle:
            # Code with this patch has the three before it: one marker says so for all four (each
            # marker costs a meeting two history events). Older histories replay through the else.
            self._lean = self._paced_writes = self._cover_the_window = True
        else:
            self._lean = workflow.patched(Patch.LEAN_HISTORY)
            self._paced_writes = workflow.patched(Patch.PACED_TWILIO_WRITES)
            self._cover_the_window = workflow.patched(Patch.COVER_THE_WINDOW)
        if self._cover_the_window:
            self._default_duration = None
        if lifecycle:
            await self._load_defaults()
            self._event_sender = asyncio.create_task(self._events.run())
            if not self._continued:
                self._emit(MeetingEventType.SCHEDULED, open_at=self.spec.open_at.isoformat())
        self._publish()

        try:
            if self._state.phase is Phase.SCHEDULED:
                await self._wait_until_open()
            if self._state.phase is Phase.OPENING:
                await self._open_room()
            if self._state.phase is Phase.OPEN:
                await self._watch_until_end()
            if self._state.phase is Phase.CLOSING:
                await self._close_room()
        except ActivityError as error:
            # A permanent error no step handled itself: fail visibly, never with a stale "open".
            if not workflow.patched(Patch.FAIL_VISIBLY):
                raise
            await self._fail(f"Twilio refused a call while {self._state.phase.value}", error)

        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._events.drain()
        return self._summary()

    async def _load_defaults(self) -> None:
        """Once per meeting: where its events go and the deployment's extend caps, from the worker's
        configuration (a local activity, so the answer is in history: replays and later config agree)."""
        if self._state.defaults_loaded:
            return
        if self._state.planned_end is None:
            self._state.planned_end = self.spec.end_time
        asked = self.spec.events or EventsSpec()
        defaults: MeetingDefaults = await workflow.execute_local_activity_method(
            MeetingEventActivities.meeting_defaults,
            DefaultsRequest(url=asked.url, enabled=asked.enabled),
            summary="the deployment's defaults",
            **DEFAULTS_CALL,
        )
        self._state.events.receiver = defaults.receiver
        self._state.events.why_none = defaults.why_none
        self._state.extend_caps = defaults.extend_caps
        self._state.defaults_loaded = True
        if defaults.receiver is None and self.spec.events is not None and asked.enabled:
            self._record(f"lifecycle events off: {defaults.why_none}")

    async def _wait_until_open(self) -> None:
        while True:
            seen = self._wakeup.mark()  # from here on, any handler's request wakes the next sleep
            spec = self.spec
            if self._cancel_requested or self._end_requested:
                await self._finish(Phase.CANCELLED if self._cancel_requested else Phase.COMPLETED)
                return
            now = workflow.now()
            if now >= spec.end_time:
                self._state.ended_by = EndedBy.WINDOW_PASSED
                self._record("the meeting window passed before a room could open")
                await self._finish(Phase.COMPLETED)
                return
            if now >= spec.open_at:
                self._set_phase(Phase.OPENING)
                return
            await self._sleep_until(spec.open_at, seen, f"open room at {spec.open_at.isoformat()}")

    async def _open_room(self) -> bool:
        """Create (or adopt) the room; False if the meeting ended instead (asked to, or out of time)."""
        spec = self.spec
        first = self._state.opened_at is None
        request = CreateRoomRequest(
            workflow_id=workflow.info().workflow_id,
            params=self._room_params(),
            scheduled_start=spec.start_time if first else None,
        )
        try:
            created: CreatedRoom = await self._twilio(
                "CreateRoom",
                RoomActivities.create_room,
                request,
                f"create room {spec.unique_name}",
                write=True,
            )
        except ActivityError as error:
            await self._fail(f"could not create room {spec.unique_name!r}", error)
        except GaveUp:
            if self._cancel_requested or self._end_requested:
                await self._finish(Phase.CANCELLED if self._cancel_requested else Phase.COMPLETED)
            else:
                trouble = self._state.trouble
                await self._fail(
                    f"could not create room {spec.unique_name!r} before the meeting's end",
                    detail=f"Twilio kept failing since {trouble.since.isoformat()}: {trouble.last_error}"
                    if trouble
                    else "out of time",
                )
            return False
        room = created.room
        self._state.room_sid = room.sid
        self._state.callbacks_flowing = False  # a new room's callbacks are unproven until one arrives
        self._state.room_sids.append(room.sid)
        if first:
            self._state.opened_at = workflow.now()
        self._record(f"room {room.sid} {'adopted' if created.adopted else 'created'}")
        if created.adopted:
            self._step(Step.ROOM_ADOPTED, "room adopted: an earlier attempt created it")
        elif first:
            self._step(Step.ROOM_OPENED, "room opened (%s)", spec.unique_name)
        else:
            self._step(
                Step.ROOM_RECREATED, "room recreated: room %d of the meeting", len(self._state.room_sids)
            )
        if created.adopted:
            # An earlier attempt's room may already have people in it.
            for participant in await self._list_connected(room.sid):
                connected_at = participant.start_time or workflow.now()
                self._log(self._roster.connect(participant.sid, participant.identity, connected_at))
        self._set_phase(Phase.OPEN)
        self._emit(MeetingEventType.ROOM_OPENED, recreated=not first, adopted=created.adopted)
        return True

    async def _watch_until_end(self) -> None:
        while True:
            # Marked before looking at state: a request that arrives while an activity below is in
            # flight must still cut the next sleep short.
            seen = self._wakeup.mark()
            room_ended = await self._apply_events()
            if self._cancel_requested or self._end_requested:
                break
            now = workflow.now()
            if now >= self.spec.end_time:
                self._state.ended_by = EndedBy.SCHEDULE
                break
            if room_ended:
                if not await self._room_ended_early():
                    return
                continue
            await self._evict_overstayers(now)
            if workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new()
            now = workflow.now()
            wake_at = min(
                self.spec.end_time,
                self._roster.next_deadline() or self.spec.end_time,
                self._warn(now) or self.spec.end_time,
            )
            self._write_room_memo()
            await self._sleep_until(wake_at, seen, self._wait_summary(wake_at))
        self._set_phase(Phase.CLOSING)

    async def _close_room(self) -> None:
        if self._state.room_sid is not None:
            try:
                await self._complete_room(self._state.room_sid)
            except ActivityError as error:
                cause = error.cause
                gone = isinstance(cause, ApplicationError) and cause.type == "NotFound"
                if gone and workflow.patched(Patch.UNKNOWN_ROOM_IS_CLOSED):
                    # Twilio forgot it (it only keeps rooms so long; an emulator restarted): it has ended.
                    self._record(f"room {self._state.room_sid} is unknown to Twilio: it has ended")
                else:
                    await self._fail(
                        f"could not complete room {self._state.room_sid}", error, close_room=False
                    )
        self._log(self._roster.disconnect_everyone())
        self._state.closed_at = workflow.now()
        self._record(f"room closed ({self._state.ended_by})")
        if self._state.room_sid is not None:
            self._step(
                Step.ROOM_COMPLETED,
                "room completed (%s)",
                self._state.ended_by,
                ended_by=self._state.ended_by,
            )
        await self._finish(Phase.CANCELLED if self._cancel_requested else Phase.COMPLETED)

    async def _complete_room(self, room_sid: str) -> None:
        """Complete the room, retrying through any outage; raises only for a permanent error."""
        ended_by = self._state.ended_by
        request = CompleteRoomRequest(
            room_sid=room_sid,
            ended_by=ended_by,
            scheduled_end=self.spec.end_time if ended_by is EndedBy.SCHEDULE else None,
        )
        await self._twilio(
            "CompleteRoom",
            RoomActivities.complete_room,
            request,
            f"complete room {room_sid}",
            after_the_end=True,
            write=True,
        )

    # ----------------------------------------------------------------------------- room events

    async def _apply_events(self) -> bool:
        """Apply queued room events in arrival order; True if the current room has ended."""
        ended = False
        while self._state.pending_events:
            event = self._state.pending_events.pop(0)
            if event.room_sid != self._state.room_sid:
                continue  # about an earlier room of this meeting: nothing to do now
            if event.source == "callback":
                self._state.callbacks_flowing = True
            kind = event.kind
            if (
                kind is RoomEventKind.PARTICIPANT_CONNECTED
                and event.participant_sid
                and event.participant_identity
            ):
                self._log(
                    self._roster.connect(event.participant_sid, event.participant_identity, event.timestamp)
                )
            elif kind is RoomEventKind.PARTICIPANT_DISCONNECTED and event.participant_sid:
                self._log(self._roster.disconnect(event.participant_sid, identity=event.participant_identity))
            elif kind is RoomEventKind.SNAPSHOT:
                news = self._roster.apply_snapshot(event.participants, event.timestamp)
                if news:  # the reconciler saw what no callback said: read this room at full rate again
                    self._state.callbacks_flowing = False
                self._log(news)
            elif kind is RoomEventKind.ROOM_ENDED:
                ended = True
            elif kind is RoomEventKind.ROOM_MISSING:
                # The account-wide listing is a strong hint, not proof: ask Twilio about this room.
                ended = await self._room_has_ended(event.room_sid) or ended
        return ended

    async def _room_has_ended(self, room_sid: str) -> bool:
        """Ask Twilio; a room it no longer knows has ended too. False if it could not say in time."""
        try:
            room = await self._twilio(
                "FetchRoom", RoomActivities.fetch_room, RoomRef(room_sid=room_sid), "confirm room ended"
            )
        except GaveUp:
            return False
        except ActivityError as error:
            cause = error.cause
            gone = isinstance(cause, ApplicationError) and cause.type == "NotFound"
            if gone and workflow.patched(Patch.UNKNOWN_ROOM_HAS_ENDED):
                self._record(f"room {room_sid} is unknown to Twilio: it has ended")
                return True
            raise
        return room.status is not RoomStatus.IN_PROGRESS

    async def _room_ended_early(self) -> bool:
        """Apply the ``if_room_ends_early`` policy; True if the meeting goes on in a new room."""
        ended_sid = self._state.room_sid
        self._log(self._roster.disconnect_everyone())
        self._record(f"room {ended_sid} ended before the meeting's end")
        self._step(
            Step.ROOM_ENDED_EARLY,
            "room ended before the meeting's end (policy %s)",
            self.spec.if_room_ends_early.value,
            level=logging.WARNING,
        )
        left = self.spec.end_time - workflow.now()
        if (
            self.spec.if_room_ends_early is RoomEndsEarly.RECREATE
            and len(self._state.room_sids) < MAX_ROOMS_PER_MEETING
        ):
            if left >= MIN_WINDOW_FOR_A_NEW_ROOM or not workflow.patched(Patch.NO_ROOM_FOR_THE_LAST_MINUTE):
                self._set_phase(Phase.OPENING)
                return await self._open_room()
            self._record(f"not replaced: only {left.total_seconds():.0f} s of the meeting were left")
        self._state.ended_by = EndedBy.ROOM_ENDED
        self._state.closed_at = workflow.now()
        await self._finish(Phase.COMPLETED)
        return False

    # ------------------------------------------------------------------------------- eviction

    async def _evict_overstayers(self, now: datetime) -> None:
        for participant in self._roster.overdue(now):
            assert self._state.room_sid is not None
            try:
                await self._evict(self._state.room_sid, participant)
            except GaveUp:
                return  # the meeting is ending meanwhile: completing the room disconnects everyone
            except ActivityError as error:
                if not workflow.patched(Patch.CLOSE_ROOM_ON_FAILURE):
                    raise
                await self._fail(f"could not evict {participant.identity}", error)
            self._state.evictions.append(
                Eviction(
                    sid=participant.sid,
                    identity=participant.identity,
                    connected_at=participant.connected_at,
                    evicted_at=workflow.now(),
                )
            )
            self._record(
                f"evicted {participant.identity}: connected since {participant.connected_at.isoformat()}"
            )
            self._step(
                Step.PARTICIPANT_EVICTED,
                "participant evicted: connected since %s, past the maximum participant duration",
                participant.connected_at.isoformat(),
                participant_sid=participant.sid,
                identity=participant.identity,
            )
            self._log(self._roster.disconnect(participant.sid))
            self._emit(
                MeetingEventType.EVICTED,
                identity=participant.identity,
                participant_sid=participant.sid,
                connected_at=participant.connected_at.isoformat(),
                evicted_at=workflow.now().isoformat(),
                reason="max_participant_duration",
            )

    async def _evict(self, room_sid: str, participant: ConnectedParticipant) -> None:
        ref = ParticipantRef(
            room_sid=room_sid, participant=participant.sid, reason="max_participant_duration"
        )
        await self._twilio(
            "DisconnectParticipant",
            RoomActivities.disconnect_participant,
            ref,
            f"evict {participant.identity} (max participant duration)",
            write=True,
        )

    # ------------------------------------------------------------------------ live control

    # Messages are typed ``Any`` and parsed here, not by the data converter: a missing or malformed
    # payload then gets a clear rejection (updates) or is dropped with a log line (signals), instead of
    # failing workflow tasks until someone terminates the meeting.

    @workflow.signal
    def room_event(self, event: Any = None, *extra: Any) -> None:
        """A status callback (from the gateway) or an observation (from the reconciler)."""
        if extra:
            workflow.logger.warning(
                "dropped a room_event signal with %d arguments (one is expected)", 1 + len(extra)
            )
            return
        try:
            parsed = RoomEvent.model_validate(event)
        except pydantic.ValidationError as error:
            workflow.logger.warning("dropped a room_event signal: %s", explain(error))
            return
        self._state.pending_events.append(parsed)
        self._wakeup.ring()

    @workflow.signal
    def cancel(self, request: Any = None, *extra: Any) -> None:
        """Cancel the meeting: before it opens, no room is ever created; after, the room is completed.

        A cancel of an older revision than the meeting's (``CancelRequest.revision``) is ignored: the
        meeting changed since what it cancels was sent.
        """
        if self._state.phase in TERMINAL_PHASES or self._cancel_requested:
            return
        cancel = CancelRequest()
        try:
            cancel = CancelRequest.model_validate(request or {})
        except pydantic.ValidationError as error:  # the intent is clear even if the payload is not
            workflow.logger.warning("cancel signal with an unreadable payload: %s", explain(error))
        reason, revision = cancel.reason, cancel.revision
        current = None if self._invalid is not None else self.spec.revision  # no spec when invalid
        if revision is not None and current is not None and revision < current:
            # A signal cannot be refused like an update: dropped, and said so where operators look.
            note = f"ignored a stale cancel (revision {revision}; the meeting is at revision {current})"
            workflow.logger.warning("%s", note)
            self._record(note)
            return
        if self._invalid is None and revision is not None and (current is None or revision > current):
            # What the meeting ended at: a late change of an older revision must not restart it.
            self._spec = self.spec.model_copy(update={"revision": revision})
        self._cancel_requested = True
        self._state.ended_by = EndedBy.CANCELLED
        self._state.end_reason = reason
        self._events.drop_warnings()
        self._record("cancel requested" + (f": {reason}" if reason else ""))
        self._wakeup.ring()

    @workflow.update
    async def reschedule(self, request: Any = None, *extra: Any) -> MeetingStatus:
        """Move the window (``RescheduleRequest``); once the room is open only the end can move."""
        change = RescheduleRequest.model_validate(request)
        spec = self.spec
        if self._is_extension(change.end_time):
            assert change.end_time is not None
            self._note_extension(spec.end_time, change.end_time, change.actor)
        self._spec = spec.model_copy(
            update={
                "start_time": change.start_time or spec.start_time,
                "end_time": change.end_time or spec.end_time,
                "revision": spec.revision if change.revision is None else change.revision,
            }
        )
        if self._state.phase is Phase.SCHEDULED:
            self._state.planned_end = self.spec.end_time  # the plan moved: not an extension
        at_revision = "" if change.revision is None else f" (revision {change.revision})"
        window = f"{self.spec.start_time.isoformat()} to {self.spec.end_time.isoformat()}"
        self._record(f"rescheduled{at_revision}: {window}{self._by(change.actor)}")
        if (self.spec.start_time, self.spec.end_time) == (spec.start_time, spec.end_time):
            self._after_time_change()
            return self.status()  # a new revision of the same window: nothing to announce
        self._emit(
            MeetingEventType.RESCHEDULED,
            previous_start_time=spec.start_time.isoformat(),
            previous_end_time=spec.end_time.isoformat(),
            actor=change.actor,
        )
        self._after_time_change()
        return self.status()

    @reschedule.validator
    def _validate_reschedule(self, request: Any = None, *extra: Any) -> None:
        self._reject_if_over()
        change = parse(RescheduleRequest, request, "reschedule", extra)
        spec = self.spec
        # Before the other rules: a repeated delivery of an applied change is stale, not "open already".
        if change.revision is not None and spec.revision is not None and change.revision <= spec.revision:
            stale(
                f"reschedule: revision {change.revision} is not newer than the meeting's revision "
                f"{spec.revision}; nothing changed"
            )
        start = change.start_time or spec.start_time
        end = change.end_time or spec.end_time
        if (
            change.start_time is not None
            and change.start_time != spec.start_time
            and self._state.phase is not Phase.SCHEDULED
        ):
            reject(f"the room is already {self._state.phase.value}; only end_time can change now")
        if end <= workflow.now():
            reject(f"end_time {end.isoformat()} is in the past")
        # The same rules as a new meeting (end after start, maximum length...), stated once.
        parse(MeetingSpec, spec.model_dump() | {"start_time": start, "end_time": end}, "reschedule")
        if self._is_extension(change.end_time):
            self._check_extension(end, "reschedule")

    @workflow.update
    async def extend(self, request: Any = None, *extra: Any) -> MeetingStatus:
        """Move the end later by ``ExtendRequest.minutes``."""
        change = ExtendRequest.model_validate(request)
        previous = self.spec.end_time
        self._spec = self.spec.model_copy(update={"end_time": previous + timedelta(minutes=change.minutes)})
        self._note_extension(previous, self.spec.end_time, change.actor)
        self._record(
            f"extended by {change.minutes} min to {self.spec.end_time.isoformat()}{self._by(change.actor)}"
        )
        self._emit(
            MeetingEventType.EXTENDED,
            previous_end_time=previous.isoformat(),
            minutes=change.minutes,
            actor=change.actor,
        )
        self._after_time_change()
        return self.status()

    @extend.validator
    def _validate_extend(self, request: Any = None, *extra: Any) -> None:
        self._reject_if_over()
        minutes = parse(ExtendRequest, request, "extend", extra).minutes
        new_end = self.spec.end_time + timedelta(minutes=minutes)
        parse(MeetingSpec, self.spec.model_dump() | {"end_time": new_end}, "extend")
        self._check_extension(new_end, "extend")

    def _is_extension(self, new_end: datetime | None) -> bool:
        """A reschedule is an extension when it moves the end later once the room is open."""
        return (
            new_end is not None and new_end > self.spec.end_time and self._state.phase is not Phase.SCHEDULED
        )

    def _check_extension(self, new_end: datetime, what: str) -> None:
        """Reject an extension to ``new_end`` past a cap, naming the cap."""
        minutes = math.ceil((new_end - self.spec.end_time).total_seconds() / 60)
        why = refusal(
            self._caps(), minutes=minutes, new_end=new_end, extensions_so_far=len(self._state.extensions)
        )
        if why is not None:
            reject(f"{what}: {why}")

    def _caps(self) -> Caps:
        planned_end = self._state.planned_end or self.spec.end_time
        return caps_for(self.spec.extend_policy, self._state.extend_caps, planned_end)

    def _note_extension(self, previous: datetime, new_end: datetime, actor: str | None) -> None:
        self._state.extensions.append(
            Extension(
                at=workflow.now(),
                minutes=math.ceil((new_end - previous).total_seconds() / 60),
                previous_end=previous,
                new_end=new_end,
                actor=actor,
            )
        )

    @staticmethod
    def _by(actor: str | None) -> str:
        return f" (by {actor})" if actor else ""

    @workflow.update
    async def end_now(self, request: Any = None, *extra: Any) -> MeetingSummary:
        """End the meeting now (completing its room); returns the final summary."""
        reason = EndRequest.model_validate(request or {}).reason
        self._end_requested = True
        self._state.ended_by = EndedBy.END_NOW
        self._state.end_reason = reason
        self._events.drop_warnings()
        self._record("end requested" + (f": {reason}" if reason else ""))
        self._wakeup.ring()
        await workflow.wait_condition(lambda: self._state.phase in TERMINAL_PHASES)
        return self._summary()

    @end_now.validator
    def _validate_end_now(self, request: Any = None, *extra: Any) -> None:
        self._reject_if_over()
        parse(EndRequest, request or {}, "end_now", extra)

    @workflow.query
    def status(self) -> MeetingStatus:
        if self._invalid is not None:
            raise ApplicationError(self._invalid, type="InvalidMeeting")
        spec = self.spec
        return MeetingStatus(
            meeting_id=spec.meeting_id,
            title=spec.title,
            phase=self._state.phase,
            room_sid=self._state.room_sid,
            room=spec.room,
            start_time=spec.start_time,
            end_time=spec.end_time,
            open_at=spec.open_at,
            opened_at=self._state.opened_at,
            participants=self._roster.connected,
            trouble=self._state.trouble,
            revision=spec.revision,
            history=list(self._state.history),
            extensions=list(self._state.extensions),
            extend_limits=self._extend_limits(),
            events=self._state.events.status() if self._state.defaults_loaded else None,
        )

    def _extend_limits(self) -> ExtendLimits | None:
        if self._state.extend_caps is None and self.spec.extend_policy is None:
            return None
        caps = self._caps()
        return ExtendLimits(
            max_minutes=caps.max_minutes, max_extensions=caps.max_extensions, latest_end=caps.latest_end
        )

    def _reject_if_over(self) -> None:
        if self._invalid is not None:
            reject(self._invalid)
        if (
            self._state.phase in TERMINAL_PHASES
            or self._state.phase is Phase.CLOSING
            or self._cancel_requested
            or self._end_requested
        ):
            where = self._state.phase.value if self._state.phase in TERMINAL_PHASES else "ending"
            reject(f"the meeting is already {where}")

    def _after_time_change(self) -> None:
        self._publish()
        self._wakeup.ring()

    # ------------------------------------------------------------------------------- helpers

    @property
    def spec(self) -> MeetingSpec:
        return self._spec

    @property
    def _roster(self) -> Roster:
        # Built on demand: the state may be replaced wholesale (a continued meeting's carried state).
        given = self.spec.room.max_participant_duration
        return Roster(self._state, self._default_duration if given is None else timedelta(seconds=given))

    async def _sleep_until(self, when: datetime, seen: int, summary: str) -> None:
        await self._wakeup.sleep_until(when, seen, summary, keep_timer=self._lean)

    def _write_room_memo(self) -> None:
        """Tell the reconciler (through visibility) whether callbacks arrive and who is connected.

        Written only when it changes: one event in the workflow task that applied the change, where the
        reconciler's ``snapshot`` it spares would cost four, and lets it read a room whose callbacks flow
        a few times an hour instead of every sweep (``activities.sweeper``).
        """
        room_sid = self._state.room_sid
        if room_sid is None or not self._lean:
            return
        memo = RoomMemo(
            room_sid=room_sid,
            callbacks_flowing=self._state.callbacks_flowing,
            connected=roster_digest(self._state.participants),
        )
        if self._memo is None and not memo.callbacks_flowing and not self._state.participants:
            return  # says what no memo says: read the room every sweep
        if memo != self._memo:
            workflow.upsert_memo({ROOM_MEMO: memo.model_dump(mode="json")})
            self._memo = memo

    def _room_params(self) -> CreateRoomParams:
        """The room's create parameters as this meeting's code version sends them."""
        spec = self.spec
        room = spec.room
        if room.max_participant_duration is None and self._default_duration is not None:
            seconds = int(self._default_duration.total_seconds())
            spec = spec.model_copy(
                update={"room": room.model_copy(update={"max_participant_duration": seconds})}
            )
        params = spec.room_params()
        if spec.if_room_ends_early is RoomEndsEarly.RECREATE and self._cover_the_window:
            # Under `recreate` a room that idles out is replaced at once, so a timeout shorter than the
            # window only churns rooms (a no-show meeting got a new room every 5 minutes): ask Twilio to
            # keep an idle room until the end, as far as its 60-minute maximum allows.
            left = math.ceil((spec.end_time - workflow.now()).total_seconds() / 60)
            cover = max(limits.ROOM_TIMEOUT_MIN_MINUTES, min(limits.ROOM_TIMEOUT_MAX_MINUTES, left))
            params = params.model_copy(
                update={
                    "empty_room_timeout": max(params.empty_room_timeout or 0, cover),
                    "unused_room_timeout": max(params.unused_room_timeout or 0, cover),
                }
            )
        return params

    def _wait_summary(self, wake_at: datetime) -> str:
        if wake_at >= self.spec.end_time:
            return f"meeting end {self.spec.end_time.isoformat()}"
        return f"next eviction deadline {wake_at.isoformat()}"

    async def _list_connected(self, room_sid: str) -> list[Participant]:
        request = ListParticipantsRequest(room_sid=room_sid)
        try:
            return await self._twilio(
                "ListParticipants",
                RoomActivities.list_participants,
                request,
                f"list participants of {room_sid}",
            )
        except GaveUp:
            return []  # the reconciler's next snapshot tells who is there

    async def _twilio(
        self,
        operation: str,
        method: Callable[[RoomActivities, A], Awaitable[T]],
        arg: A,
        summary: str,
        *,
        after_the_end: bool = False,
        write: bool = False,
    ) -> T:
        """A Twilio call through any outage (``TwilioRounds``); given up at the meeting's end or when
        it is asked to end, unless ``after_the_end`` (completing the room is never given up). A
        ``write`` runs on the deployment's paced writes queue (``activities.policy``)."""
        task_queue = None
        if write and self._paced_writes:
            task_queue = paced_writes_queue(workflow.info().task_queue)
        return await TwilioRounds(
            self._state,
            meeting_id=self._spec.meeting_id,
            record=self._record,
            refresh=self._publish_details,
            interrupted=lambda: not after_the_end and (self._cancel_requested or self._end_requested),
        ).call(
            operation,
            method,
            arg,
            summary,
            give_up_at=lambda: None if after_the_end else self.spec.end_time,
            task_queue=task_queue,
        )

    def _step(
        self, step: Step, message: str, *args: object, level: int = logging.INFO, **more: str | None
    ) -> None:
        """One lifecycle line in the worker's log (``common.lifecycle``), with the meeting's ids.

        ``workflow.logger`` is replay-safe: a line is written when the step happens, not again when a
        worker replays the history; the SDK adds the workflow id to the record.
        """
        meeting_id = self._spec.meeting_id if self._invalid is None else None
        workflow.logger.log(
            level,
            message,
            *args,
            extra=fields(step, meeting_id=meeting_id, room_sid=self._state.room_sid, **more),
        )

    def _emit(self, kind: MeetingEventType, **data: Any) -> None:
        """Queue a lifecycle event about this meeting (``workflows.meeting_events``)."""
        spec = self.spec
        self._events.emit(
            kind,
            {
                "meeting_id": spec.meeting_id,
                "title": spec.title,
                "room": spec.unique_name,
                "room_sid": self._state.room_sid,
                "start_time": spec.start_time.isoformat(),
                "end_time": spec.end_time.isoformat(),
                "phase": self._state.phase.value,
            }
            | data,
        )

    def _warn(self, now: datetime) -> datetime | None:
        """Queue the warnings due now; when the next one is due."""
        if not self._events.on or self._cancel_requested or self._end_requested:
            return None
        asked = self.spec.events or EventsSpec()
        state, end = self._state.events, self.spec.end_time
        ending = Warnings(MeetingEventType.ENDING_SOON, "end", end, asked.ending_soon_minutes)
        if (offset := ending.due(state, now)) is not None:
            self._emit(ending.kind, minutes_before=offset, seconds_left=(end - now).total_seconds())
        moments = [ending.next_at(state, now)]
        for participant in self._roster.connected:
            deadline = participant.eviction_deadline
            if deadline is None or deadline >= end:
                continue  # the meeting's end comes first: no eviction to announce
            evicting = Warnings(
                MeetingEventType.EVICTION_SOON, participant.sid, deadline, asked.eviction_soon_minutes
            )
            if (offset := evicting.due(state, now)) is not None:
                self._emit(
                    evicting.kind,
                    identity=participant.identity,
                    participant_sid=participant.sid,
                    evict_at=deadline.isoformat(),
                    minutes_before=offset,
                    seconds_left=(deadline - now).total_seconds(),
                )
            moments.append(evicting.next_at(state, now))
        return min((moment for moment in moments if moment is not None), default=None)

    def _log(self, lines: list[str]) -> None:
        for line in lines:
            self._record(line)

    def _record(self, what: str) -> None:
        self._state.history.append(HistoryEntry(at=workflow.now(), what=what))
        del self._state.history[:-HISTORY_LIMIT]
        self._publish_details()

    def _set_phase(self, phase: Phase) -> None:
        self._state.phase = phase
        self._publish()

    async def _finish(self, phase: Phase) -> None:
        if self._state.ended_by is None:
            self._state.ended_by = EndedBy.CANCELLED if phase is Phase.CANCELLED else EndedBy.END_NOW
        self._set_phase(phase)
        reason = self._state.end_reason
        self._step(
            Step.MEETING_CANCELLED if phase is Phase.CANCELLED else Step.MEETING_COMPLETED,
            "meeting %s (%s)%s",
            phase.value,
            self._state.ended_by,
            f": {reason}" if reason else "",
            ended_by=self._state.ended_by,
        )
        self._events.drop_warnings()
        self._emit(
            MeetingEventType.ENDED,
            ended_by=self._state.ended_by.value,
            reason=reason,
            summary=self._summary().model_dump(mode="json"),
        )
        await self._record_outcome(self._state.ended_by)

    async def _fail(
        self,
        what: str,
        error: ActivityError | None = None,
        *,
        detail: str | None = None,
        close_room: bool = True,
    ) -> NoReturn:
        """Fail the meeting, saying what failed; a room still in progress is completed first."""
        cause = error.cause if error is not None else None
        detail = detail or (describe(error) if error is not None else "")
        error_type = cause.type if isinstance(cause, ApplicationError) else None
        self._record(f"failed: {what}: {detail}")
        if (
            close_room
            and self._state.room_sid is not None
            and self._state.phase is Phase.OPEN
            and workflow.patched(Patch.CLOSE_ROOM_ON_FAILURE)
        ):
            self._state.ended_by = EndedBy.FAILED
            with contextlib.suppress(ActivityError):  # e.g. Unauthorized again: nothing more can be done
                await self._complete_room(self._state.room_sid)
                self._state.closed_at = workflow.now()
                self._record(f"room {self._state.room_sid} completed")
        self._set_phase(Phase.FAILED)
        self._step(
            Step.MEETING_FAILED,
            "meeting failed: %s: %s",
            what,
            detail,
            level=logging.WARNING,
            error_type=error_type,
        )
        self._events.drop_warnings()
        self._emit(MeetingEventType.FAILED, reason=f"{what}: {detail}", error_type=error_type)
        await self._record_outcome(EndedBy.FAILED, f"{what}: {detail}")
        await self._events.drain()
        raise ApplicationError(f"{what}: {detail}", type=error_type, non_retryable=True) from error

    async def _reject_input(self, why: str) -> NoReturn:
        """Fail a run whose input cannot make a meeting, visibly (``MeetingStatus='failed'``)."""
        workflow.upsert_search_attributes([MEETING_STATUS.value_set(Phase.FAILED.value)])
        workflow.set_current_details(f"**failed** — {why}")
        self._state.phase = Phase.FAILED
        self._step(
            Step.MEETING_FAILED, "meeting failed: %s", why, level=logging.WARNING, error_type="InvalidMeeting"
        )
        await self._record_outcome(EndedBy.FAILED, why)
        raise ApplicationError(why, type="InvalidMeeting", non_retryable=True)

    async def _record_outcome(self, ended_by: EndedBy, detail: str | None = None) -> None:
        """Count how the meeting ended, once (an activity's completion is recorded in history once)."""
        if not workflow.patched(Patch.RECORD_OUTCOME):
            return
        meeting_id = self._spec.meeting_id if self._invalid is None else workflow.info().workflow_id
        try:
            await workflow.execute_activity(
                record_meeting_outcome,
                MeetingOutcome(meeting_id=meeting_id, ended_by=ended_by, detail=detail),
                summary=f"record outcome: {ended_by}",
                **BOOKKEEPING_CALL,
            )
        except ActivityError as error:  # bookkeeping must never keep a meeting from ending
            workflow.logger.warning("could not record the meeting's outcome: %s", describe(error))

    def _publish(self) -> None:
        pairs: list[SearchAttributeUpdate[Any]] = [
            MEETING_STATUS.value_set(self._state.phase.value),
            MEETING_START.value_set(self.spec.start_time),
            MEETING_END.value_set(self.spec.end_time),
        ]
        if self._state.room_sid is not None:
            pairs.append(ROOM_SID.value_set(self._state.room_sid))
        if self._lean:
            # Only what changed: the starter set the first values, and each upsert is a history event.
            current = workflow.info().typed_search_attributes
            pairs = [pair for pair in pairs if current.get(pair.key) != pair.value]
            if not pairs:
                self._publish_details()
                return
        workflow.upsert_search_attributes(pairs)
        self._publish_details()

    def _publish_details(self) -> None:
        spec = self.spec
        lines = [
            f"**{spec.title or spec.meeting_id}** — {self._state.phase.value}",
            f"{spec.start_time.isoformat()} → {spec.end_time.isoformat()}",
        ]
        if self._state.room_sid:
            lines.append(f"room `{self._state.room_sid}` ({spec.unique_name})")
        if self._state.participants:
            lines.append(
                "connected: " + ", ".join(sorted(p.identity for p in self._state.participants.values()))
            )
        if trouble := self._state.trouble:
            lines.append(
                f"⚠ {trouble.operation} failing since {trouble.since.isoformat()} "
                f"({trouble.rounds} round{'s' if trouble.rounds > 1 else ''}): {trouble.last_error}"
            )
        workflow.set_current_details("\n\n".join(lines))

    async def _continue_as_new(self) -> None:
        """Continue as new once no handler is running; unless the meeting was asked to end meanwhile.

        ``end_now`` only finishes when the meeting is over, so waiting for it here would wait forever;
        and the cancel/end flags are not carried over. The main loop ends the meeting instead.
        """
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() or self._cancel_requested or self._end_requested
        )
        if not (self._cancel_requested or self._end_requested):
            workflow.continue_as_new(ContinuedMeeting(spec=self.spec, carried_state=self._state))

    def _summary(self) -> MeetingSummary:
        spec, state = self.spec, self._state
        closed = state.closed_at
        return MeetingSummary(
            meeting_id=spec.meeting_id,
            room_sid=state.room_sid,
            room_sids=list(state.room_sids),
            scheduled_start=spec.start_time,
            scheduled_end=spec.end_time,
            opened_at=state.opened_at,
            closed_at=closed,
            end_lag_seconds=(closed - spec.end_time).total_seconds() if closed and state.opened_at else None,
            participants_seen=state.participant_sids_seen,
            identities_seen=list(state.identities_seen),
            participants_evicted=list(state.evictions),
            ended_by=state.ended_by or EndedBy.SCHEDULE,
            reason=state.end_reason,
        )
