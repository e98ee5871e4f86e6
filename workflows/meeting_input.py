"""MeetingWorkflow's input: the meeting as JSON, validated against Twilio's rules.

Every field, its default and its limit are listed in docs/reference.md (generated from these models).
The workflow validates its argument itself, so a bad spec fails the run at once with each field named
(``explain``), before any room exists. Twilio's rules come from ``twilio_video.room_rules`` and its
numbers from ``twilio_video.limits``, the one place each is written down.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from common.event_endpoints import MAX_URL_LENGTH, check_http_url
from common.extend_policy import MAX_EXTENSION_MINUTES, ExtendPolicy
from twilio_video import limits, room_rules
from twilio_video.models import RoomType, RuleType, TrackKind, VideoCodec
from twilio_video.params import CreateRoomParams
from twilio_video.room_rules import RECORDING_RULES_GRAMMAR

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

#: A source's revision of a meeting (iCalendar SEQUENCE, Cal.com iCalSequence): a counter that grows
#: with every change, so a late or repeated change can be told from a newer one. RFC 5545's SEQUENCE
#: is a non-negative INTEGER, at most 2147483647.
Revision = Annotated[int, Field(ge=0, le=2**31 - 1)]


class FrozenModel(BaseModel):
    """A message that refuses unknown fields and never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RecordingRule(FrozenModel):
    """One of Twilio's recording rules: `include` or `exclude` the tracks its filters match.

    Rules apply in order, starting from nothing recorded. At least one filter; `all` stands alone.
    """

    type: RuleType = Field(description="`include` adds the matching tracks, `exclude` takes them away.")
    all: bool | None = Field(None, description="`true`: every track (alone, with no other filter).")
    publisher: str | None = Field(None, description="The publishing participant's identity or `PA…` SID.")
    track: str | None = Field(None, description="A track's name or `MT…` SID.")
    kind: TrackKind | None = Field(None, description="`audio` or `video`.")


def _twilio_recording_rules(rules: list[RecordingRule] | None) -> list[RecordingRule] | None:
    if rules is not None:
        problem = RECORDING_RULES_GRAMMAR.problem(
            [rule.model_dump(mode="json", exclude_none=True) for rule in rules]
        )
        if problem:
            raise ValueError(problem)
    return rules


