"""Twilio status callback form parameters → ``RoomEvent``.

A callback reaches this only after its signature checked out, but a signature proves who sent it, not
that every value is sane; anything odd becomes ``BadCallback`` (a 400 naming the parameter), never
another exception.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from pydantic import ValidationError

from common.room_events import RoomEvent, RoomEventKind
from twilio_video.timefmt import parse_date_filter

#: The events a meeting cares about; tracks and recordings are acknowledged and dropped.
RELEVANT = {
    kind.value for kind in RoomEventKind if kind not in (RoomEventKind.SNAPSHOT, RoomEventKind.ROOM_MISSING)
}

#: The parameters an event is made of; each must appear at most once, or which one counts is a guess.
USED = (
    "StatusCallbackEvent",
    "RoomSid",
    "Timestamp",
    "SequenceNumber",
    "ParticipantSid",
    "ParticipantIdentity",
)

#: Twilio's sequence numbers are small counters; a bound keeps the signal's integer a plain int64.
MAX_SEQUENCE_NUMBER = 2**63 - 1

#: How much of an odd value an error message quotes.
_SHOWN = 40


class BadCallback(ValueError):
    """The callback's parameters are missing or malformed; the message says which."""


def _shown(value: str) -> str:
    """``value`` quoted for a message: repr (so control characters are escaped), long ones cut short."""
    if len(value) <= _SHOWN:
        return repr(value)
    return f"{value[:_SHOWN]!r}… ({len(value)} characters)"


def _single_values(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    if isinstance(params, Mapping):
        return dict(params)
    values: defaultdict[str, list[str]] = defaultdict(list)
    for name, value in params:
        values[name].append(value)
    for name in USED:
        if len(values.get(name, ())) > 1:
            raise BadCallback(f"{name} is repeated ({len(values[name])} values)")
    return {name: found[-1] for name, found in values.items()}


def _timestamp(text: str) -> datetime:
    try:
        parsed = parse_date_filter(text)
    except ValueError:
        raise BadCallback(f"Timestamp={_shown(text)} is not an ISO 8601 date-time") from None
    try:
        # In UTC now: a far-off year with an offset would otherwise overflow later, wherever converted.
        return parsed.astimezone(UTC)
    except OverflowError:
        raise BadCallback(f"Timestamp={_shown(text)} is out of range in UTC") from None


def _sequence_number(text: str) -> int:
    # str.isdigit() alone accepts "²" and other digits int() refuses; Twilio sends ASCII digits only.
    if not (text.isascii() and text.isdigit()):
        raise BadCallback(f"SequenceNumber={_shown(text)} is not a whole number (ASCII digits)")
    # Length first: int() refuses strings of over 4300 digits with a ValueError of its own.
    significant = text.lstrip("0") or "0"
    if len(significant) > len(str(MAX_SEQUENCE_NUMBER)) or int(significant) > MAX_SEQUENCE_NUMBER:
        raise BadCallback(f"SequenceNumber={_shown(text)} is larger than {MAX_SEQUENCE_NUMBER}")
    return int(significant)


def room_event_from_callback(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> RoomEvent | None:
    """The event a callback reports, or None for events meetings ignore (tracks, recordings).

    ``params`` are the form's pairs in order (or a mapping); the parameters an event is made of must
    not repeat. Raises ``BadCallback`` and nothing else for any odd input.
    """
    values = _single_values(params)
    kind = values.get("StatusCallbackEvent")
    if not kind:
        raise BadCallback("StatusCallbackEvent is missing")
    if kind not in RELEVANT:
        return None
    for name in ("RoomSid", "Timestamp"):
        if not values.get(name):
            raise BadCallback(f"{name} is missing")
    timestamp = _timestamp(values["Timestamp"])
    sequence = values.get("SequenceNumber")
    sequence_number = _sequence_number(sequence) if sequence is not None else None
    if kind.startswith("participant-") and not (
        values.get("ParticipantSid") and values.get("ParticipantIdentity")
    ):
        raise BadCallback(f"{kind} needs ParticipantSid and ParticipantIdentity")
    try:
        return RoomEvent(
            kind=RoomEventKind(kind),
            source="callback",
            room_sid=values["RoomSid"],
            timestamp=timestamp,
            sequence_number=sequence_number,
            participant_sid=values.get("ParticipantSid"),
            participant_identity=values.get("ParticipantIdentity"),
        )
    except ValidationError as exc:
        raise BadCallback(str(exc)) from None
