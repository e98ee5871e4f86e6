"""MeetingWorkflow: one scheduled meeting's room, from before its start to after its end.

The story: wait for the opening time, create the room, watch it (status callbacks and the
reconciler's observations arrive as ``room_event`` signals), evict whoever overstays, and complete the
room at the end. ``reschedule``, ``extend`` and ``end_now`` (updates) and ``cancel`` (signal) change the
story while it runs. All I/O is in activities; everything here is deterministic.

Handlers only record what was asked and wake the main loop; the main loop alone changes the room, so
there are no races between handlers and no awaits under shared state.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any, NoReturn

import pydantic
from temporalio import workflow
from temporalio.common import SearchAttributePair, SearchAttributeUpdate, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.policy import TWILIO_CALL
    from activities.rooms import (
        CreateRoomRequest,
        ListParticipantsRequest,
        ParticipantRef,
        RoomActivities,
        RoomRef,
    )
    from twilio_video.models import Participant, RoomStatus
    from workflows import meeting_metrics
    from workflows.meeting_models import (
        TERMINAL_PHASES,
        ConnectedParticipant,
        ContinuedMeeting,
        EndRequest,
        Eviction,
        ExtendRequest,
        HistoryEntry,
        MeetingInput,
        MeetingSpec,
        MeetingState,
        MeetingStatus,
        MeetingSummary,
        Phase,
        RescheduleRequest,
        RoomEndsEarly,
        RoomEvent,
        RoomEventKind,
    )
    from workflows.search_attributes import MEETING_END, MEETING_START, MEETING_STATUS, ROOM_SID

HISTORY_LIMIT = 100
DEPARTED_LIMIT = 5_000
#: A safety valve on the ``recreate`` policy: a meeting never burns through more rooms than this.
MAX_ROOMS_PER_MEETING = 100


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
    def __init__(self, meeting: MeetingInput) -> None:
        # Set up here, not in run: signals and updates can arrive in the very first activation.
        given = meeting.root
        if isinstance(given, ContinuedMeeting):
            self._spec, self._state, self._continued = given.spec, given.carried_state, True
        else:
            self._spec, self._state, self._continued = given, MeetingState(), False
        self._wake = False
        self._end_requested = False
        self._cancel_requested = False

    # ------------------------------------------------------------------------------ the story

    @workflow.run
    async def run(self, meeting: MeetingInput) -> MeetingSummary:
        if not self._continued:
            self._record(f"scheduled: {self.spec.start_time.isoformat()} to {self.spec.end_time.isoformat()}")
        self._publish()

        if self._state.phase is Phase.SCHEDULED:
            await self._wait_until_open()
        if self._state.phase is Phase.OPENING:
            await self._open_room()
        if self._state.phase is Phase.OPEN:
            await self._watch_until_end()
        if self._state.phase is Phase.CLOSING:
            await self._close_room()

        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._summary()

    async def _wait_until_open(self) -> None:
        while True:
            self._wake = False  # from here on, any handler's request wakes the next sleep
            spec = self.spec
            if self._cancel_requested or self._end_requested:
                self._finish(Phase.CANCELLED if self._cancel_requested else Phase.COMPLETED)
                return
            now = workflow.now()
            if now >= spec.end_time:
                self._state.ended_by = "window_passed"
                self._record("the meeting window passed before a room could open")
                self._finish(Phase.COMPLETED)
                return
            if now >= spec.open_at:
                self._set_phase(Phase.OPENING)
                return
            await self._sleep_until(spec.open_at, f"open room at {spec.open_at.isoformat()}")

    async def _open_room(self) -> None:
        spec = self.spec
        try:
            created = await workflow.execute_activity_method(
                RoomActivities.create_room,
                CreateRoomRequest(workflow_id=workflow.info().workflow_id, params=spec.room_params()),
                summary=f"create room {spec.unique_name}",
                **TWILIO_CALL,
            )
        except ActivityError as error:
            self._fail(f"could not create room {spec.unique_name!r}", error)
        room = created.room
        self._state.room_sid = room.sid
        self._state.room_sids.append(room.sid)
        meeting_metrics.room_created(created.adopted)
        if self._state.opened_at is None:
            self._state.opened_at = workflow.now()
            meeting_metrics.room_opened((self._state.opened_at - spec.start_time).total_seconds())
        self._record(f"room {room.sid} {'adopted' if created.adopted else 'created'}")
        if created.adopted:
            # An earlier attempt's room may already have people in it.
            for participant in await self._list_connected(room.sid):
                self._connect(participant.sid, participant.identity, participant.start_time or workflow.now())
        self._set_phase(Phase.OPEN)

    async def _watch_until_end(self) -> None:
        while True:
            # Cleared before looking at state, never at the sleep: a request that arrives while an
            # activity below is in flight must still cut the next sleep short.
            self._wake = False
            room_ended = await self._apply_events()
            if self._cancel_requested or self._end_requested:
                break
            now = workflow.now()
            if now >= self.spec.end_time:
                self._state.ended_by = "schedule"
                break
            if room_ended:
                if not await self._room_ended_early():
                    return
                continue
            await self._evict_overstayers(now)
            if workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new()
            wake_at = min(
                [self.spec.end_time, *(p.eviction_deadline for p in self._state.participants.values())]
            )
            await self._sleep_until(wake_at, self._wait_summary(wake_at))
        self._set_phase(Phase.CLOSING)

    async def _close_room(self) -> None:
        if self._state.room_sid is not None:
            try:
                await workflow.execute_activity_method(
                    RoomActivities.complete_room,
                    RoomRef(room_sid=self._state.room_sid),
                    summary=f"complete room {self._state.room_sid}",
                    **TWILIO_CALL,
                )
            except ActivityError as error:
                self._fail(f"could not complete room {self._state.room_sid}", error)
        for sid in list(self._state.participants):
            self._disconnect(sid)
        self._state.closed_at = workflow.now()
        self._record(f"room closed ({self._state.ended_by})")
        self._finish(Phase.CANCELLED if self._cancel_requested else Phase.COMPLETED)

    # ----------------------------------------------------------------------------- room events

    async def _apply_events(self) -> bool:
        """Apply queued room events in arrival order; True if the current room has ended."""
        ended = False
        while self._state.pending_events:
            event = self._state.pending_events.pop(0)
            if event.room_sid != self._state.room_sid:
                continue  # about an earlier room of this meeting: nothing to do now
            kind = event.kind
            if (
                kind is RoomEventKind.PARTICIPANT_CONNECTED
                and event.participant_sid
                and event.participant_identity
            ):
                self._connect(event.participant_sid, event.participant_identity, event.timestamp)
            elif kind is RoomEventKind.PARTICIPANT_DISCONNECTED and event.participant_sid:
                self._disconnect(event.participant_sid, identity=event.participant_identity)
            elif kind is RoomEventKind.SNAPSHOT and event.participants is not None:
                self._apply_snapshot(event)
            elif kind is RoomEventKind.ROOM_ENDED:
                ended = True
            elif kind is RoomEventKind.ROOM_MISSING:
                # The account-wide listing is a strong hint, not proof: ask Twilio about this room.
                room = await workflow.execute_activity_method(
                    RoomActivities.fetch_room,
                    RoomRef(room_sid=event.room_sid),
                    summary="confirm room ended",
                    **TWILIO_CALL,
                )
                ended = ended or room.status is not RoomStatus.IN_PROGRESS
        return ended

    def _apply_snapshot(self, event: RoomEvent) -> None:
        observed = {p.sid: p for p in event.participants or ()}
        for participant in observed.values():
            self._connect(participant.sid, participant.identity, participant.connected_at)
        for sid, known in list(self._state.participants.items()):
            # Someone who connected after the observation was taken is not missing from it.
            if sid not in observed and known.connected_at <= event.timestamp:
                self._disconnect(sid)

    async def _room_ended_early(self) -> bool:
        """Apply the ``if_room_ends_early`` policy; True if the meeting goes on in a new room."""
        ended_sid = self._state.room_sid
        for sid in list(self._state.participants):
            self._disconnect(sid)
        self._record(f"room {ended_sid} ended before the meeting's end")
        if (
            self.spec.if_room_ends_early is RoomEndsEarly.RECREATE
            and len(self._state.room_sids) < MAX_ROOMS_PER_MEETING
        ):
            self._set_phase(Phase.OPENING)
            await self._open_room()
            return True
        self._state.ended_by = "room_ended"
        self._state.closed_at = workflow.now()
        self._finish(Phase.COMPLETED)
        return False

    # ------------------------------------------------------------------------------- eviction

    async def _evict_overstayers(self, now: datetime) -> None:
        for participant in sorted(self._state.participants.values(), key=lambda p: p.eviction_deadline):
            if participant.eviction_deadline > now:
                break
            assert self._state.room_sid is not None
            await workflow.execute_activity_method(
                RoomActivities.disconnect_participant,
                ParticipantRef(room_sid=self._state.room_sid, participant=participant.sid),
                summary=f"evict {participant.identity} (max participant duration)",
                **TWILIO_CALL,
            )
            self._state.evictions.append(
                Eviction(
                    sid=participant.sid,
                    identity=participant.identity,
                    connected_at=participant.connected_at,
                    evicted_at=workflow.now(),
                )
            )
            meeting_metrics.participant_evicted("max_participant_duration")
            self._record(
                f"evicted {participant.identity}: connected since {participant.connected_at.isoformat()}"
            )
            self._disconnect(participant.sid)

    # ------------------------------------------------------------------------ live control

    @workflow.signal
    def room_event(self, event: RoomEvent) -> None:
        """A status callback (from the gateway) or an observation (from the reconciler)."""
        self._state.pending_events.append(event)
        self._wake = True

    @workflow.signal
    def cancel(self, request: EndRequest | None = None) -> None:
        """Cancel the meeting: before it opens, no room is ever created; after, the room is completed."""
        if self._state.phase in TERMINAL_PHASES or self._cancel_requested:
            return
        self._cancel_requested = True
        self._state.ended_by = "cancelled"
        self._state.end_reason = request.reason if request else None
        self._record("cancel requested" + (f": {request.reason}" if request and request.reason else ""))
        self._wake = True

    @workflow.update
    async def reschedule(self, request: RescheduleRequest) -> MeetingStatus:
        spec = self.spec
        self._spec = spec.model_copy(
            update={
                "start_time": request.start_time or spec.start_time,
                "end_time": request.end_time or spec.end_time,
            }
        )
        self._record(f"rescheduled: {self.spec.start_time.isoformat()} to {self.spec.end_time.isoformat()}")
        self._after_time_change()
        return self.status()

    @reschedule.validator
    def _validate_reschedule(self, request: RescheduleRequest) -> None:
        self._reject_if_over()
        spec = self.spec
        start = request.start_time or spec.start_time
        end = request.end_time or spec.end_time
        if (
            request.start_time is not None
            and request.start_time != spec.start_time
            and self._state.phase is not Phase.SCHEDULED
        ):
            raise ValueError(f"the room is already {self._state.phase.value}; only end_time can change now")
        if end <= workflow.now():
            raise ValueError(f"end_time {end.isoformat()} is in the past")
        # The same rules as a new meeting (end after start, maximum length...), stated once.
        MeetingSpec.model_validate(spec.model_dump() | {"start_time": start, "end_time": end})

    @workflow.update
    async def extend(self, request: ExtendRequest) -> MeetingStatus:
        self._spec = self.spec.model_copy(
            update={"end_time": self.spec.end_time + timedelta(minutes=request.minutes)}
        )
        self._record(f"extended by {request.minutes} min to {self.spec.end_time.isoformat()}")
        self._after_time_change()
        return self.status()

    @extend.validator
    def _validate_extend(self, request: ExtendRequest) -> None:
        self._reject_if_over()
        MeetingSpec.model_validate(
            self.spec.model_dump() | {"end_time": self.spec.end_time + timedelta(minutes=request.minutes)}
        )

    @workflow.update
    async def end_now(self, request: EndRequest | None = None) -> MeetingSummary:
        """End the meeting now (completing its room); returns the final summary."""
        self._end_requested = True
        self._state.ended_by = "end_now"
        self._state.end_reason = request.reason if request else None
        self._record("end requested" + (f": {request.reason}" if request and request.reason else ""))
        self._wake = True
        await workflow.wait_condition(lambda: self._state.phase in TERMINAL_PHASES)
        return self._summary()

    @end_now.validator
    def _validate_end_now(self, request: EndRequest | None = None) -> None:
        self._reject_if_over()

    @workflow.query
    def status(self) -> MeetingStatus:
        spec = self.spec
        return MeetingStatus(
            meeting_id=spec.meeting_id,
            title=spec.title,
            phase=self._state.phase,
            room_sid=self._state.room_sid,
            start_time=spec.start_time,
            end_time=spec.end_time,
            open_at=spec.open_at,
            participants=sorted(self._state.participants.values(), key=lambda p: p.connected_at),
            history=list(self._state.history),
        )

    def _reject_if_over(self) -> None:
        if (
            self._state.phase in TERMINAL_PHASES
            or self._state.phase is Phase.CLOSING
            or self._cancel_requested
            or self._end_requested
        ):
            where = self._state.phase.value if self._state.phase in TERMINAL_PHASES else "ending"
            raise ValueError(f"the meeting is already {where}")

    def _after_time_change(self) -> None:
        self._publish()
        self._wake = True

    # ------------------------------------------------------------------------------- helpers

    @property
    def spec(self) -> MeetingSpec:
        return self._spec

    async def _sleep_until(self, when: datetime, summary: str) -> None:
        """Sleep until ``when`` or until a handler has woken the loop since it last looked at state."""
        delay = when - workflow.now()
        if delay <= timedelta(0):
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._wake, timeout=delay, timeout_summary=summary)

    def _wait_summary(self, wake_at: datetime) -> str:
        if wake_at >= self.spec.end_time:
            return f"meeting end {self.spec.end_time.isoformat()}"
        return f"next eviction deadline {wake_at.isoformat()}"

    async def _list_connected(self, room_sid: str) -> list[Participant]:
        return await workflow.execute_activity_method(
            RoomActivities.list_participants,
            ListParticipantsRequest(room_sid=room_sid),
            summary=f"list participants of {room_sid}",
            **TWILIO_CALL,
        )

    def _connect(self, sid: str, identity: str, connected_at: datetime) -> None:
        if sid in self._state.participants or sid in self._state.departed:
            return  # a duplicate, or a late "connected" for someone who already left
        self._state.participants[sid] = ConnectedParticipant(
            sid=sid,
            identity=identity,
            connected_at=connected_at,
            eviction_deadline=connected_at + timedelta(seconds=self.spec.room.max_participant_duration),
        )
        self._saw(identity)
        self._record(f"{identity} connected")

    def _disconnect(self, sid: str, identity: str | None = None) -> None:
        if sid in self._state.departed:
            return
        self._state.departed.append(sid)
        del self._state.departed[:-DEPARTED_LIMIT]
        participant = self._state.participants.pop(sid, None)
        if participant is not None:
            self._record(f"{participant.identity} disconnected")
        elif identity is not None:
            # Their "connected" is late or lost; they were here all the same.
            self._saw(identity)
            self._record(f"{identity} came and went")

    def _saw(self, identity: str) -> None:
        self._state.participant_sids_seen += 1
        if identity not in self._state.identities_seen:
            self._state.identities_seen.append(identity)

    def _record(self, what: str) -> None:
        self._state.history.append(HistoryEntry(at=workflow.now(), what=what))
        del self._state.history[:-HISTORY_LIMIT]
        self._publish_details()

    def _set_phase(self, phase: Phase) -> None:
        self._state.phase = phase
        self._publish()

    def _finish(self, phase: Phase) -> None:
        if self._state.ended_by is None:
            self._state.ended_by = "cancelled" if phase is Phase.CANCELLED else "end_now"
        self._set_phase(phase)
        meeting_metrics.meeting_ended(self._state.ended_by, self._summary().end_lag_seconds)

    def _fail(self, what: str, error: ActivityError) -> NoReturn:
        cause = error.cause
        detail = (
            f"{cause.type}: {cause.message}" if isinstance(cause, ApplicationError) else str(cause or error)
        )
        self._record(f"failed: {what}: {detail}")
        self._set_phase(Phase.FAILED)
        meeting_metrics.meeting_ended("failed", None)
        raise ApplicationError(
            f"{what}: {detail}", type=cause.type if isinstance(cause, ApplicationError) else None
        ) from error

    def _publish(self) -> None:
        pairs: list[SearchAttributeUpdate[Any]] = [
            MEETING_STATUS.value_set(self._state.phase.value),
            MEETING_START.value_set(self.spec.start_time),
            MEETING_END.value_set(self.spec.end_time),
        ]
        if self._state.room_sid is not None:
            pairs.append(ROOM_SID.value_set(self._state.room_sid))
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
            ended_by=state.ended_by or "schedule",
            reason=state.end_reason,
        )
