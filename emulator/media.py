"""Simulated media: published tracks, who receives them, what gets recorded, and transcriptions.

No media exists in the emulator, so a track is a record a test publishes through the control surface.
From those records the Twilio resources follow Twilio's rules: a participant's subscribed tracks are
the other participants' tracks its subscribe rules select; a room records each published track its
recording rules select (one recording per stretch of time the track is selected); a transcription
runs from its start until it is stopped or the room ends. Each change raises the status callback
Twilio documents for it (track-added/removed/enabled/disabled, recording-started/completed/failed).
"""

from __future__ import annotations

import itertools
import json
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from emulator.errors import invalid, not_found
from twilio_video import limits
from twilio_video.error_codes import ErrorCode
from twilio_video.models import (
    ParticipantStatus,
    RecordingCodec,
    RecordingContainer,
    RecordingStatus,
    RoomStatus,
    RuleType,
    StatusCallbackEvent,
    TrackKind,
    TranscriptionStatus,
)
from twilio_video.params import CreateRoomParams
from twilio_video.room_rules import (
    RECORDING_RULES_GRAMMAR,
    SUBSCRIBE_RULES_GRAMMAR,
    TRANSCRIBE_PARTICIPANTS_ON_CONNECT,
    TrackRulesGrammar,
    Wording,
)
from twilio_video.sids import is_sid, new_sid

if TYPE_CHECKING:
    from emulator.state import ParticipantRecord, RoomRecord, World

#: Every track is received unless a participant's rules say otherwise (Twilio's default on connect).
DEFAULT_SUBSCRIBE_RULES: Final = ({"type": "include", "all": True},)
#: What ``RecordParticipantsOnConnect`` seeds a room's recording rules with.
RECORD_EVERYTHING: Final = ({"type": "include", "all": True},)
#: Simulated recording sizes: bytes per second of a 32 kbit/s Opus and a 500 kbit/s VP8 track.
_BYTES_PER_SECOND: Final = {TrackKind.AUDIO: 4_000, TrackKind.VIDEO: 62_500}
#: Why a recording failed, as the ``FailedOperation`` of a recording-failed callback.
FAILED_OPERATIONS: Final = ("RecordingStart", "RecordingComplete", "RecordingUpload")


@dataclass
class TrackRecord:
    """A track a participant publishes (while ``published``)."""

    seq: int
    sid: str
    room_sid: str
    participant_sid: str
    name: str
    kind: TrackKind
    enabled: bool
    date_created: datetime
    date_updated: datetime
    published: bool = True
    #: The recording capturing this track now, if any.
    recording_sid: str | None = None


@dataclass
class RecordingRecord:
    """One recorded stretch of a track."""

    seq: int
    sid: str
    room_sid: str
    account_sid: str
    participant_sid: str
    track: TrackRecord
    status: RecordingStatus
    date_created: datetime
    #: Milliseconds from the emulator's "Twilio Video epoch" (the Unix epoch) to the room's start.
    offset: int
    codec: RecordingCodec
    end_time: datetime | None = None
    deleted: bool = False

    @property
    def container(self) -> RecordingContainer:
        return RecordingContainer.MKA if self.track.kind is TrackKind.AUDIO else RecordingContainer.MKV

    @property
    def duration(self) -> int | None:
        """Whole seconds, a sub-second recording counting as 1 (Twilio's rounding)."""
        if self.end_time is None:
            return None
        return max(1, round((self.end_time - self.date_created).total_seconds()))

    @property
    def size(self) -> int | None:
        seconds = self.duration
        return None if seconds is None else seconds * _BYTES_PER_SECOND[self.track.kind]


@dataclass
class TranscriptionRecord:
    seq: int
    ttid: str
    room_sid: str
    account_sid: str
    status: TranscriptionStatus
    configuration: dict[str, Any]
    date_created: datetime
    date_updated: datetime
    start_time: datetime
    end_time: datetime | None = None

    @property
    def duration(self) -> int | None:
        """Seconds from the (last) start to the stop; populated once stopped."""
        if self.end_time is None:
            return None
        return int((self.end_time - self.start_time).total_seconds())


@dataclass
class RuleSet:
    """A singleton rules resource: the rules, and when they were first set and last changed."""

    rules: list[dict[str, Any]]
    date_created: datetime | None
    date_updated: datetime | None


@dataclass
class RoomMedia:
    """A room's recording rules, recordings and transcriptions."""

    recording_rules: RuleSet
    recordings: dict[str, RecordingRecord] = field(default_factory=dict)
    transcriptions: dict[str, TranscriptionRecord] = field(default_factory=dict)


