"""Pydantic models of Video v1 Rooms and Participants as they travel on the wire (snake_case JSON).

One definition, used by the emulator to render responses, by the client to parse them and by the tests
to check them. Field nullability follows the spec where real responses do send ``null``; fields the
service always fills are kept non-optional so callers need no pointless checks.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from twilio_video.sids import AccountSid, ParticipantSid, RoomSid
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
    ROOM_CREATED = "room-created"
    ROOM_ENDED = "room-ended"
    PARTICIPANT_CONNECTED = "participant-connected"
    PARTICIPANT_DISCONNECTED = "participant-disconnected"


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