class RoomSpec(FrozenModel):
    """How the Twilio room is configured: every create parameter of Twilio's Rooms resource.

    (Except `StatusCallback` and its method, which are roomkeeper's own, and the deprecated
    `EnableTurn`, which Twilio ignores.)

    Across fields: `max_participants` is at most the room type's cap; `audio_only` needs type `group`;
    `record_participants_on_connect`, `recording_rules` and `transcribe_participants_on_connect` need
    a room with a media server: type `group` or `group-small`, not `peer-to-peer` or `go`.
    """

    unique_name: RoomName | None = Field(
        None,
        description="The room's name (default: the `meeting_id`). Used in URLs, so it may not contain "
        "`/ ? # [ ] @ ! $ & ' ( ) * + , ; = % \\`, control characters, or be `.` or `..`.",
    )
    type: RoomType = Field(RoomType.GROUP, description="Twilio's room type.")
    # No bounds on the numbers here: the room rules (twilio_video.room_rules) judge every range, against
    # the room's type where it matters, and all broken rules at once, so every door says "60 is out of
    # range; allowed from 1 up to 50 for a 'group' room" rather than a bare "at most 50".
    max_participants: int = Field(
        DEFAULT_MAX_PARTICIPANTS,
        description="How many may be connected at once: at most the `type`'s cap, which is also the "
        "default when smaller than 10 ("
        + ", ".join(f"{kind.value} {cap}" for kind, cap in limits.MAX_PARTICIPANTS_BY_TYPE.items())
        + ").",
    )
    max_participant_duration: int | None = Field(
        None,
        description="Seconds a participant may stay: roomkeeper evicts them this long after they "
        "connected (Twilio's own cap is set a minute later, as a backstop). "
        f"{limits.MIN_PARTICIPANT_DURATION_SECONDS} to {limits.MAX_PARTICIPANT_DURATION_SECONDS}. "
        "Not given: nobody is evicted before the meeting's end (Twilio's cap is set to its maximum, "
        f"{limits.MAX_PARTICIPANT_DURATION_SECONDS} s, which covers a room's whole life).",
    )
    empty_room_timeout: int = Field(
        5,
        description="Minutes after the last participant left until Twilio ends the room. "
        f"{limits.ROOM_TIMEOUT_MIN_MINUTES} to {limits.ROOM_TIMEOUT_MAX_MINUTES}.",
    )
    unused_room_timeout: int = Field(
        5,
        description="Minutes after creation until Twilio ends a room nobody joined. "
        f"{limits.ROOM_TIMEOUT_MIN_MINUTES} to {limits.ROOM_TIMEOUT_MAX_MINUTES}.",
    )
    record_participants_on_connect: bool = Field(
        False,
        description="Record every participant's tracks: the room's recording rules start as "
        '`[{"type": "include", "all": true}]` instead of recording nothing.',
    )
    recording_rules: Annotated[list[RecordingRule] | None, AfterValidator(_twilio_recording_rules)] = Field(
        None,
        description=f"The room's first recording rules (Twilio's; 1-{limits.MAX_TRACK_RULES} rules), e.g. "
        '`[{"type": "include", "kind": "audio"}]` to record only audio. Default: none sent, so Twilio '
        "records nothing, or everything with `record_participants_on_connect`.",
    )
    transcribe_participants_on_connect: bool = Field(
        False, description="Start Twilio's real-time transcription when participants connect."
    )
    transcriptions_configuration: dict[str, Any] | None = Field(
        None,
        description="Twilio's transcription settings as a JSON object, passed through as given, e.g. "
        '`{"languageCode": "en-US", "partialResults": true}`. Default: none sent, so Twilio uses the '
        "account's default settings.",
    )
    video_codecs: list[VideoCodec] = Field(
        default_factory=lambda: [VideoCodec.VP8],
        description="Codecs the room offers (not sent if audio-only).",
    )
    media_region: str = Field(
        limits.DEFAULT_MEDIA_REGION,
        description="Where the media server runs: one of " + ", ".join(sorted(limits.MEDIA_REGIONS)) + ".",
    )
    audio_only: bool = Field(False, description="No video tracks may be published.")
    large_room: bool = Field(False, description="Twilio's large-room mode.")

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
        # Every broken rule at once, so one correction fixes the input (``explain`` adds "room: ").
        if violations := room_rules.check(self):
            raise ValueError("; ".join(f"{v.parameter}: {v.message}" for v in violations))
        return self


class RoomEndsEarly(StrEnum):
    """What happens when Twilio ends the room before the meeting's end (idle timeouts, 24 h cap...)."""

    #: Create a fresh room with the same name, so the meeting stays joinable until its end.
    RECREATE = "recreate"
    #: The meeting ends with its room.
    END_MEETING = "end_meeting"


def _distinct_offsets(minutes: list[int]) -> list[int]:
    if len(set(minutes)) != len(minutes):
        raise ValueError("each offset may appear once")
    return sorted(minutes, reverse=True)


#: Minutes before a moment at which a warning is sent: 1 to 1440 each, distinct, at most 5.
WarningOffsets = Annotated[
    list[Annotated[int, Field(ge=1, le=MAX_EXTENSION_MINUTES)]],
    Field(max_length=5),
    AfterValidator(_distinct_offsets),
]


class EventsSpec(FrozenModel):
    """Where this meeting's lifecycle events go, and when its warnings are sent (docs/app-developers.md).

    Without `events`, a meeting sends its events to the deployment's receiver (`ROOMKEEPER_EVENTS_URL`)
    if there is one, with the offsets below.
    """

    url: (
        Annotated[str, StringConstraints(max_length=MAX_URL_LENGTH), AfterValidator(check_http_url)] | None
    ) = Field(
        None,
        description="The receiver (http/https). The deployment must hold its signing secret: "
        "`ROOMKEEPER_EVENTS_URL`'s origin or a receiver listed in `ROOMKEEPER_EVENTS_ENDPOINTS`. "
        "Default: `ROOMKEEPER_EVENTS_URL`.",
    )
    enabled: bool = Field(True, description="`false`: this meeting sends no events at all.")
    ending_soon_minutes: WarningOffsets = Field(
        [10, 2], description="`meeting.ending_soon` is sent this many minutes before the end (each)."
    )
    eviction_soon_minutes: WarningOffsets = Field(
        [2],
        description="`participant.eviction_soon` is sent this many minutes before someone is evicted "
        "for staying past `room.max_participant_duration`.",
    )