@dataclass
class ParticipantMedia:
    """A participant's tracks (every one it published, in order) and subscribe rules."""

    subscribe_rules: RuleSet
    tracks: dict[str, TrackRecord] = field(default_factory=dict)

    def published(self) -> list[TrackRecord]:
        return [track for track in self.tracks.values() if track.published]


def matches(rule: Mapping[str, Any], track: TrackRecord, publisher: ParticipantRecord) -> bool:
    """Whether every filter of ``rule`` selects ``track`` (of ``publisher``)."""
    if rule.get("all"):
        return True
    accepted: dict[str, tuple[str, ...]] = {
        "publisher": (publisher.identity, publisher.sid),
        "track": (track.name, track.sid),
        "kind": (track.kind.value,),
    }
    return all(rule[key] in values for key, values in accepted.items() if rule.get(key) is not None)


def selected(rules: Iterable[Mapping[str, Any]], track: TrackRecord, publisher: ParticipantRecord) -> bool:
    """Twilio's rule algebra: start from nothing; each matching rule includes or excludes."""
    chosen = False
    for rule in rules:
        if matches(rule, track, publisher):
            chosen = rule["type"] == RuleType.INCLUDE
    return chosen


def parse_rules(raw: str | None, grammar: TrackRulesGrammar, parameter: str) -> list[dict[str, Any]]:
    """``Rules`` (a JSON string) checked against ``grammar``, or Twilio's 400 naming the problem."""
    if raw is None:
        raise invalid(grammar.code, f"{parameter} is required: a JSON array of rules")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise invalid(
            grammar.code, f"{parameter}: not valid JSON ({exc.msg} at position {exc.pos})"
        ) from None
    problem = grammar.problem(value)
    if problem:
        raise invalid(grammar.code, f"{parameter}: {problem}")
    return grammar.normalized(value)


