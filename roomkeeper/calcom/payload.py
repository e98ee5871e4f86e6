"""The fields roomkeeper reads from a Cal.com webhook delivery, as pydantic models.

Cal.com sends ``{"triggerEvent", "createdAt", "payload"}`` as JSON; ``payload`` is the whole booking
(its ``CalendarEvent`` spread in, then overridden), so the models read the few fields they use and ignore
the rest. Times are UTC ISO strings (``…Z`` or ``+00:00``); one without an offset is refused.

A booking series keeps its ``iCalUID`` across reschedules (a reschedule is a *new* booking with a new
``uid``, naming the old one in ``rescheduleUid``) and counts its changes in ``iCalSequence``.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from workflows.meeting_input import Revision


class Trigger(StrEnum):
    """The triggers roomkeeper acts on or names; every other one is acknowledged and ignored."""

    BOOKING_CREATED = "BOOKING_CREATED"
    BOOKING_RESCHEDULED = "BOOKING_RESCHEDULED"
    BOOKING_CANCELLED = "BOOKING_CANCELLED"
    BOOKING_REQUESTED = "BOOKING_REQUESTED"
    BOOKING_REJECTED = "BOOKING_REJECTED"


class BadPayload(ValueError):
    """The delivery is not JSON, or lacks what its trigger needs; the message names the field."""


class _Lenient(BaseModel):
    # Cal.com adds fields release by release: read what is used, ignore the rest.
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class Person(_Lenient):
    """An organiser or attendee."""

    name: str | None = None
    email: str | None = None
    time_zone: str | None = Field(None, alias="timeZone")


class _Booking(_Lenient):
    uid: str = Field(min_length=1, max_length=1000, description="This booking's id (new on a reschedule).")
    ical_uid: str = Field(
        alias="iCalUID", min_length=1, max_length=1000, description="The series' id, kept across reschedules."
    )
    title: str | None = None
    event_type_slug: str | None = Field(None, alias="type")
    event_type_id: int | None = Field(None, alias="eventTypeId")
    organizer: Person | None = None
    attendees: list[Person] = Field(default_factory=list)


class Booked(_Booking):
    """``BOOKING_CREATED`` and ``BOOKING_RESCHEDULED``: a booking at a time, at a revision."""

    ical_sequence: Revision = Field(alias="iCalSequence")
    start_time: AwareDatetime = Field(alias="startTime")
    end_time: AwareDatetime = Field(alias="endTime")
    reschedule_uid: str | None = Field(None, alias="rescheduleUid")


class Cancelled(_Booking):
    """``BOOKING_CANCELLED``. Cal.com sends the cancelled booking's ``iCalSequence`` plus one; older
    builds may send none. ``requestReschedule`` is the host asking the attendee to book another time."""

    ical_sequence: Revision | None = Field(None, alias="iCalSequence")
    start_time: AwareDatetime | None = Field(None, alias="startTime")
    end_time: AwareDatetime | None = Field(None, alias="endTime")
    request_reschedule: bool | None = Field(False, alias="requestReschedule")
    cancellation_reason: str | None = Field(None, alias="cancellationReason")


class Delivery(_Lenient):
    """One webhook delivery: its trigger and, for bookings, the booking."""

    trigger: str = Field(alias="triggerEvent", min_length=1)
    payload: dict[str, Any] | None = None

    @property
    def booking_uid(self) -> str | None:
        """The booking's ``uid`` if there is one (for the log line), without validating anything else."""
        uid = (self.payload or {}).get("uid")
        return uid if isinstance(uid, str) else None


M = TypeVar("M", bound=BaseModel)


def parse_delivery(body: bytes) -> Delivery:
    """The delivery in ``body``; ``BadPayload`` names what is wrong."""
    try:
        document = json.loads(body)
    # RecursionError: absurdly deep nesting; ValueError: not JSON, not UTF-8, or an over-long number.
    except (ValueError, RecursionError) as error:
        raise BadPayload(f"the body is not JSON: {_first_line(error)}") from None
    if not isinstance(document, dict):
        raise BadPayload("the body must be a JSON object with triggerEvent and payload")
    return _validated(Delivery, document, "")


def booking(model: type[M], delivery: Delivery) -> M:
    """The delivery's payload as ``model``; ``BadPayload`` names each missing or malformed field."""
    if delivery.payload is None:
        raise BadPayload(f"payload is required for {delivery.trigger} (a JSON object)")
    return _validated(model, delivery.payload, "payload.")


def _validated(model: type[M], document: dict[str, Any], where: str) -> M:
    try:
        return model.model_validate(document)
    except ValidationError as error:
        problems = [_problem(item, where) for item in error.errors(include_url=False)]
    # Raised outside the except block: no chained pydantic error (whose text quotes the whole input).
    raise BadPayload("; ".join(problems))


def _problem(item: Any, where: str) -> str:
    """One field's problem: ``payload.iCalUID: Field required``, with a short look at a bad value."""
    location = where + ".".join(str(part) for part in item["loc"])
    message = str(item["msg"]).removeprefix("Value error, ")
    value = item.get("input")
    if item["type"] == "missing" or isinstance(value, dict | list):
        return f"{location}: {message}"
    shown = repr(value)
    return f"{location}: {message} (got {shown if len(shown) <= 60 else shown[:60] + '…'})"


def _first_line(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]
