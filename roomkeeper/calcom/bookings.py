"""A Cal.com booking series as a meeting: its id, its input and the memo that says who it is for.

One meeting per booking *series*: a reschedule is a new booking (a new ``uid``) of the same series (the
same ``iCalUID``), so the meeting id is derived from the ``iCalUID`` alone, deterministically. The id is
also the room's name, so it keeps to what both allow: letters, digits and ``. _ : -`` (no ``@``, which
every Cal.com ``iCalUID`` has), at most 100 characters.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from roomkeeper.calcom.event_types import EventTypes
from roomkeeper.calcom.payload import Booked, Cancelled, Person
from workflows.meeting_input import MeetingSpec

#: Every Cal.com meeting's id starts so: ``meeting-calcom-…`` in Temporal, easy to list and tell apart.
PREFIX = "calcom-"
_MAX_ID = 100
_DIGEST = 16  # hex digits of SHA-256: 64 bits, no collision among any realistic number of series
_NOT_KEPT = re.compile(r"[^A-Za-z0-9._:-]+")
_TITLE_LIMIT = 200
#: The memo is shown whole in the Temporal UI and has a size limit: a seated event's crowd is cut short.
MAX_ATTENDEES_IN_MEMO = 50


def meeting_id_for(ical_uid: str) -> str:
    """The meeting id of a booking series: ``calcom-<iCalUID>`` when that is already a valid id;
    otherwise the iCalUID's usable characters (cut short) and a hash of the whole iCalUID, so two series
    never share an id however alike they look once cleaned (``a@b`` and ``a-b``)."""
    plain = PREFIX + ical_uid
    if len(plain) <= _MAX_ID and _NOT_KEPT.search(ical_uid) is None:
        return plain
    digest = hashlib.sha256(ical_uid.encode()).hexdigest()[:_DIGEST]
    readable = _NOT_KEPT.sub("-", ical_uid).strip("-._:")[: _MAX_ID - len(PREFIX) - 1 - _DIGEST]
    readable = readable.rstrip("-._:")
    return f"{PREFIX}{readable}-{digest}" if readable else f"{PREFIX}{digest}"


def spec_for(booking: Booked | Cancelled, event_types: EventTypes, *, revision: int | None) -> MeetingSpec:
    """The meeting input for ``booking`` at ``revision``: its window, its event type's room options.

    Raises pydantic's ``ValidationError`` when no meeting can be made of it (longer than 7 days, or a
    cancelled booking without its times).
    """
    options = event_types.options_for(booking.event_type_id, booking.event_type_slug)
    return MeetingSpec.model_validate(
        {
            **options,
            "meeting_id": meeting_id_for(booking.ical_uid),
            "title": (booking.title or "")[:_TITLE_LIMIT],
            "start_time": booking.start_time,
            "end_time": booking.end_time,
            "revision": revision,
        }
    )


def _person(person: Person, *, time_zone: bool = False) -> dict[str, Any]:
    shown: dict[str, Any] = {"name": person.name, "email": person.email}
    if time_zone:
        shown["time_zone"] = person.time_zone
    return shown


def memo_for(booking: Booked | Cancelled) -> dict[str, Any]:
    """Who the meeting is for and where it came from, for the Temporal UI (a memo is not searchable, so
    names and emails are not put in search attributes). It describes the booking that started the run."""
    attendees = booking.attendees[:MAX_ATTENDEES_IN_MEMO]
    memo: dict[str, Any] = {
        "source": "calcom",
        "title": booking.title or "",
        "organizer": _person(booking.organizer, time_zone=True) if booking.organizer else None,
        "attendees": [_person(attendee) for attendee in attendees],
        "booking_uid": booking.uid,
        "ical_uid": booking.ical_uid,
        "ical_sequence": booking.ical_sequence,
        "event_type": booking.event_type_slug,
        "event_type_id": booking.event_type_id,
    }
    if len(booking.attendees) > len(attendees):
        memo["attendees_total"] = len(booking.attendees)
    return memo
