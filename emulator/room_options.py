"""CreateRoom's form parameters: parsed, checked against Twilio's rules, defaults applied.

The parameters are ``CreateRoomParams``' (names from its fields) and the rules are
``twilio_video.room_rules``; this module reads the form and answers in Twilio's form: its error code,
and a message naming the parameter, the value and the rule. Parameters are judged one by one in
``_PARSERS``' order and the first problem is the answer. Nothing here touches state, so a rejected
request changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from emulator.errors import ApiError, invalid, not_implemented
from emulator.forms import Form
from emulator.media import parse_rules
from twilio_video import limits
from twilio_video.error_codes import ErrorCode
from twilio_video.models import HttpMethod, RoomType, VideoCodec
from twilio_video.params import CreateRoomParams, form_name
from twilio_video.room_rules import (
    EMPTY_ROOM_TIMEOUT,
    MAX_PARTICIPANT_DURATION,
    MAX_PARTICIPANTS,
    RECORDING_RULES_GRAMMAR,
    UNUSED_ROOM_TIMEOUT,
    Range,
    Wording,
    check,
)
from twilio_video.sids import is_sid


class RoomOptions(CreateRoomParams):
    """A room's settings: CreateRoom's parameters with Twilio's defaults applied.

    The same fields as ``CreateRoomParams``; those every room has are narrowed to a value (their
    defaults are in ``limits``), and the one setting that is no parameter is added.
    """

    type: RoomType = limits.DEFAULT_ROOM_TYPE
    status_callback_method: HttpMethod = HttpMethod.POST
    #: Defaults to the type's cap (``resolve``).
    max_participants: int
    max_participant_duration: int = limits.DEFAULT_PARTICIPANT_DURATION_SECONDS
    record_participants_on_connect: bool = False
    #: Defaults to ``limits.DEFAULT_VIDEO_CODECS``, or none in an audio-only room (``resolve``).
    video_codecs: list[VideoCodec]
    media_region: str = limits.DEFAULT_MEDIA_REGION
    audio_only: bool = False
    empty_room_timeout: int = limits.DEFAULT_ROOM_TIMEOUT_MINUTES
    unused_room_timeout: int = limits.DEFAULT_ROOM_TIMEOUT_MINUTES
    large_room: bool = False
    #: Fixed by the type.
    max_concurrent_published_tracks: int

    @classmethod
    def resolve(cls, params: CreateRoomParams) -> RoomOptions:
        """``params`` with every unset setting at Twilio's default."""
        given = params.model_dump(exclude_none=True)
        room_type = params.type or limits.DEFAULT_ROOM_TYPE
        given.setdefault("max_participants", limits.MAX_PARTICIPANTS_BY_TYPE[room_type])
        if params.audio_only:
            given["video_codecs"] = []  # whatever codecs were asked for
        elif not params.video_codecs:
            given["video_codecs"] = list(limits.DEFAULT_VIDEO_CODECS)
        return cls(
            **given,
            max_concurrent_published_tracks=limits.MAX_CONCURRENT_PUBLISHED_TRACKS_BY_TYPE[room_type],
        )


T = TypeVar("T")

#: Reads one parameter (by its form name) given those parsed before it; ``None`` when it is unset.
Parser = Callable[[Form, str, dict[str, Any]], Any]


def _choices(enum: type[Any]) -> str:
    return ", ".join(member.value for member in enum)


def _converted(form: Form, name: str, convert: Callable[[str], T], code: ErrorCode, rule: str) -> T | None:
    """``name``'s value through ``convert``, or Twilio's ``code`` naming value and ``rule`` if it fails."""
    raw = form.get(name)
    if raw is None:
        return None
    try:
        return convert(raw)
    except ValueError:
        raise invalid(code, f"{name}={raw!r} {rule}") from None


def _to_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered not in ("true", "false"):
        raise ValueError(raw)
    return lowered == "true"


def _boolean(form: Form, name: str, _: dict[str, Any]) -> bool | None:
    return _converted(form, name, _to_bool, ErrorCode.INVALID_PARAMETER, "must be true or false")


def _ignored_boolean(form: Form, name: str, given: dict[str, Any]) -> None:
    _boolean(form, name, given)  # deprecated and ignored, but still must be a boolean


def _whole_number(rule: Range) -> tuple[str, Parser]:
    """``rule``'s parameter and its parser: a whole number, whose range ``check`` judges."""

    def parse(form: Form, name: str, given: dict[str, Any]) -> int | None:
        if name not in form.values:
            return None  # unset (and the rule's wording, only for a message, is not worded for nothing)
        allowed = rule.allowed(given.get("type", limits.DEFAULT_ROOM_TYPE))
        return _converted(
            form, name, lambda raw: int(raw.strip()), rule.code, f"is not a whole number; {allowed}"
        )

    return rule.parameter, parse


def _unique_name(form: Form, name: str, _: dict[str, Any]) -> str | None:
    if name in form.undecodable:
        raise invalid(ErrorCode.ROOM_NAME_INVALID_CHARACTERS, f"{name} is not valid UTF-8")
    unique_name = form.get(name)
    if unique_name is None:
        return None
    if not unique_name:
        raise invalid(ErrorCode.ROOM_NAME_INVALID, f"{name} must not be empty")
    if len(unique_name) > limits.MAX_UNIQUE_NAME_LENGTH:
        raise invalid(
            ErrorCode.ROOM_NAME_TOO_LONG,
            f"{name} is {len(unique_name)} characters; at most {limits.MAX_UNIQUE_NAME_LENGTH} are allowed",
        )
    if is_sid(unique_name, "RM"):
        raise invalid(
            ErrorCode.ROOM_NAME_INVALID, f"{name}={unique_name!r} must not have the form of a Room SID"
        )
    return unique_name