class MeetingSpec(FrozenModel):
    """The workflow input: one meeting. Only `meeting_id`, `start_time` and `end_time` are required.

    Across fields: `end_time` is after `start_time`, and at most 7 days after it.
    """

    meeting_id: MeetingId = Field(
        description="Your id for the meeting: 1-100 letters, digits, `. _ : @ -`, starting with a letter "
        "or digit. roomkeeper's own starters use the workflow id `meeting-<meeting_id>`."
    )
    title: str = Field("", max_length=200, description="Shown in the Temporal UI and the status.")
    start_time: AwareDatetime = Field(description="ISO 8601 with an offset (`Z` or `+01:00`).")
    end_time: AwareDatetime = Field(description="ISO 8601 with an offset; the room is completed then.")
    open_before_seconds: int = Field(
        120, ge=0, le=86_400, description="The room is created this many seconds before `start_time`."
    )
    room: RoomSpec = Field(default_factory=RoomSpec, description="The Twilio room's options (below).")
    if_room_ends_early: RoomEndsEarly = Field(
        RoomEndsEarly.RECREATE,
        description="When Twilio ends the room before `end_time`: `recreate` a fresh room with the same "
        "name (not in the last minute), or `end_meeting`.",
    )
    revision: Revision | None = Field(
        None,
        description="The source's revision, e.g. iCalendar SEQUENCE / Cal.com iCalSequence; changes "
        "carrying a lower revision are ignored (a `reschedule` carrying one not higher is rejected).",
    )
    events: EventsSpec | None = Field(
        None, description="Lifecycle events to the application (below); default: the deployment's receiver."
    )
    extend_policy: ExtendPolicy | None = Field(
        None,
        description="Caps on extending the meeting (below); the deployment's `ROOMKEEPER_EXTEND_*` caps "
        "apply as well, the stricter winning.",
    )

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
            # its record) is roomkeeper's, not a race. Without a duration nobody is evicted before the
            # end: Twilio's cap is its maximum, as long as a room can live.
            max_participant_duration=limits.MAX_PARTICIPANT_DURATION_SECONDS
            if room.max_participant_duration is None
            else min(limits.MAX_PARTICIPANT_DURATION_SECONDS, room.max_participant_duration + 60),
            empty_room_timeout=room.empty_room_timeout,
            unused_room_timeout=room.unused_room_timeout,
            record_participants_on_connect=room.record_participants_on_connect,
            video_codecs=None if room.audio_only else room.video_codecs,
            media_region=room.media_region,
            audio_only=room.audio_only,
            large_room=room.large_room,
            # Sent only when set, so a room without them is created by the very request it always was.
            recording_rules=[rule.model_dump(mode="json", exclude_none=True) for rule in room.recording_rules]
            if room.recording_rules is not None
            else None,
            transcribe_participants_on_connect=room.transcribe_participants_on_connect or None,
            transcriptions_configuration=room.transcriptions_configuration,
        )


def explain(error: ValidationError) -> str:
    """A validation error as one line per problem: ``field.path: what is wrong (got value)``."""
    problems = []
    for item in error.errors(include_url=False):
        location = [str(part) for part in item["loc"]]
        if location and location[0] in ("spec", "continued"):  # the argument's union tag, not a field
            location = location[1:]
        message = item["msg"].removeprefix("Value error, ")
        where = ".".join(location) or "input"
        if location and location[-1] == "room" and item["type"] == "value_error":
            # The room's rules, broken together: one "room.<field>: …" per rule, like a field's error.
            problems += [f"{where}.{part}" for part in _ROOM_RULE_SPLIT.split(message)]
            continue
        # The offending value, when it is one value (not a missing field, not a whole object).
        shown = location and item["type"] != "missing" and not isinstance(item["input"], dict | list)
        problems.append(f"{where}: {message}" + (f" (got {item['input']!r})" if shown else ""))
    return "; ".join(problems)


#: Between two of ``RoomSpec._twilio_rules``'s violations ("a: …; b: …"): "; " before a field's name.
_ROOM_RULE_SPLIT = re.compile(rf"; (?=(?:{'|'.join(map(re.escape, RoomSpec.model_fields))}): )")
