"""CreateRoom's form parameters: parsed, checked against Twilio's rules, defaults applied.

Every rule answers with Twilio's error code and a message naming the parameter, the value and the
rule. Nothing here touches state, so a rejected request changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from emulator.errors import ApiError, invalid
from emulator.forms import Form
from twilio_video import limits
from twilio_video.error_codes import ErrorCode
from twilio_video.models import HttpMethod, RoomType, VideoCodec
from twilio_video.sids import is_sid


@dataclass(frozen=True)
class RoomOptions:
    unique_name: str | None
    type: RoomType
    status_callback: str | None
    status_callback_method: HttpMethod
    max_participants: int
    max_participant_duration: int
    max_concurrent_published_tracks: int
    record_participants_on_connect: bool
    video_codecs: tuple[VideoCodec, ...]
    media_region: str
    audio_only: bool
    empty_room_timeout: int
    unused_room_timeout: int
    large_room: bool
    recording_rules: tuple[dict[str, Any], ...] | None


def _choices(enum: type[Any]) -> str:
    return ", ".join(member.value for member in enum)


def parse_bool(form: Form, name: str, default: bool = False) -> bool:
    raw = form.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise invalid(ErrorCode.INVALID_PARAMETER, f"{name}={raw!r} must be true or false")


def _parse_int(form: Form, name: str, code: ErrorCode, *, low: int, high: int, rule: str) -> int | None:
    raw = form.get(name)
    if raw is None:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise invalid(code, f"{name}={raw!r} is not a whole number; {rule}") from None
    if not low <= value <= high:
        raise invalid(code, f"{name}={value} is out of range; {rule}")
    return value


def _unique_name(form: Form) -> str | None:
    if "UniqueName" in form.undecodable:
        raise invalid(ErrorCode.ROOM_NAME_INVALID_CHARACTERS, "UniqueName is not valid UTF-8")
    name = form.get("UniqueName")
    if name is None:
        return None
    if not name:
        raise invalid(ErrorCode.ROOM_NAME_INVALID, "UniqueName must not be empty")
    if len(name) > limits.MAX_UNIQUE_NAME_LENGTH:
        raise invalid(
            ErrorCode.ROOM_NAME_TOO_LONG,
            f"UniqueName is {len(name)} characters; at most {limits.MAX_UNIQUE_NAME_LENGTH} are allowed",
        )
    if is_sid(name, "RM"):
        raise invalid(
            ErrorCode.ROOM_NAME_INVALID, f"UniqueName={name!r} must not have the form of a Room SID"
        )
    return name


def _room_type(form: Form) -> RoomType:
    raw = form.get("Type")
    if raw is None:
        return limits.DEFAULT_ROOM_TYPE
    try:
        return RoomType(raw)
    except ValueError:
        raise invalid(
            ErrorCode.ROOM_TYPE_INVALID, f"Type={raw!r} is not one of {_choices(RoomType)}"
        ) from None


def _status_callback(form: Form) -> tuple[str | None, HttpMethod]:
    url = form.get("StatusCallback")
    if url is not None:
        if len(url) >= limits.STATUS_CALLBACK_MAX_LENGTH:
            raise invalid(
                ErrorCode.STATUS_CALLBACK_INVALID,
                f"StatusCallback is {len(url)} characters; it must be shorter than "
                f"{limits.STATUS_CALLBACK_MAX_LENGTH}",
            )
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise invalid(ErrorCode.STATUS_CALLBACK_INVALID, f"StatusCallback={url!r} is not an http(s) URL")
    raw_method = form.get("StatusCallbackMethod")
    if raw_method is None:
        return url, HttpMethod.POST
    try:
        return url, HttpMethod(raw_method.upper())
    except ValueError:
        raise invalid(
            ErrorCode.STATUS_CALLBACK_METHOD_INVALID,
            f"StatusCallbackMethod={raw_method!r} must be GET or POST",
        ) from None


def _video_codecs(form: Form, audio_only: bool) -> tuple[VideoCodec, ...]:
    raw = form.get_all("VideoCodecs")
    codecs: list[VideoCodec] = []
    for item in raw:
        # Some callers send one comma-separated value instead of repeating the field.
        for token in filter(None, (part.strip() for part in item.split(","))):
            try:
                codec = VideoCodec(token.upper())
            except ValueError:
                raise invalid(
                    ErrorCode.INVALID_PARAMETER,
                    f"VideoCodecs value {token!r} is not one of {_choices(VideoCodec)}",
                ) from None
            if codec not in codecs:
                codecs.append(codec)
    if audio_only:
        return ()
    return tuple(codecs) if codecs else limits.DEFAULT_VIDEO_CODECS


def _media_region(form: Form) -> str:
    region = form.get("MediaRegion")
    if region is None:
        return limits.DEFAULT_MEDIA_REGION
    if region not in limits.MEDIA_REGIONS:
        raise invalid(
            ErrorCode.INVALID_PARAMETER,
            f"MediaRegion={region!r} is not one of {', '.join(sorted(limits.MEDIA_REGIONS))}",
        )
    return region


_RULE_KEYS = frozenset({"type", "all", "publisher", "track", "kind"})
_MAX_RULES = 20


def parse_recording_rules(raw: str, parameter: str = "RecordingRules") -> tuple[dict[str, Any], ...]:
    """Validate recording rules (reference §2.4): a JSON array, or an object with ``rules``."""

    def bad(why: str) -> ApiError:
        return invalid(ErrorCode.RECORDING_RULES_INVALID, f"{parameter}: {why}")

    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise bad(f"not valid JSON ({exc.msg} at position {exc.pos})") from None
    rules = value.get("rules") if isinstance(value, dict) else value
    if not isinstance(rules, list) or not rules:
        raise bad("expected a non-empty JSON array of rules (or an object with one under 'rules')")
    if len(rules) > _MAX_RULES:
        raise bad(f"{len(rules)} rules given; at most {_MAX_RULES} are allowed")
    for index, rule in enumerate(rules):
        where = f"rule {index}"
        if not isinstance(rule, dict):
            raise bad(f"{where} is not an object")
        unknown = set(rule) - _RULE_KEYS
        if unknown:
            raise bad(f"{where} has unknown keys {sorted(unknown)}")
        if rule.get("type") not in ("include", "exclude"):
            raise bad(f"{where}: type must be 'include' or 'exclude'")
        filters = {
            key: rule[key] for key in ("all", "publisher", "track", "kind") if rule.get(key) is not None
        }
        if not filters:
            raise bad(f"{where} has no filter (all, publisher, track or kind)")
        if "all" in filters and (filters["all"] is not True or len(filters) > 1):
            raise bad(f"{where}: 'all' must be true and stand alone")
        if "kind" in filters and filters["kind"] not in ("audio", "video"):
            raise bad(f"{where}: kind must be 'audio' or 'video'")
        for key in ("publisher", "track"):
            if key in filters and not isinstance(filters[key], str):
                raise bad(f"{where}: {key} must be a string")
    return tuple(rules)


def parse_room_options(form: Form) -> RoomOptions:
    """CreateRoom's parameters with defaults applied; raises ``ApiError`` naming the first bad one."""
    unique_name = _unique_name(form)
    room_type = _room_type(form)
    status_callback, status_callback_method = _status_callback(form)

    cap = limits.MAX_PARTICIPANTS_BY_TYPE[room_type]
    max_participants = _parse_int(
        form,
        "MaxParticipants",
        ErrorCode.MAX_PARTICIPANTS_OUT_OF_RANGE,
        low=1,
        high=cap,
        rule=f"allowed from 1 up to {cap} for a '{room_type}' room",
    )
    timeout_rule = (
        f"allowed from {limits.ROOM_TIMEOUT_MIN_MINUTES} to {limits.ROOM_TIMEOUT_MAX_MINUTES} whole minutes"
    )
    timeouts = {
        name: _parse_int(
            form,
            name,
            ErrorCode.TIMEOUT_OUT_OF_RANGE,
            low=limits.ROOM_TIMEOUT_MIN_MINUTES,
            high=limits.ROOM_TIMEOUT_MAX_MINUTES,
            rule=timeout_rule,
        )
        for name in ("EmptyRoomTimeout", "UnusedRoomTimeout")
    }
    max_duration = _parse_int(
        form,
        "MaxParticipantDuration",
        ErrorCode.INVALID_PARAMETER,
        low=limits.MIN_PARTICIPANT_DURATION_SECONDS,
        high=limits.MAX_PARTICIPANT_DURATION_SECONDS,
        rule=f"allowed from {limits.MIN_PARTICIPANT_DURATION_SECONDS} to "
        f"{limits.MAX_PARTICIPANT_DURATION_SECONDS} seconds",
    )

    parse_bool(form, "EnableTurn", True)  # deprecated and ignored, but still must be a boolean
    audio_only = parse_bool(form, "AudioOnly")
    if audio_only and room_type is not RoomType.GROUP:
        raise invalid(
            ErrorCode.AUDIO_ONLY_NOT_SUPPORTED,
            f"AudioOnly=true needs Type=group, not Type={room_type.value!r}",
        )
    record = parse_bool(form, "RecordParticipantsOnConnect")
    if record and room_type in (RoomType.PEER_TO_PEER, RoomType.GO):
        raise invalid(
            ErrorCode.RECORDING_NOT_SUPPORTED,
            f"RecordParticipantsOnConnect=true is not supported for Type={room_type.value!r}",
        )
    parse_bool(form, "TranscribeParticipantsOnConnect")
    transcriptions = form.get("TranscriptionsConfiguration")
    if transcriptions is not None:
        try:
            parsed = json.loads(transcriptions)
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            raise invalid(ErrorCode.INVALID_PARAMETER, "TranscriptionsConfiguration must be a JSON object")
    rules_raw = form.get("RecordingRules")

    return RoomOptions(
        unique_name=unique_name,
        type=room_type,
        status_callback=status_callback,
        status_callback_method=status_callback_method,
        max_participants=max_participants if max_participants is not None else cap,
        max_participant_duration=max_duration or limits.DEFAULT_PARTICIPANT_DURATION_SECONDS,
        max_concurrent_published_tracks=limits.MAX_CONCURRENT_PUBLISHED_TRACKS_BY_TYPE[room_type],
        record_participants_on_connect=record,
        video_codecs=_video_codecs(form, audio_only),
        media_region=_media_region(form),
        audio_only=audio_only,
        empty_room_timeout=timeouts["EmptyRoomTimeout"] or limits.DEFAULT_ROOM_TIMEOUT_MINUTES,
        unused_room_timeout=timeouts["UnusedRoomTimeout"] or limits.DEFAULT_ROOM_TIMEOUT_MINUTES,
        large_room=parse_bool(form, "LargeRoom"),
        recording_rules=parse_recording_rules(rules_raw) if rules_raw is not None else None,
    )
