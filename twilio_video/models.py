"""Pydantic models of Video v1 Rooms and Participants as they travel on the wire (snake_case JSON).

One definition, used by the emulator to render responses, by the client to parse them and by the tests
to check them. Field nullability follows the spec where real responses do send ``null``; fields the
service always fills are kept non-optional so callers need no pointless checks.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from twilio_video.sids import AccountSid, ParticipantSid, RecordingSid, RoomSid, TrackSid
from twilio_video.timefmt import TwilioDateTime

ERROR_DOCS_URL: Final = "https://www.twilio.com/docs/errors/{code}"


class RoomStatus(StrEnum):
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    FAILED = "failed"


class RoomType(StrEnum):
    """Twilio's room types; each has its own participant cap (`twilio_video.limits`)."""

    GROUP = "group"
    GO = "go"
    PEER_TO_PEER = "peer-to-peer"
    GROUP_SMALL = "group-small"


class VideoCodec(StrEnum):
    """Video codecs a room may offer."""

    VP8 = "VP8"
    H264 = "H264"


class HttpMethod(StrEnum):
    GET = "GET"
    POST = "POST"


class ParticipantStatus(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RECONNECTING = "reconnecting"


class StatusCallbackEvent(StrEnum):
    """Every event Twilio documents for a room's ``StatusCallback``."""

    ROOM_CREATED = "room-created"
    ROOM_ENDED = "room-ended"
    PARTICIPANT_CONNECTED = "participant-connected"
    PARTICIPANT_DISCONNECTED = "participant-disconnected"
    TRACK_ADDED = "track-added"
    TRACK_REMOVED = "track-removed"
    #: A track was unpaused / paused by its publisher.
    TRACK_ENABLED = "track-enabled"
    TRACK_DISABLED = "track-disabled"
    RECORDING_STARTED = "recording-started"
    RECORDING_COMPLETED = "recording-completed"
    RECORDING_FAILED = "recording-failed"


class TrackKind(StrEnum):
    """What a published track carries."""

    AUDIO = "audio"
    VIDEO = "video"
    DATA = "data"


class RuleType(StrEnum):
    """Whether a recording or subscribe rule adds the tracks it matches or takes them away."""

    INCLUDE = "include"
    EXCLUDE = "exclude"


class RecordingStatus(StrEnum):
    PROCESSING = "processing"
    COMPLETED = "completed"
    DELETED = "deleted"
    FAILED = "failed"


class RecordingContainer(StrEnum):
    MKA = "mka"
    MKV = "mkv"


class RecordingCodec(StrEnum):
    VP8 = "VP8"
    H264 = "H264"
    OPUS = "OPUS"
    PCMU = "PCMU"


class TranscriptionStatus(StrEnum):
    STARTED = "started"
    STOPPED = "stopped"
    FAILED = "failed"


class _Resource(BaseModel):
    # Twilio adds fields over time; a client must not break on them.
    model_config = ConfigDict(extra="ignore", frozen=True)


class Room(_Resource):
    """``video.v1.room``."""

    sid: RoomSid
    status: RoomStatus
    date_created: TwilioDateTime
    date_updated: TwilioDateTime
    account_sid: AccountSid
    enable_turn: bool | None = True
    unique_name: str
    status_callback: str | None = None
    status_callback_method: HttpMethod | None = HttpMethod.POST
    end_time: TwilioDateTime | None = None
    duration: int | None = None
    type: RoomType
    max_participants: int
    max_participant_duration: int
    max_concurrent_published_tracks: int | None = None
    record_participants_on_connect: bool | None = False
    video_codecs: list[VideoCodec] | None = None
    media_region: str | None = None
    audio_only: bool | None = False
    empty_room_timeout: int
    unused_room_timeout: int
    large_room: bool | None = False
    url: str
    links: dict[str, str] = Field(default_factory=dict)


class Participant(_Resource):
    """``video.v1.room.room_participant``."""

    sid: ParticipantSid
    room_sid: RoomSid
    account_sid: AccountSid
    status: ParticipantStatus
    identity: str
    date_created: TwilioDateTime
    date_updated: TwilioDateTime
    start_time: TwilioDateTime | None = None
    end_time: TwilioDateTime | None = None
    duration: int | None = None
    url: str
    links: dict[str, str] = Field(default_factory=dict)


class ParticipantAnonymized(_Resource):
    """``video.v1.room.room_participant.room_participant_anonymize``: the participant, its identity
    replaced by its SID; no ``links``, and a ``url`` ending in ``/Anonymize``."""

    sid: ParticipantSid
    room_sid: RoomSid
    account_sid: AccountSid
    status: ParticipantStatus
    identity: str
    date_created: TwilioDateTime
    date_updated: TwilioDateTime
    start_time: TwilioDateTime | None = None
    end_time: TwilioDateTime | None = None
    duration: int | None = None
    url: str


class PublishedTrack(_Resource):
    """``video.v1.room.room_participant.room_participant_published_track``."""

    sid: TrackSid
    participant_sid: ParticipantSid
    room_sid: RoomSid
    name: str
    date_created: TwilioDateTime
    date_updated: TwilioDateTime
    enabled: bool
    kind: TrackKind
    url: str


class SubscribedTrack(_Resource):
    """``…room_participant_subscribed_track``: a track of ``publisher_sid`` that ``participant_sid``
    receives (its SID is the published track's)."""

    sid: TrackSid
    participant_sid: ParticipantSid
    publisher_sid: ParticipantSid
    room_sid: RoomSid
    name: str
    date_created: TwilioDateTime
    date_updated: TwilioDateTime
    enabled: bool
    kind: TrackKind
    url: str


class TrackRule(BaseModel):
    """One recording or subscribe rule as Twilio echoes it: ``type`` and the filters it uses.

    Unused filters are left out. (Twilio's examples of subscribe rules show them as ``null``, but its
    schema types every filter as a non-null string, and its recording rules' model omits nulls.)
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    type: RuleType
    all: bool | None = None
    publisher: str | None = None
    track: str | None = None
    kind: str | None = None
    priority: str | None = None


class RecordingRules(_Resource):
    """``video.v1.room.room_recording_rule``: the room's recording rules (a singleton)."""

    room_sid: RoomSid
    rules: list[TrackRule]
    date_created: TwilioDateTime | None = None
    date_updated: TwilioDateTime | None = None

    @field_serializer("rules")
    def _without_nulls(self, rules: list[TrackRule]) -> list[dict[str, Any]]:
        return _rules_without_nulls(rules)


class SubscribeRules(_Resource):
    """``…room_participant_subscribe_rule``: which tracks a participant receives (a singleton)."""

    participant_sid: ParticipantSid
    room_sid: RoomSid
    rules: list[TrackRule]
    date_created: TwilioDateTime | None = None
    date_updated: TwilioDateTime | None = None

    @field_serializer("rules")
    def _without_nulls(self, rules: list[TrackRule]) -> list[dict[str, Any]]:
        return _rules_without_nulls(rules)


def _rules_without_nulls(rules: list[TrackRule]) -> list[dict[str, Any]]:
    # Twilio's schema types every filter as a non-null string, and its Java model omits nulls.
    return [rule.model_dump(mode="json", exclude_none=True) for rule in rules]


class RoomRecording(_Resource):
    """``video.v1.room.room_recording``: one recorded track."""

    account_sid: AccountSid
    status: RecordingStatus
    date_created: TwilioDateTime
    sid: RecordingSid
    source_sid: TrackSid
    size: int | None = None
    url: str
    type: TrackKind
    duration: int | None = None
    container_format: RecordingContainer
    codec: RecordingCodec
    grouping_sids: dict[str, str]
    track_name: str
    offset: int
    media_external_location: str | None = None
    room_sid: RoomSid
    links: dict[str, str] = Field(default_factory=dict)


class Transcription(_Resource):
    """``video.v1.room.room_transcriptions``: a room's real-time transcription, by ``ttid``."""

    ttid: str
    account_sid: AccountSid
    room_sid: RoomSid
    source_sid: str | None = None
    status: TranscriptionStatus
    date_created: TwilioDateTime
    date_updated: TwilioDateTime
    start_time: TwilioDateTime | None = None
    end_time: TwilioDateTime | None = None
    duration: int | None = None
    url: str
    configuration: dict[str, Any] | None = None


class PageMeta(_Resource):
    """The ``meta`` envelope of every list response."""

    page: int
    page_size: int
    first_page_url: str
    previous_page_url: str | None
    url: str
    next_page_url: str | None
    key: str


class Page(_Resource):
    """A list response: the items under ``meta.key``, and the paging envelope."""

    meta: PageMeta


class RoomPage(Page):
    rooms: list[Room]


class ParticipantPage(Page):
    participants: list[Participant]


class PublishedTrackPage(Page):
    published_tracks: list[PublishedTrack]


class SubscribedTrackPage(Page):
    subscribed_tracks: list[SubscribedTrack]


class RoomRecordingPage(Page):
    recordings: list[RoomRecording]


class TranscriptionPage(Page):
    transcriptions: list[Transcription]


class TwilioErrorBody(_Resource):
    """Twilio's error body: ``{"code", "message", "more_info", "status"}`` (+ ``detail`` on some)."""

    code: int
    message: str
    more_info: str
    status: int
    detail: str | None = None

    @classmethod
    def build(cls, status: int, code: int, message: str, detail: str | None = None) -> TwilioErrorBody:
        return cls(
            code=code,
            message=message,
            more_info=ERROR_DOCS_URL.format(code=code),
            status=status,
            detail=detail,
        )