class Media:
    """The media side of one ``World``: tracks, rules, recordings and transcriptions."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._seq = itertools.count(1)

    # ------------------------------------------------------------------------------ set-up hooks

    def room_created(self, room: RoomRecord) -> None:
        options = room.options
        if options.recording_rules is not None:
            rules = RECORDING_RULES_GRAMMAR.normalized(options.recording_rules)
        elif options.record_participants_on_connect:
            rules = [dict(rule) for rule in RECORD_EVERYTHING]
        else:
            rules = []
        room.media = RoomMedia(RuleSet(rules, room.date_created, room.date_created))

    def participant_joined(self, room: RoomRecord, participant: ParticipantRecord) -> None:
        participant.media = ParticipantMedia(
            RuleSet([dict(rule) for rule in DEFAULT_SUBSCRIBE_RULES], None, None)
        )
        # TranscribeParticipantsOnConnect starts the room's transcription with its first participant;
        # once a room has had one, starting again is the API's business.
        if room.options.transcribe_participants_on_connect and not room.media.transcriptions:
            self._start_transcription(room, room.options.transcriptions_configuration or {})

    def participant_leaving(self, room: RoomRecord, participant: ParticipantRecord) -> None:
        """Before ``participant-disconnected``: its tracks go, and their recordings complete."""
        for track in participant.media.published():
            self._unpublish(room, participant, track)

    def room_ending(self, room: RoomRecord) -> None:
        """After everyone left, before ``room-ended``: transcriptions stop."""
        now = self.world.clock.now()
        for transcription in room.media.transcriptions.values():
            if transcription.status is TranscriptionStatus.STARTED:
                transcription.status = TranscriptionStatus.STOPPED
                transcription.end_time = now
                transcription.date_updated = now

    # ------------------------------------------------------------------------------------ tracks

    def publish(
        self, room: RoomRecord, participant: ParticipantRecord, kind: str, name: str | None
    ) -> TrackRecord:
        """A simulated client publishes a track (control surface)."""
        try:
            track_kind = TrackKind(kind)
        except ValueError:
            raise invalid(
                ErrorCode.INVALID_PARAMETER, f"Kind={kind!r} is not one of {', '.join(TrackKind)}"
            ) from None
        if track_kind is TrackKind.VIDEO and room.options.audio_only:
            raise invalid(ErrorCode.TRACK_KIND_NOT_SUPPORTED, f"room {room.sid} is audio-only")
        sid = new_sid("MT")
        name = sid if name is None else name
        if not name or len(name) > limits.MAX_TRACK_NAME_LENGTH:
            raise invalid(
                ErrorCode.INVALID_PARAMETER,
                f"Name must be 1 to {limits.MAX_TRACK_NAME_LENGTH} characters, got {len(name)}",
            )
        published = participant.media.published()
        if any(track.name == name for track in published):
            raise invalid(
                ErrorCode.INVALID_PARAMETER,
                f"Name={name!r} is already published by {participant.identity!r}; a participant's track "
                "names are unique",
            )
        cap = room.options.max_concurrent_published_tracks
        if cap and sum(len(p.media.published()) for p in self._connected(room)) >= cap:
            raise invalid(
                ErrorCode.INVALID_PARAMETER,
                f"room {room.sid} already has {cap} published tracks, the most a "
                f"'{room.options.type}' room allows",
            )
        now = self.world.clock.now()
        track = TrackRecord(
            seq=next(self._seq),
            sid=sid,
            room_sid=room.sid,
            participant_sid=participant.sid,
            name=name,
            kind=track_kind,
            enabled=True,
            date_created=now,
            date_updated=now,
        )
        participant.media.tracks[sid] = track
        self._track_event(room, participant, track, StatusCallbackEvent.TRACK_ADDED)
        self._sync_recording(room, participant, track)
        return track

    def find_track(self, participant: ParticipantRecord, name_or_sid: str, path: str) -> TrackRecord:
        """A published track by SID or name (Twilio's ``{TrackNameOrSid}``)."""
        for track in participant.media.published():
            if name_or_sid in (track.sid, track.name):
                return track
        raise not_found(path)

    def unpublish(self, room: RoomRecord, participant: ParticipantRecord, track: TrackRecord) -> None:
        self._unpublish(room, participant, track)

    def set_enabled(
        self, room: RoomRecord, participant: ParticipantRecord, track: TrackRecord, enabled: bool
    ) -> None:
        """Pause or unpause a track; only a change raises track-enabled / track-disabled."""
        if track.enabled == enabled:
            return
        track.enabled = enabled
        track.date_updated = self.world.clock.now()
        event = StatusCallbackEvent.TRACK_ENABLED if enabled else StatusCallbackEvent.TRACK_DISABLED
        self._track_event(room, participant, track, event)

    def _unpublish(self, room: RoomRecord, participant: ParticipantRecord, track: TrackRecord) -> None:
        track.published = False
        track.date_updated = self.world.clock.now()
        self._sync_recording(room, participant, track)
        self._track_event(room, participant, track, StatusCallbackEvent.TRACK_REMOVED)

    def published_tracks(self, participant: ParticipantRecord) -> list[TrackRecord]:
        return participant.media.published()

    def subscribed_tracks(self, room: RoomRecord, participant: ParticipantRecord) -> list[TrackRecord]:
        """The other connected participants' tracks this participant's subscribe rules select."""
        if participant.status is ParticipantStatus.DISCONNECTED:
            return []
        rules = participant.media.subscribe_rules.rules
        found = [
            track
            for publisher in self._connected(room)
            if publisher is not participant
            for track in publisher.media.published()
            if selected(rules, track, publisher)
        ]
        return sorted(found, key=lambda track: track.seq)

    def update_subscribe_rules(self, participant: ParticipantRecord, raw: str | None) -> None:
        rules = parse_rules(raw, SUBSCRIBE_RULES_GRAMMAR, "Rules")
        now = self.world.clock.now()
        current = participant.media.subscribe_rules
        current.rules = rules
        current.date_created = current.date_created or now
        current.date_updated = now

    # -------------------------------------------------------------------------------- recordings

    def update_recording_rules(self, room: RoomRecord, raw: str | None) -> None:
        if room.status is not RoomStatus.IN_PROGRESS:
            raise invalid(ErrorCode.ROOM_COMPLETED, f"room {room.sid} is {room.status.value}")
        self._check_recordable(room, "RecordingRules")
        rules = parse_rules(raw, RECORDING_RULES_GRAMMAR, "Rules")
        current = room.media.recording_rules
        current.rules = rules
        current.date_updated = self.world.clock.now()
        for participant in self._connected(room):
            for track in participant.media.published():
                self._sync_recording(room, participant, track)

    def _check_recordable(self, room: RoomRecord, what: str) -> None:
        if room.options.type not in limits.MEDIA_SERVER_ROOM_TYPES:
            raise invalid(
                ErrorCode.RECORDING_NOT_SUPPORTED,
                f"{what}: a '{room.options.type}' room has no media server to record",
            )

    def _sync_recording(self, room: RoomRecord, participant: ParticipantRecord, track: TrackRecord) -> None:
        """Start or complete ``track``'s recording so that it runs exactly while the rules select it."""
        wanted = (
            track.published
            and track.kind is not TrackKind.DATA  # Twilio records audio and video only
            and room.status is RoomStatus.IN_PROGRESS
            and selected(room.media.recording_rules.rules, track, participant)
        )
        if wanted and track.recording_sid is None:
            self._start_recording(room, participant, track)
        elif not wanted and track.recording_sid is not None:
            recording = room.media.recordings[track.recording_sid]
            track.recording_sid = None
            recording.status = RecordingStatus.COMPLETED
            recording.end_time = self.world.clock.now()
            self._recording_event(room, participant, recording, StatusCallbackEvent.RECORDING_COMPLETED)

    def _start_recording(self, room: RoomRecord, participant: ParticipantRecord, track: TrackRecord) -> None:
        codec = (
            RecordingCodec.OPUS
            if track.kind is TrackKind.AUDIO
            else RecordingCodec(room.options.video_codecs[0].value if room.options.video_codecs else "VP8")
        )
        recording = RecordingRecord(
            seq=next(self._seq),
            sid=new_sid("RT"),
            room_sid=room.sid,
            account_sid=room.account_sid,
            participant_sid=participant.sid,
            track=track,
            status=RecordingStatus.PROCESSING,
            date_created=self.world.clock.now(),
            offset=math.floor(room.date_created.timestamp() * 1000),
            codec=codec,
        )
        room.media.recordings[recording.sid] = recording
        track.recording_sid = recording.sid
        self._recording_event(room, participant, recording, StatusCallbackEvent.RECORDING_STARTED)

    def find_recording(self, room: RoomRecord, sid: str, path: str) -> RecordingRecord:
        recording = room.media.recordings.get(sid) if is_sid(sid, "RT") else None
        if recording is None:
            raise not_found(path)
        return recording

    def list_recordings(
        self,
        room: RoomRecord,
        status: RecordingStatus | None,
        source_sid: str | None,
        created_after: datetime | None,
        created_before: datetime | None,
    ) -> list[RecordingRecord]:
        return [
            recording
            for recording in room.media.recordings.values()
            if (status is None or recording.status is status)
            and (source_sid is None or recording.track.sid == source_sid)
            and (created_after is None or recording.date_created >= created_after)
            and (created_before is None or recording.date_created < created_before)
        ]

    def delete_recording(self, recording: RecordingRecord) -> None:
        """Delete the media; the record stays, ``deleted`` (Twilio keeps the metadata)."""
        if recording.status is RecordingStatus.PROCESSING:
            raise invalid(
                ErrorCode.INVALID_PARAMETER,
                f"recording {recording.sid} is still processing; it can be deleted once completed",
            )
        recording.status = RecordingStatus.DELETED

    def fail_recording(self, room: RoomRecord, recording: RecordingRecord, operation: str) -> None:
        """The control surface's way to see a recording fail (recording-failed, ``FailedOperation``)."""
        if operation not in FAILED_OPERATIONS:
            raise invalid(
                ErrorCode.INVALID_PARAMETER,
                f"FailedOperation={operation!r} is not one of {', '.join(FAILED_OPERATIONS)}",
            )
        if recording.status is not RecordingStatus.PROCESSING:
            raise invalid(
                ErrorCode.INVALID_PARAMETER,
                f"recording {recording.sid} is {recording.status.value}; only a processing one can fail",
            )
        recording.status = RecordingStatus.FAILED
        recording.end_time = self.world.clock.now()
        if recording.track.recording_sid == recording.sid:
            recording.track.recording_sid = None
        participant = room.participants[recording.participant_sid]
        self._recording_event(
            room, participant, recording, StatusCallbackEvent.RECORDING_FAILED, FailedOperation=operation
        )

    # ---------------------------------------------------------------------------- transcriptions

    def create_transcription(
        self, room: RoomRecord, configuration: dict[str, Any] | None
    ) -> TranscriptionRecord:
        if room.status is not RoomStatus.IN_PROGRESS:
            raise invalid(ErrorCode.ROOM_COMPLETED, f"room {room.sid} is {room.status.value}")
        asked = CreateRoomParams(type=room.options.type, transcribe_participants_on_connect=True)
        if violation := TRANSCRIBE_PARTICIPANTS_ON_CONNECT.judge(asked, Wording.WIRE):
            raise invalid(violation.code, f"a transcription {violation.rule}")
        running = [t for t in room.media.transcriptions.values() if t.status is TranscriptionStatus.STARTED]
        if running:
            raise invalid(
                ErrorCode.INVALID_PARAMETER,
                f"room {room.sid} is already transcribed by {running[0].ttid}; update or stop that one",
            )
        default = room.options.transcriptions_configuration or {}
        return self._start_transcription(room, default if configuration is None else configuration)

    def _start_transcription(self, room: RoomRecord, configuration: dict[str, Any]) -> TranscriptionRecord:
        now = self.world.clock.now()
        transcription = TranscriptionRecord(
            seq=next(self._seq),
            ttid=f"video_extension_{uuid.uuid4()}",
            room_sid=room.sid,
            account_sid=room.account_sid,
            status=TranscriptionStatus.STARTED,
            configuration=dict(configuration),
            date_created=now,
            date_updated=now,
            start_time=now,
        )
        room.media.transcriptions[transcription.ttid] = transcription
        return transcription

    def find_transcription(self, room: RoomRecord, ttid: str, path: str) -> TranscriptionRecord:
        transcription = room.media.transcriptions.get(ttid)
        if transcription is None:
            raise not_found(path)
        return transcription

    def update_transcription(
        self,
        room: RoomRecord,
        transcription: TranscriptionRecord,
        status: str | None,
        configuration: dict[str, Any] | None,
    ) -> None:
        """Stop, restart (``Status``) or reconfigure (``Configuration``) a transcription."""
        allowed = (TranscriptionStatus.STARTED, TranscriptionStatus.STOPPED)
        if status is not None and status not in allowed:
            raise invalid(
                ErrorCode.INVALID_PARAMETER, f"Status={status!r}; set Status to 'started' or 'stopped'"
            )
        if status is None and configuration is None:
            raise invalid(ErrorCode.INVALID_PARAMETER, "nothing to update: give Status or Configuration")
        if room.status is not RoomStatus.IN_PROGRESS:
            raise invalid(ErrorCode.ROOM_COMPLETED, f"room {room.sid} is {room.status.value}")
        now = self.world.clock.now()
        if configuration is not None:
            transcription.configuration = dict(configuration)
        if status == TranscriptionStatus.STOPPED and transcription.status is TranscriptionStatus.STARTED:
            transcription.status = TranscriptionStatus.STOPPED
            transcription.end_time = now
        elif (
            status == TranscriptionStatus.STARTED and transcription.status is not TranscriptionStatus.STARTED
        ):
            others = [
                t
                for t in room.media.transcriptions.values()
                if t is not transcription and t.status is TranscriptionStatus.STARTED
            ]
            if others:
                raise invalid(
                    ErrorCode.INVALID_PARAMETER,
                    f"room {room.sid} is already transcribed by {others[0].ttid}; stop that one first",
                )
            transcription.status = TranscriptionStatus.STARTED
            transcription.start_time = now
            transcription.end_time = None
        transcription.date_updated = now

    # ------------------------------------------------------------------------------------ events

    def _connected(self, room: RoomRecord) -> Sequence[ParticipantRecord]:
        return [room.participants[sid] for sid in room.connected.values()]

    def _track_event(
        self, room: RoomRecord, participant: ParticipantRecord, track: TrackRecord, event: StatusCallbackEvent
    ) -> None:
        self.world.notify(room, event, participant, TrackSid=track.sid, TrackKind=track.kind.value)

    def _recording_event(
        self,
        room: RoomRecord,
        participant: ParticipantRecord,
        recording: RecordingRecord,
        event: StatusCallbackEvent,
        **extra: str,
    ) -> None:
        uri = f"/v1/Rooms/{room.sid}/Recordings/{recording.sid}"
        params = {
            "RecordingSid": recording.sid,
            "SourceSid": recording.track.sid,
            "RecordingUri": uri,
            "Container": recording.container.value,
            "Codec": recording.codec.value,
            "TrackName": recording.track.name,
            "OffsetFromTwilioVideoEpoch": str(recording.offset),
            "Type": recording.track.kind.value,
        }
        if event is StatusCallbackEvent.RECORDING_COMPLETED:
            params |= {
                "MediaUri": f"{uri}/Media",
                "Duration": str(recording.duration),
                "Size": str(recording.size),
            }
        self.world.notify(room, event, participant, **params, **extra)
