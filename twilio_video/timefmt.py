"""Twilio's datetime formats.

Resources carry ``YYYY-MM-DDTHH:MM:SSZ`` exactly (twilio-python parses only that format and leaves
anything else as a string); status callbacks carry a ``Timestamp`` with milliseconds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Final

from pydantic import AwareDatetime, PlainSerializer

RESOURCE_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"


def format_resource_datetime(value: datetime) -> str:
    """``2026-11-25T09:00:00Z``: UTC, whole seconds (``RESOURCE_FORMAT``).

    ``isoformat`` writes the same text as ``strftime(RESOURCE_FORMAT)`` for a UTC time, with ``+00:00``
    where the format has ``Z``, in a third of the time: every resource the emulator renders has two to
    four of these.
    """
    return value.astimezone(UTC).isoformat(timespec="seconds")[:-6] + "Z"


def format_callback_timestamp(value: datetime) -> str:
    """``2026-11-25T09:00:00.123Z``, as real Video status callbacks send it (milliseconds truncated)."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_date_filter(value: str) -> datetime:
    """Parse a ``DateCreatedAfter``/``Before`` value: ``YYYY-MM-DD`` or an ISO 8601 date-time.

    The docs say ``YYYY-MM-DD`` while the spec says date-time and the helper libraries send
    ``YYYY-MM-DDTHH:MM:SSZ``; both are accepted. A date-time without an offset is taken as UTC.
    Raises ``ValueError`` with the rejected text.
    """
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is neither YYYY-MM-DD nor an ISO 8601 date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


#: A timezone-aware datetime that serialises to JSON in Twilio's resource format.
TwilioDateTime = Annotated[
    AwareDatetime, PlainSerializer(format_resource_datetime, return_type=str, when_used="json")
]
