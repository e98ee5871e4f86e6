"""MeetingWorkflow's contract (PRODUCT.md §4): input, live-control messages, status, result.

Validation happens while the input is decoded, so a bad spec fails the run at once (the workflow lists
``pydantic.ValidationError`` as a failure type) with the field named, before any room exists. Limits come
from ``twilio_video.limits``, the one place Twilio's rules are written down.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    StringConstraints,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from twilio_video import limits
from twilio_video.models import RoomType, VideoCodec
from twilio_video.params import CreateRoomParams

#: The longest meeting window roomkeeper accepts (a room itself lives at most 24 h; longer meetings
#: get successive rooms under the ``recreate`` policy).
MAX_MEETING_DURATION = timedelta(days=7)

MeetingId = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")
]
#: Characters a room name may not hold: RFC 3986's reserved set and "%" (a room name is addressed as a
#: URL path segment, reference §8.7), the backslash (some clients turn it into "/"), control characters.
_NOT_IN_ROOM_NAMES = frozenset("/?#[]@!$&'()*+,;=%\\") | {chr(c) for c in (*range(0x20), 0x7F)}


def _addressable_in_a_url(name: str) -> str:
    bad = sorted({c for c in name if c in _NOT_IN_ROOM_NAMES})
    if bad:
        raise ValueError(
            f"may not contain {' '.join(repr(c) for c in bad)} (it is used as a URL path segment)"
        )
    if name in (".", ".."):
        raise ValueError(f"{name!r} is a relative path segment, which URLs normalise away")
    return name


RoomName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=limits.MAX_UNIQUE_NAME_LENGTH),
    AfterValidator(_addressable_in_a_url),
]


DEFAULT_MAX_PARTICIPANTS = 10


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoomSpec(_Model):
    """How the Twilio room is configured. Defaults are PRODUCT.md §4's."""

    unique_name: RoomName | None = None
    type: RoomType = RoomType.GROUP
    #: Default 10, or the type's cap when that is smaller.
    max_participants: int = Field(
        DEFAULT_MAX_PARTICIPANTS, ge=1, le=max(limits.MAX_PARTICIPANTS_BY_TYPE.values())
    )
    #: Seconds a participant may stay; roomkeeper evicts at this mark (Twilio's own cap is set a little
    #: later, as a backstop).
    max_participant_duration: int = Field(
        3600, ge=limits.MIN_PARTICIPANT_DURATION_SECONDS, le=limits.MAX_PARTICIPANT_DURATION_SECONDS
    )
    empty_room_timeout: int = Field(5, ge=limits.ROOM_TIMEOUT_MIN_MINUTES, le=limits.ROOM_TIMEOUT_MAX_MINUTES)
    unused_room_timeout: int = Field(
        5, ge=limits.ROOM_TIMEOUT_MIN_MINUTES, le=limits.ROOM_TIMEOUT_MAX_MINUTES
    )
    record_participants_on_connect: bool = False
    video_codecs: list[VideoCodec] = Field(default_factory=lambda: [VideoCodec.VP8])
    media_region: str = limits.DEFAULT_MEDIA_REGION
    audio_only: bool = False
    large_room: bool = False

    @model_validator(mode="before")
    @classmethod
    def _default_fits_the_type(cls, data: Any) -> Any:
        # The default of 10 is more than a `go` or `group-small` room holds: default to the type's cap.
        if isinstance(data, dict) and "max_participants" not in data:
            try:
                cap = limits.MAX_PARTICIPANTS_BY_TYPE[RoomType(data.get("type", RoomType.GROUP))]
            except ValueError:
                return data  # an unknown type is reported by the field's own validation
            return data | {"max_participants": min(DEFAULT_MAX_PARTICIPANTS, cap)}
        return data

    @model_validator(mode="after")
    def _twilio_rules(self) -> Self:
        problems = []
        cap = limits.MAX_PARTICIPANTS_BY_TYPE[self.type]
        if self.max_participants > cap:
            problems.append(
                f"max_participants={self.max_participants} exceeds {cap}, "
                f"the cap for type {self.type.value!r}"
            )
        if self.media_region not in limits.MEDIA_REGIONS:
            regions = ", ".join(sorted(limits.MEDIA_REGIONS))
            problems.append(f"media_region={self.media_region!r} is not one of {regions}")
        if self.audio_only and self.type is not RoomType.GROUP:
            problems.append(f"audio_only needs type 'group', not {self.type.value!r}")
        if self.record_participants_on_connect and self.type in (RoomType.PEER_TO_PEER, RoomType.GO):
            problems.append(f"record_participants_on_connect is not supported for type {self.type.value!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class RoomEndsEarly(StrEnum):
    """What happens when Twilio ends the room before the meeting's end (idle timeouts, 24 h cap...)."""

    #: Create a fresh room with the same name, so the meeting stays joinable until its end.
    RECREATE = "recreate"
    #: The meeting ends with its room.
    END_MEETING = "end_meeting"


class MeetingSpec(_Model):
    """The workflow input: one meeting. Only ``meeting_id``, ``start_time`` and ``end_time`` are required."""

    meeting_id: MeetingId
    title: str = Field("", max_length=200)
    start_time: AwareDatetime
    end_time: AwareDatetime
    #: The room is created this many seconds before ``start_time``.
    open_before_seconds: int = Field(120, ge=0, le=86_400)
    room: RoomSpec = Field(default_factory=RoomSpec)
    if_room_ends_early: RoomEndsEarly = RoomEndsEarly.RECREATE

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.end_time <= self.start_time:
            raise ValueError(
                f"end_time {self.end_time.isoformat()} must be after start_time {self.start_time.isoformat()}"
            )
        if self.end_time - self.start_time > MAX_MEETING_DURATION:
            raise ValueError(f"the meeting lasts longer than the maximum of {MAX_MEETING_DURATION.days} days")
        return self

    @property
    def unique_name(self) -> str:
        """The room's name: ``room.unique_name``, or the meeting id (already URL-safe)."""
        return self.room.unique_name or self.meeting_id

    @property
    def open_at(self) -> datetime:
        return self.start_time - timedelta(seconds=self.open_before_seconds)

    def room_params(self) -> CreateRoomParams:
        room = self.room
        return CreateRoomParams(
            unique_name=self.unique_name,
            type=room.type,
            max_participants=room.max_participants,
            # Twilio's own cap is a backstop a minute behind roomkeeper's eviction, so the eviction (and
            # its record) is roomkeeper's, not a race.
            max_participant_duration=min(
                limits.MAX_PARTICIPANT_DURATION_SECONDS, room.max_participant_duration + 60
            ),
            empty_room_timeout=room.empty_room_timeout,
            unused_room_timeout=room.unused_room_timeout,
            record_participants_on_connect=room.record_participants_on_connect,
            video_codecs=None if room.audio_only else room.video_codecs,
            media_region=room.media_region,
            audio_only=room.audio_only,
            large_room=room.large_room,
        )


# ------------------------------------------------------------------------------- live control


class RescheduleRequest(_Model):
    start_time: AwareDatetime | None = None
    end_time: AwareDatetime | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.start_time is None and self.end_time is None:
            raise ValueError("give start_time, end_time or both")
        return self


class ExtendRequest(_Model):
    minutes: int = Field(ge=1, le=24 * 60)


class EndRequest(_Model):
    reason: str | None = Field(None, max_length=500)


# ------------------------------------------------------------------------------------ signals


class RoomEventKind(StrEnum):
    ROOM_CREATED = "room-created"
    ROOM_ENDED = "room-ended"
    PARTICIPANT_CONNECTED = "participant-connected"
    PARTICIPANT_DISCONNECTED = "participant-disconnected"
    #: From the reconciler: the room's connected participants as Twilio lists them.
    SNAPSHOT = "snapshot"
    #: From the reconciler: the room is no longer among the account's in-progress rooms.
    ROOM_MISSING = "room-missing"


class ObservedParticipant(_Model):
    sid: str
    identity: str
    connected_at: AwareDatetime


class RoomEvent(_Model):
    """The ``room_event`` signal: a Twilio status callback, or what the reconciler observed."""

    kind: RoomEventKind
    source: Literal["callback", "reconcile"] = "callback"
    room_sid: str
    #: Twilio's event time (callbacks) or the observation time (reconciler).
    timestamp: AwareDatetime
    sequence_number: int | None = None
    participant_sid: str | None = None
    participant_identity: str | None = None
    #: A ``snapshot``'s connected participants (empty for an empty room; unused by other kinds).
    participants: list[ObservedParticipant] = Field(default_factory=list)

    @field_validator("participants", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        # Signals recorded before this field defaulted to [] carry null; they must still decode.
        return [] if value is None else value


# ------------------------------------------------------------------------------ status, state


class Phase(StrEnum):
    SCHEDULED = "scheduled"
    OPENING = "opening"
    OPEN = "open"
    CLOSING = "closing"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


TERMINAL_PHASES = frozenset({Phase.COMPLETED, Phase.CANCELLED, Phase.FAILED})


class ConnectedParticipant(BaseModel):
    sid: str
    identity: str
    connected_at: AwareDatetime
    eviction_deadline: AwareDatetime


class Eviction(BaseModel):
    sid: str
    identity: str
    connected_at: AwareDatetime
    evicted_at: AwareDatetime
    reason: str = "max_participant_duration"


class HistoryEntry(BaseModel):
    at: AwareDatetime
    what: str


class Trouble(BaseModel):
    """A Twilio operation that keeps failing with a transient error (an outage), while it is retried."""

    operation: str
    #: When the first failing round started.
    since: AwareDatetime
    #: Rounds of retries that ran out so far (each is ``activities.policy.ROUND`` of attempts).
    rounds: int = 1
    last_error: str


class MeetingState(BaseModel):
    """Everything the workflow knows, carried whole across continue-as-new."""

    phase: Phase = Phase.SCHEDULED
    room_sid: str | None = None
    room_sids: list[str] = Field(default_factory=list)
    opened_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    participants: dict[str, ConnectedParticipant] = Field(default_factory=dict)
    #: Participant SIDs that have left; a late "connected" for one of them is stale. Bounded.
    departed: list[str] = Field(default_factory=list)
    participant_sids_seen: int = 0
    identities_seen: list[str] = Field(default_factory=list)
    evictions: list[Eviction] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    ended_by: str | None = None
    end_reason: str | None = None
    pending_events: list[RoomEvent] = Field(default_factory=list)
    #: What is failing right now, if anything (None when Twilio answers).
    trouble: Trouble | None = None


class ContinuedMeeting(BaseModel):
    """What a meeting continues as new with: its current spec and everything it knows."""

    model_config = ConfigDict(extra="forbid")

    spec: MeetingSpec
    carried_state: MeetingState


def _input_kind(value: Any) -> str:
    if isinstance(value, ContinuedMeeting) or (isinstance(value, dict) and "carried_state" in value):
        return "continued"
    return "spec"


class MeetingInput(
    RootModel[
        Annotated[
            Annotated[MeetingSpec, Tag("spec")] | Annotated[ContinuedMeeting, Tag("continued")],
            Discriminator(_input_kind),
        ]
    ]
):
    """The workflow's single argument: a ``MeetingSpec`` (e.g. from the CLI), or a ``ContinuedMeeting``.

    Temporal applies type hints only when the argument count matches, so a fresh meeting and a continued
    one share one argument, told apart by the ``carried_state`` key.
    """


class MeetingStatus(BaseModel):
    """The ``status`` query."""

    meeting_id: str
    title: str
    phase: Phase
    room_sid: str | None
    start_time: AwareDatetime
    end_time: AwareDatetime
    open_at: AwareDatetime
    #: When the meeting's first room was ready (None before).
    opened_at: AwareDatetime | None = None
    participants: list[ConnectedParticipant]
    #: A Twilio operation that keeps failing right now, and since when (None when all is well).
    trouble: Trouble | None = None
    history: list[HistoryEntry]


class MeetingSummary(BaseModel):
    """The workflow's result."""

    meeting_id: str
    room_sid: str | None
    room_sids: list[str]
    scheduled_start: AwareDatetime
    scheduled_end: AwareDatetime
    opened_at: AwareDatetime | None
    closed_at: AwareDatetime | None
    #: closed_at minus scheduled end, seconds (None when no room was ever opened).
    end_lag_seconds: float | None
    participants_seen: int
    identities_seen: list[str]
    participants_evicted: list[Eviction]
    #: schedule | end_now | cancelled | room_ended | window_passed
    ended_by: str
    reason: str | None = None


def explain(error: ValidationError) -> str:
    """A validation error as one line per problem: ``field.path: what is wrong (got value)``."""
    problems = []
    for item in error.errors(include_url=False):
        location = [str(part) for part in item["loc"]]
        if location and location[0] in ("spec", "continued"):  # MeetingInput's union tag, not a field
            location = location[1:]
        message = item["msg"].removeprefix("Value error, ")
        where = ".".join(location) or "input"
        # The offending value, when it is one value (not a missing field, not a whole object).
        shown = location and item["type"] != "missing" and not isinstance(item["input"], dict | list)
        problems.append(f"{where}: {message}" + (f" (got {item['input']!r})" if shown else ""))
    return "; ".join(problems)
