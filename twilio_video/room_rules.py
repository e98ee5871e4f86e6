"""Twilio's rules for a room's settings, each stated once: as data, with one check.

The workflow's input validation (``workflows/meeting_input.py``) and the emulator's CreateRoom
(``emulator/room_options.py``) both ask ``check`` and word what it finds in their own form: the
workflow as ``room.<field>: <value> <rule>``, the emulator as Twilio's error code and message. The
numbers come from ``twilio_video.limits``; the error codes are the ones Twilio answers with (reference
§3.2), or its generic 20001 where it documents none.

A rule only judges a value that is set: ``None`` stands for Twilio's default, which obeys every rule.
Type-level checks (is it a whole number, a known codec) are left to whoever parses the value.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Final, Protocol

from twilio_video import limits
from twilio_video.error_codes import ErrorCode
from twilio_video.models import RoomType
from twilio_video.params import form_name


class RoomSettings(Protocol):
    """What the rules read; ``CreateRoomParams`` and the workflow's ``RoomSpec`` both fit."""

    @property
    def type(self) -> RoomType | None: ...
    @property
    def max_participants(self) -> int | None: ...
    @property
    def max_participant_duration(self) -> int | None: ...
    @property
    def empty_room_timeout(self) -> int | None: ...
    @property
    def unused_room_timeout(self) -> int | None: ...
    @property
    def record_participants_on_connect(self) -> bool | None: ...
    @property
    def media_region(self) -> str | None: ...
    @property
    def audio_only(self) -> bool | None: ...


class Wording(Enum):
    """How a rule refers to another parameter's setting.

    ``PROSE`` (the workflow's): ``type 'group'``. ``WIRE`` (Twilio's messages, as the emulator gives
    them): the form name, with a value to use written as in a form (``Type=group``) and a value that
    was given quoted (``Type='go'``), as every given value is.
    """

    PROSE = "prose"
    WIRE = "wire"

    def setting(self, parameter: str, value: str, *, given: bool) -> str:
        """``parameter`` set to ``value``: one to use, or (``given``) the one that was given."""
        text = str(value)  # an enum member as its value
        if self is Wording.WIRE:
            return f"{form_name(parameter)}={text!r}" if given else f"{form_name(parameter)}={text}"
        return f"{parameter} {text!r}"