_NOT_A_ROOM_TYPE = f"is not one of {_choices(RoomType)}"


def _room_type(form: Form, name: str, _: dict[str, Any]) -> RoomType | None:
    return _converted(form, name, RoomType, ErrorCode.ROOM_TYPE_INVALID, _NOT_A_ROOM_TYPE)


def _status_callback(form: Form, name: str, _: dict[str, Any]) -> str | None:
    url = form.get(name)
    if url is None:
        return None
    if len(url) >= limits.STATUS_CALLBACK_MAX_LENGTH:
        raise invalid(
            ErrorCode.STATUS_CALLBACK_INVALID,
            f"{name} is {len(url)} characters; it must be shorter than {limits.STATUS_CALLBACK_MAX_LENGTH}",
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(ErrorCode.STATUS_CALLBACK_INVALID, f"{name}={url!r} is not an http(s) URL")
    return url


def _status_callback_method(form: Form, name: str, _: dict[str, Any]) -> HttpMethod | None:
    code = ErrorCode.STATUS_CALLBACK_METHOD_INVALID
    return _converted(form, name, lambda raw: HttpMethod(raw.upper()), code, "must be GET or POST")


def _video_codecs(form: Form, name: str, _: dict[str, Any]) -> list[VideoCodec] | None:
    codecs: list[VideoCodec] = []
    for item in form.get_all(name):
        # Some callers send one comma-separated value instead of repeating the field.
        for token in filter(None, (part.strip() for part in item.split(","))):
            try:
                codec = VideoCodec(token.upper())
            except ValueError:
                raise invalid(
                    ErrorCode.INVALID_PARAMETER,
                    f"{name} value {token!r} is not one of {_choices(VideoCodec)}",
                ) from None
            if codec not in codecs:
                codecs.append(codec)
    return codecs or None


def _text(form: Form, name: str, _: dict[str, Any]) -> str | None:
    return form.get(name)


def _json_object(form: Form, name: str, _: dict[str, Any]) -> dict[str, Any] | None:
    raw = form.get(name)
    if raw is None:
        return None
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise invalid(ErrorCode.INVALID_PARAMETER, f"{name} must be a JSON object")
    return parsed


def _recording_rules(form: Form, name: str, _: dict[str, Any]) -> list[dict[str, Any]] | None:
    """A JSON array of rules (or an object with one under ``rules``), judged by Twilio's grammar."""
    raw = form.get(name)
    return None if raw is None else parse_rules(raw, RECORDING_RULES_GRAMMAR, name)


#: Every parameter CreateRoom reads, in the order the emulator judges them (and so which problem it
#: reports when a request has several): a parameter's rule is judged with those before it, and ``type``
#: comes before every rule that depends on it. ``enable_turn`` is Twilio's, deprecated: read, not kept.
_PARSERS: tuple[tuple[str, Parser], ...] = (
    ("unique_name", _unique_name),
    ("type", _room_type),
    ("status_callback", _status_callback),
    ("status_callback_method", _status_callback_method),
    _whole_number(MAX_PARTICIPANTS),
    _whole_number(EMPTY_ROOM_TIMEOUT),
    _whole_number(UNUSED_ROOM_TIMEOUT),
    _whole_number(MAX_PARTICIPANT_DURATION),
    ("enable_turn", _ignored_boolean),
    ("audio_only", _boolean),
    ("record_participants_on_connect", _boolean),
    ("transcribe_participants_on_connect", _boolean),
    ("transcriptions_configuration", _json_object),
    ("video_codecs", _video_codecs),
    ("media_region", _text),
    ("large_room", _boolean),
    ("recording_rules", _recording_rules),
)
_ORDER = [parameter for parameter, _ in _PARSERS]
_KNOWN = frozenset(form_name(parameter) for parameter in _ORDER)


def parse_room_options(form: Form) -> RoomOptions:
    """CreateRoom's parameters with defaults applied; raises ``ApiError`` naming the first bad one.

    A parameter Twilio's create operation does not list is answered 501 naming it: Twilio would
    ignore it, and an emulator that ignored it too would hide a typo or a feature it lacks.
    """
    if unknown := sorted(name for name in (*form.values, *form.undecodable) if name not in _KNOWN):
        raise not_implemented(
            f"CreateRoom parameter {', '.join(unknown)} (not one the emulator knows: "
            f"{', '.join(sorted(_KNOWN))})"
        )
    given: dict[str, Any] = {}
    unreadable: ApiError | None = None
    for parameter, parse in _PARSERS:
        try:
            value = parse(form, form_name(parameter), given)
        except ApiError as error:
            # Rules of the parameters read so far come first; nothing after this one is read.
            unreadable = error
            break
        if value is not None:
            given[parameter] = value
    params = CreateRoomParams(**given)
    if violations := check(params, Wording.WIRE):
        first = min(violations, key=lambda violation: _ORDER.index(violation.parameter))
        raise invalid(first.code, f"{form_name(first.parameter)}={first.message}")
    if unreadable is not None:
        raise unreadable
    return RoomOptions.resolve(params)
