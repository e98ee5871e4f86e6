"""Twilio's rules for a room's settings, each stated once: as data, with one check.

The workflow's input validation (``workflows/meeting_input.py``) and the emulator's CreateRoom
(``emulator/room_options.py``) both ask ``check`` and word what it finds in their own form: the
workflow as ``room.<field>: <value> <rule>``, the emulator as Twilio's error code and message. The
numbers come from ``twilio_video.limits``; the error codes are the ones Twilio answers with (reference
§3.2), or its generic 20001 where it documents none.

A rule only judges a value that is set: ``None`` stands for Twilio's default, which obeys every rule.
Type-level checks (is it a whole number, a known codec) are left to whoever parses the value.

Recording rules and subscribe rules have a small grammar of their own (``RECORDING_RULES_GRAMMAR``,
``SUBSCRIBE_RULES_GRAMMAR``), judged on their JSON form so that the emulator (which reads them from a
form field) and the workflow (which reads them from its input) find the same first problem.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Final, Protocol

from pydantic import BaseModel

from twilio_video import limits
from twilio_video.error_codes import ErrorCode
from twilio_video.models import RoomType, RuleType, TrackKind
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
    @property
    def recording_rules(self) -> object: ...
    @property
    def transcribe_participants_on_connect(self) -> bool | None: ...


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


def _plain(value: object) -> object:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    raise TypeError(f"{type(value).__name__} is not JSON")


def show(value: object) -> str:
    """A value as messages quote it: booleans as on the wire (``true``), strings quoted, lists and
    objects as compact JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict | BaseModel):
        return json.dumps(value, separators=(",", ":"), default=_plain)
    return repr(value)


@dataclass(frozen=True)
class Violation:
    """One broken rule: the parameter (snake_case), the value it was given, and what is wrong.

    ``rule`` is worded to follow the value (``is out of range; allowed from 1 to 60 whole minutes``),
    so ``message`` reads on its own; ``code`` is the Twilio error code for it.
    """

    parameter: str
    value: object
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
    """A switch (or a setting, when given) that may not be in rooms of these types."""

    parameter: str
    code: ErrorCode
    types: tuple[RoomType, ...]

    def judge(self, settings: RoomSettings, wording: Wording) -> Violation | None:
        room_type = settings.type or limits.DEFAULT_ROOM_TYPE
        value = getattr(settings, self.parameter)
        if not value or room_type not in self.types:
            return None
        rule = f"is not supported for {wording.setting('type', room_type, given=True)}"
        return Violation(self.parameter, value, rule, self.code)


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
#: Rules of what to record are as meaningless as recording itself where no media server is.
RECORDING_RULES: Final = replace(RECORD_PARTICIPANTS_ON_CONNECT, parameter="recording_rules")
#: Transcription runs on the media server too. Twilio documents no code for it: "Invalid parameter".
TRANSCRIBE_PARTICIPANTS_ON_CONNECT: Final = OnlyForTypes(
    "transcribe_participants_on_connect", ErrorCode.INVALID_PARAMETER, limits.MEDIA_SERVER_ROOM_TYPES
)

RULES: Final[tuple[Rule, ...]] = (
    MAX_PARTICIPANTS,
    EMPTY_ROOM_TIMEOUT,
    UNUSED_ROOM_TIMEOUT,
    MAX_PARTICIPANT_DURATION,
    AUDIO_ONLY,
    RECORD_PARTICIPANTS_ON_CONNECT,
    TRANSCRIBE_PARTICIPANTS_ON_CONNECT,
    MEDIA_REGION,
    RECORDING_RULES,
)


def check(settings: RoomSettings, wording: Wording = Wording.PROSE) -> list[Violation]:
    """Every rule ``settings`` break, in the order of ``RULES``; empty when they obey them all."""
    return [violation for rule in RULES if (violation := rule.judge(settings, wording)) is not None]


# ------------------------------------------------------------------------------ track rules


@dataclass(frozen=True)
class TrackRulesGrammar:
    """What a list of recording or subscribe rules must look like (reference §2.3, §2.4).

    1 to ``limits.MAX_TRACK_RULES`` rules; each an object with ``type`` ``include`` or ``exclude`` and
    at least one filter; ``all`` is ``true`` and stands alone; ``kind`` is one of ``kinds``;
    ``publisher`` and ``track`` are strings. A filter set to ``null`` counts as absent (Twilio echoes
    subscribe rules with every key, unused ones ``null``). Twilio's whole answer is ``code``.
    """

    code: ErrorCode
    kinds: tuple[TrackKind, ...]
    #: Keys a rule may have besides ``type`` and the filters (``priority`` for subscribe rules).
    extra_keys: tuple[str, ...] = ()

    FILTERS = ("all", "publisher", "track", "kind")

    def rules_of(self, value: object) -> object:
        """The rules in ``value``: a JSON array, or an object holding it under ``rules`` (which the
        helper libraries send when given a dict)."""
        if isinstance(value, dict) and set(value) == {"rules"}:
            return value["rules"]
        return value

    def problem(self, value: object) -> str | None:
        """The first thing wrong with ``value`` (JSON, as parsed), or ``None`` when it is valid."""
        rules = self.rules_of(value)
        if not isinstance(rules, list) or not rules:
            return "expected a non-empty JSON array of rules (or an object with one under 'rules')"
        if len(rules) > limits.MAX_TRACK_RULES:
            return f"{len(rules)} rules given; at most {limits.MAX_TRACK_RULES} are allowed"
        allowed = {"type", *self.FILTERS, *self.extra_keys}
        kinds = ", ".join(repr(kind.value) for kind in self.kinds)
        for index, rule in enumerate(rules):
            where = f"rule {index}"
            if not isinstance(rule, dict):
                return f"{where} is not an object"
            if unknown := sorted(set(rule) - allowed):
                return f"{where} has unknown keys {unknown}"
            if rule.get("type") not in tuple(RuleType):
                return f"{where}: type must be 'include' or 'exclude'"
            filters = {key: rule[key] for key in self.FILTERS if rule.get(key) is not None}
            if not filters:
                return f"{where} has no filter (all, publisher, track or kind)"
            if "all" in filters and (filters["all"] is not True or len(filters) > 1):
                return f"{where}: 'all' must be true and stand alone"
            if "kind" in filters and filters["kind"] not in tuple(self.kinds):
                return f"{where}: kind must be one of {kinds}"
            for key in ("publisher", "track", *self.extra_keys):
                if rule.get(key) is not None and not isinstance(rule[key], str):
                    return f"{where}: {key} must be a string"
        return None

    def normalized(self, value: object) -> list[dict[str, Any]]:
        """Valid rules as plain dicts with their ``null`` filters dropped (check ``problem`` first)."""
        rules = self.rules_of(value)
        assert isinstance(rules, list)
        return [{key: item for key, item in rule.items() if item is not None} for rule in rules]


RECORDING_RULES_GRAMMAR: Final = TrackRulesGrammar(
    ErrorCode.RECORDING_RULES_INVALID, limits.RECORDING_RULE_KINDS
)
SUBSCRIBE_RULES_GRAMMAR: Final = TrackRulesGrammar(
    ErrorCode.SUBSCRIBE_RULES_INVALID, limits.SUBSCRIBE_RULE_KINDS, extra_keys=("priority",)
)
