"""The emulated account's rooms and participants, their lifecycle rules, and the events they raise.

All methods are synchronous and run on the server's event loop, so no locks are needed. Lookups follow
Twilio: a room by SID in any status or by UniqueName while in progress; a participant by SID in any
status or by identity while connected.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from emulator.clock import Clock
from emulator.errors import ApiError, invalid, not_found
from emulator.media import Media, ParticipantMedia, RoomMedia
from emulator.room_options import RoomOptions
from emulator.timers import Timers
from twilio_video import limits
from twilio_video.error_codes import ErrorCode
from twilio_video.models import ParticipantStatus, RoomStatus, StatusCallbackEvent
from twilio_video.sids import is_sid, new_sid
from twilio_video.timefmt import format_callback_timestamp


@dataclass
class ParticipantRecord:
    seq: int
    sid: str
    room_sid: str
    account_sid: str
    identity: str
    status: ParticipantStatus
    date_created: datetime
    date_updated: datetime
    start_time: datetime
    end_time: datetime | None = None
    #: Its tracks and subscribe rules (set when it joins).
    media: ParticipantMedia = field(init=False)

    @property
    def duration(self) -> int | None:
        if self.end_time is None:
            return None
        return int((self.end_time - self.start_time).total_seconds())


@dataclass
class RoomRecord:
    seq: int
    sid: str
    account_sid: str
    unique_name: str
    options: RoomOptions
    status: RoomStatus
    date_created: datetime
    date_updated: datetime
    end_time: datetime | None = None
    participants: dict[str, ParticipantRecord] = field(default_factory=dict)
    #: identity -> sid of the connected participant with that identity.
    connected: dict[str, str] = field(default_factory=dict)
    next_sequence_number: int = 0
    #: Its recording rules, recordings and transcriptions (set when it is created).
    media: RoomMedia = field(init=False)
    #: Its resource as last rendered (``emulator.render.room_json``): what it was rendered from, and the
    #: JSON. Rooms are read far more often than they change (every listing shows each in-progress room).
    rendered: tuple[tuple[object, ...], bytes] | None = field(default=None, repr=False, compare=False)

    @property
    def duration(self) -> int | None:
        if self.end_time is None:
            return None
        return int((self.end_time - self.date_created).total_seconds())


@dataclass(frozen=True)
class CallbackRequest:
    """A status callback to deliver: where, how, and its unsigned form parameters."""

    account_sid: str
    url: str
    method: str
    params: dict[str, str]


CallbackSink = Callable[[CallbackRequest], None]


def _seq_of(record: RoomRecord) -> int:
    return record.seq


class World:
    """One Twilio account's Video state."""

    def __init__(self, account_sid: str, clock: Clock, timers: Timers, on_callback: CallbackSink) -> None:
        self.account_sid = account_sid
        self.clock = clock
        self.timers = timers
        self._on_callback = on_callback
        self._seq = itertools.count(1)
        self.rooms: dict[str, RoomRecord] = {}
        self._in_progress_by_name: dict[str, RoomRecord] = {}
        #: Rooms by status, each list sorted by creation order (``seq``) for cheap paging.
        self.rooms_by_status: dict[RoomStatus, list[RoomRecord]] = {status: [] for status in RoomStatus}
        self._participants: dict[str, ParticipantRecord] = {}
        self.connected_participants = 0
        self.media = Media(self)

    def reset(self) -> None:
        self.timers.clear()
        self.rooms.clear()
        self._in_progress_by_name.clear()
        for bucket in self.rooms_by_status.values():
            bucket.clear()
        self._participants.clear()
        self.connected_participants = 0

    # ----------------------------------------------------------------------------------- rooms

    def create_room(self, options: RoomOptions) -> RoomRecord:
        if options.unique_name is not None and options.unique_name in self._in_progress_by_name:
            raise invalid(
                ErrorCode.ROOM_EXISTS,
                f"UniqueName={options.unique_name!r} is already used by an in-progress room",
            )
        if len(self.rooms_by_status[RoomStatus.IN_PROGRESS]) >= limits.MAX_CONCURRENT_ROOMS:
            raise ApiError(
                429,
                ErrorCode.ROOMS_QUOTA_EXCEEDED,
                f"the account already has {limits.MAX_CONCURRENT_ROOMS} in-progress rooms",
            )
        now = self.clock.now()
        sid = new_sid("RM")
        room = RoomRecord(
            seq=next(self._seq),
            sid=sid,
            account_sid=self.account_sid,
            unique_name=options.unique_name or sid,
            options=options,
            status=RoomStatus.IN_PROGRESS,
            date_created=now,
            date_updated=now,
        )
        self.rooms[sid] = room
        self._in_progress_by_name[room.unique_name] = room
        self.rooms_by_status[RoomStatus.IN_PROGRESS].append(room)
        self.media.room_created(room)
        self.timers.schedule(("unused", sid), options.unused_room_timeout * 60, lambda: self._end_room(room))
        self.timers.schedule(
            ("lifetime", sid), limits.MAX_ROOM_LIFETIME_SECONDS, lambda: self._end_room(room)
        )
        self.notify(room, StatusCallbackEvent.ROOM_CREATED)
        return room

    def find_room(self, name_or_sid: str) -> RoomRecord:
        """By SID in any status; by UniqueName only while in progress (else Twilio's 404)."""
        room = self.rooms.get(name_or_sid) if is_sid(name_or_sid, "RM") else None
        room = room or self._in_progress_by_name.get(name_or_sid)
        if room is None:
            raise not_found(f"/Rooms/{name_or_sid}")
        return room

    def complete_room(self, name_or_sid: str, status: str | None) -> RoomRecord:
        room = self.find_room(name_or_sid)
        if status != RoomStatus.COMPLETED.value:
            raise invalid(
                ErrorCode.ROOM_STATUS_INVALID,
                f"Status={status!r}; the only accepted value is 'completed'"
                if status is not None
                else "Status is required and must be 'completed'",
            )
        if room.status is not RoomStatus.IN_PROGRESS:
            raise invalid(
                ErrorCode.ROOM_STATUS_INVALID,
                f"room {room.sid} is {room.status.value}; only an in-progress room can be completed",
            )
        self._end_room(room)
        return room

    def _end_room(self, room: RoomRecord) -> None:
        if room.status is not RoomStatus.IN_PROGRESS:
            return
        for participant in list(room.participants.values()):
            if participant.status is ParticipantStatus.CONNECTED:
                self._disconnect(room, participant)
        self.media.room_ending(room)
        now = self.clock.now()
        room.status = RoomStatus.COMPLETED
        room.end_time = now
        room.date_updated = now
        for key in ("unused", "empty", "lifetime"):
            self.timers.cancel((key, room.sid))
        if self._in_progress_by_name.get(room.unique_name) is room:
            del self._in_progress_by_name[room.unique_name]
        in_progress = self.rooms_by_status[RoomStatus.IN_PROGRESS]
        index = bisect.bisect_left(in_progress, room.seq, key=_seq_of)
        if index < len(in_progress) and in_progress[index] is room:
            del in_progress[index]
        bisect.insort(self.rooms_by_status[RoomStatus.COMPLETED], room, key=_seq_of)
        self.notify(room, StatusCallbackEvent.ROOM_ENDED, RoomDuration=str(room.duration))

    def list_rooms(
        self,
        status: RoomStatus,
        unique_name: str | None,
        created_after: datetime | None,
        created_before: datetime | None,
    ) -> list[RoomRecord]:
        """Matching rooms in creation order (the status bucket itself when nothing else filters)."""
        rooms = self.rooms_by_status[status]
        if unique_name is None and created_after is None and created_before is None:
            return rooms
        return [
            room
            for room in rooms
            if (unique_name is None or room.unique_name == unique_name)
            and (created_after is None or room.date_created >= created_after)
            and (created_before is None or room.date_created < created_before)
        ]

    # ---------------------------------------------------------------------------- participants

    def join(self, room_name_or_sid: str, identity: str) -> ParticipantRecord:
        """A simulated client connects (control surface)."""
        room = self.find_room(room_name_or_sid)
        if not identity:
            raise invalid(ErrorCode.PARTICIPANT_IDENTITY_INVALID, "Identity is required")
        if len(identity) > limits.MAX_IDENTITY_LENGTH:
            raise invalid(
                ErrorCode.PARTICIPANT_IDENTITY_TOO_LONG,
                f"Identity is {len(identity)} characters; at most {limits.MAX_IDENTITY_LENGTH} are allowed",
            )
        if room.status is not RoomStatus.IN_PROGRESS:
            raise invalid(ErrorCode.ROOM_COMPLETED, f"room {room.sid} is {room.status.value}")
        previous_sid = room.connected.get(identity)
        if previous_sid is None:
            if len(room.connected) >= room.options.max_participants:
                raise invalid(
                    ErrorCode.ROOM_TOO_MANY_PARTICIPANTS,
                    f"room {room.sid} is full ({room.options.max_participants} participants)",
                )
            if self.connected_participants >= limits.MAX_CONCURRENT_PARTICIPANTS:
                raise ApiError(
                    429,
                    ErrorCode.PARTICIPANTS_QUOTA_EXCEEDED,
                    f"the account already has {limits.MAX_CONCURRENT_PARTICIPANTS} connected participants",
                )
        else:
            # Joining again with the same identity kicks the earlier connection (SDK error 53205).
            self._disconnect(room, room.participants[previous_sid])
        now = self.clock.now()
        participant = ParticipantRecord(
            seq=next(self._seq),
            sid=new_sid("PA"),
            room_sid=room.sid,
            account_sid=room.account_sid,
            identity=identity,
            status=ParticipantStatus.CONNECTED,
            date_created=now,
            date_updated=now,
            start_time=now,
        )
        room.participants[participant.sid] = participant
        room.connected[identity] = participant.sid
        self._participants[participant.sid] = participant
        self.media.participant_joined(room, participant)
        self.connected_participants += 1
        self.timers.cancel(("unused", room.sid))
        self.timers.cancel(("empty", room.sid))
        self.timers.schedule(
            ("duration", participant.sid),
            room.options.max_participant_duration,
            lambda: self._disconnect(room, participant),
        )
        self.notify(room, StatusCallbackEvent.PARTICIPANT_CONNECTED, participant=participant)
        return participant

    def find_participant(
        self, room_name_or_sid: str, identity_or_sid: str
    ) -> tuple[RoomRecord, ParticipantRecord]:
        room = self.find_room(room_name_or_sid)
        participant = room.participants.get(identity_or_sid) if is_sid(identity_or_sid, "PA") else None
        if participant is None and identity_or_sid in room.connected:
            participant = room.participants[room.connected[identity_or_sid]]
        if participant is None:
            raise ApiError(
                404,
                ErrorCode.PARTICIPANT_NOT_FOUND,
                f"no participant {identity_or_sid!r} in room {room.sid}"
                + (
                    ""
                    if is_sid(identity_or_sid, "PA")
                    else " is connected (identities match connected ones only)"
                ),
            )
        return room, participant

    def update_participant(
        self, room_name_or_sid: str, identity_or_sid: str, status: str | None
    ) -> ParticipantRecord:
        room, participant = self.find_participant(room_name_or_sid, identity_or_sid)
        if status != ParticipantStatus.DISCONNECTED.value:
            raise invalid(
                ErrorCode.PARTICIPANT_STATUS_INVALID,
                f"Status={status!r}; set Status to 'disconnected'"
                if status is not None
                else "Status is required and must be 'disconnected'",
            )
        # Disconnecting someone who already left changes nothing and answers with their final state.
        self._disconnect(room, participant)
        return participant

    def leave(self, room_name_or_sid: str, identity: str) -> ParticipantRecord:
        """A simulated client hangs up (control surface)."""
        room, participant = self.find_participant(room_name_or_sid, identity)
        self._disconnect(room, participant)
        return participant

    def _disconnect(self, room: RoomRecord, participant: ParticipantRecord) -> None:
        if participant.status is ParticipantStatus.DISCONNECTED:
            return
        self.media.participant_leaving(room, participant)
        now = self.clock.now()
        participant.status = ParticipantStatus.DISCONNECTED
        participant.end_time = now
        participant.date_updated = now
        if room.connected.get(participant.identity) == participant.sid:
            del room.connected[participant.identity]
        self.connected_participants -= 1
        self.timers.cancel(("duration", participant.sid))
        self.notify(
            room,
            StatusCallbackEvent.PARTICIPANT_DISCONNECTED,
            participant=participant,
            ParticipantDuration=str(participant.duration),
        )
        if not room.connected and room.status is RoomStatus.IN_PROGRESS:
            self.timers.schedule(
                ("empty", room.sid), room.options.empty_room_timeout * 60, lambda: self._end_room(room)
            )

    def anonymize(self, room_name_or_sid: str, identity_or_sid: str) -> ParticipantRecord:
        """Replace a participant's identity by its SID, for good (Twilio documents no precondition)."""
        room, participant = self.find_participant(room_name_or_sid, identity_or_sid)
        if room.connected.get(participant.identity) == participant.sid:
            del room.connected[participant.identity]
            room.connected[participant.sid] = participant.sid
        participant.identity = participant.sid
        participant.date_updated = self.clock.now()
        return participant

    def list_participants(
        self,
        room_name_or_sid: str,
        status: ParticipantStatus | None,
        identity: str | None,
        created_after: datetime | None,
        created_before: datetime | None,
    ) -> list[ParticipantRecord]:
        room = self.find_room(room_name_or_sid)
        if status is None:
            # Twilio: connected ones for an in-progress room, disconnected ones for a completed room.
            status = (
                ParticipantStatus.CONNECTED
                if room.status is RoomStatus.IN_PROGRESS
                else ParticipantStatus.DISCONNECTED
            )
        return [
            p
            for p in room.participants.values()
            if p.status is status
            and (identity is None or p.identity == identity)
            and (created_after is None or p.start_time >= created_after)
            and (created_before is None or p.start_time < created_before)
        ]

    # --------------------------------------------------------------------------------- events

    def notify(
        self,
        room: RoomRecord,
        event: StatusCallbackEvent,
        participant: ParticipantRecord | None = None,
        **extra: str,
    ) -> None:
        """Send ``event`` to the room's StatusCallback (every event takes a sequence number)."""
        sequence_number = room.next_sequence_number
        room.next_sequence_number += 1
        if room.options.status_callback is None:
            return
        params = {
            "AccountSid": room.account_sid,
            "RoomName": room.unique_name,
            "RoomSid": room.sid,
            "RoomStatus": room.status.value,
            "RoomType": room.options.type.value,
            "StatusCallbackEvent": event.value,
            "Timestamp": format_callback_timestamp(self.clock.now()),
            "SequenceNumber": str(sequence_number),
        }
        if participant is not None:
            params |= {
                "ParticipantSid": participant.sid,
                "ParticipantStatus": participant.status.value,
                "ParticipantIdentity": participant.identity,
            }
        params |= extra
        self._on_callback(
            CallbackRequest(
                account_sid=room.account_sid,
                url=room.options.status_callback,
                method=room.options.status_callback_method.value,
                params=params,
            )
        )

    def all_participants(self) -> Iterable[ParticipantRecord]:
        return self._participants.values()