def show(value: int | str | bool) -> str:
    """A value as messages quote it: booleans as on the wire (``true``), strings quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


@dataclass(frozen=True)
class Violation:
    """One broken rule: the parameter (snake_case), the value it was given, and what is wrong.

    ``rule`` is worded to follow the value (``is out of range; allowed from 1 to 60 whole minutes``),
    so ``message`` reads on its own; ``code`` is the Twilio error code for it.
    """

    parameter: str
    value: int | str | bool
    rule: str
    code: ErrorCode

    @property
    def message(self) -> str:
        """The value and the rule it breaks: ``51 is out of range; allowed from 1 up to 50 ...``."""
        return f"{show(self.value)} {self.rule}"


@dataclass(frozen=True)
class Range:
    """A whole number from ``low`` to ``high`` inclusive; ``high`` may depend on the room type."""

    parameter: str
    code: ErrorCode
    low: int
    high: int | Mapping[RoomType, int]
    #: What the number counts, for the message; unused when ``high`` depends on the type (the message
    #: names the type instead).
    unit: str = ""

    def allowed(self, room_type: RoomType) -> str:
        """The rule in words, e.g. ``allowed from 1 up to 50 for a 'group' room``."""
        if isinstance(self.high, Mapping):
            return f"allowed from {self.low} up to {self.high[room_type]} for a '{room_type}' room"
        return f"allowed from {self.low} to {self.high} {self.unit}"

    def judge(self, settings: RoomSettings, wording: Wording) -> Violation | None:
        value: int | None = getattr(settings, self.parameter)
        room_type = settings.type or limits.DEFAULT_ROOM_TYPE
        high = self.high[room_type] if isinstance(self.high, Mapping) else self.high
        if value is None or self.low <= value <= high:
            return None
        return Violation(self.parameter, value, f"is out of range; {self.allowed(room_type)}", self.code)


@dataclass(frozen=True)
class OneOf:
    """A string from a fixed set."""

    parameter: str
    code: ErrorCode
    choices: Collection[str]

    def judge(self, settings: RoomSettings, wording: Wording) -> Violation | None:
        value: str | None = getattr(settings, self.parameter)
        if value is None or value in self.choices:
            return None
        return Violation(self.parameter, value, f"is not one of {', '.join(sorted(self.choices))}", self.code)


@dataclass(frozen=True)
class OnlyForTypes:
    """A switch that may be on only in rooms of these types."""

    parameter: str
    code: ErrorCode
    types: tuple[RoomType, ...]

    def judge(self, settings: RoomSettings, wording: Wording) -> Violation | None:
        room_type = settings.type or limits.DEFAULT_ROOM_TYPE
        if not getattr(settings, self.parameter) or room_type in self.types:
            return None
        needs = " or ".join(wording.setting("type", allowed, given=False) for allowed in self.types)
        rule = f"needs {needs}, not {wording.setting('type', room_type, given=True)}"
        return Violation(self.parameter, True, rule, self.code)


@dataclass(frozen=True)
class NotForTypes:
    """A switch that may not be on in rooms of these types."""

    parameter: str
    code: ErrorCode
    types: tuple[RoomType, ...]

    def judge(self, settings: RoomSettings, wording: Wording) -> Violation | None:
        room_type = settings.type or limits.DEFAULT_ROOM_TYPE
        if not getattr(settings, self.parameter) or room_type not in self.types:
            return None
        rule = f"is not supported for {wording.setting('type', room_type, given=True)}"
        return Violation(self.parameter, True, rule, self.code)


Rule = Range | OneOf | OnlyForTypes | NotForTypes

MAX_PARTICIPANTS: Final = Range(
    "max_participants", ErrorCode.MAX_PARTICIPANTS_OUT_OF_RANGE, low=1, high=limits.MAX_PARTICIPANTS_BY_TYPE
)
EMPTY_ROOM_TIMEOUT: Final = Range(
    "empty_room_timeout",
    ErrorCode.TIMEOUT_OUT_OF_RANGE,
    low=limits.ROOM_TIMEOUT_MIN_MINUTES,
    high=limits.ROOM_TIMEOUT_MAX_MINUTES,
    unit="whole minutes",
)
UNUSED_ROOM_TIMEOUT: Final = replace(EMPTY_ROOM_TIMEOUT, parameter="unused_room_timeout")
#: Twilio documents no code for this range: its generic "Invalid parameter".
MAX_PARTICIPANT_DURATION: Final = Range(
    "max_participant_duration",
    ErrorCode.INVALID_PARAMETER,
    low=limits.MIN_PARTICIPANT_DURATION_SECONDS,
    high=limits.MAX_PARTICIPANT_DURATION_SECONDS,
    unit="seconds",
)
AUDIO_ONLY: Final = OnlyForTypes("audio_only", ErrorCode.AUDIO_ONLY_NOT_SUPPORTED, (RoomType.GROUP,))
#: Peer-to-peer and Go rooms carry no media through Twilio, so there is nothing to record.
RECORD_PARTICIPANTS_ON_CONNECT: Final = NotForTypes(
    "record_participants_on_connect",
    ErrorCode.RECORDING_NOT_SUPPORTED,
    (RoomType.PEER_TO_PEER, RoomType.GO),
)
MEDIA_REGION: Final = OneOf("media_region", ErrorCode.INVALID_PARAMETER, limits.MEDIA_REGIONS)

RULES: Final[tuple[Rule, ...]] = (
    MAX_PARTICIPANTS,
    EMPTY_ROOM_TIMEOUT,
    UNUSED_ROOM_TIMEOUT,
    MAX_PARTICIPANT_DURATION,
    AUDIO_ONLY,
    RECORD_PARTICIPANTS_ON_CONNECT,
    MEDIA_REGION,
)


def check(settings: RoomSettings, wording: Wording = Wording.PROSE) -> list[Violation]:
    """Every rule ``settings`` break, in the order of ``RULES``; empty when they obey them all."""
    return [violation for rule in RULES if (violation := rule.judge(settings, wording)) is not None]
