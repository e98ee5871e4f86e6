"""Twilio status callback form parameters → ``RoomEvent``."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from twilio_video.timefmt import parse_date_filter
from workflows.meeting_models import RoomEvent, RoomEventKind

#: The events a meeting cares about; tracks and recordings are acknowledged and dropped.
RELEVANT = {
    kind.value for kind in RoomEventKind if kind not in (RoomEventKind.SNAPSHOT, RoomEventKind.ROOM_MISSING)
}


class BadCallback(ValueError):
    """The callback's parameters are missing or malformed; the message says which."""


def room_event_from_callback(params: Mapping[str, str]) -> RoomEvent | None:
    """The event a callback reports, or None for events meetings ignore (tracks, recordings)."""
    kind = params.get("StatusCallbackEvent")
    if not kind:
        raise BadCallback("StatusCallbackEvent is missing")
    if kind not in RELEVANT:
        return None
    for name in ("RoomSid", "Timestamp"):
        if not params.get(name):
            raise BadCallback(f"{name} is missing")
    try:
        timestamp = parse_date_filter(params["Timestamp"])
    except ValueError as exc:
        raise BadCallback(f"Timestamp: {exc}") from None
    sequence = params.get("SequenceNumber")
    if sequence is not None and not sequence.isdigit():
        raise BadCallback(f"SequenceNumber={sequence!r} is not a whole number")
    if kind.startswith("participant-") and not (
        params.get("ParticipantSid") and params.get("ParticipantIdentity")
    ):
        raise BadCallback(f"{kind} needs ParticipantSid and ParticipantIdentity")
    try:
        return RoomEvent(
            kind=RoomEventKind(kind),
            source="callback",
            room_sid=params["RoomSid"],
            timestamp=timestamp,
            sequence_number=int(sequence) if sequence is not None else None,
            participant_sid=params.get("ParticipantSid"),
            participant_identity=params.get("ParticipantIdentity"),
        )
    except ValidationError as exc:
        raise BadCallback(str(exc)) from None
