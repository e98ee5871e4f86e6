"""The lifecycle events a meeting sends to the application (docs/app-developers.md): names and shape.

MeetingWorkflow decides what happened and when; the ``DeliverMeetingEvent`` activity signs and posts
it. An event's body is ``{"type", "timestamp", "data"}``, the shape the Standard Webhooks convention
recommends; its ``id`` travels in the ``webhook-id`` header and stays the same on every retry, so a
receiver drops duplicates by it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class MeetingEventType(StrEnum):
    """Every event type; the names are part of the contract."""

    #: The meeting exists: its window, its room's name.
    SCHEDULED = "meeting.scheduled"
    #: A room is open and can be joined (again, with ``recreated``, after Twilio ended the last one).
    ROOM_OPENED = "meeting.room_opened"
    #: The end is near: sent at each of the meeting's ``ending_soon_minutes`` before it.
    ENDING_SOON = "meeting.ending_soon"
    #: The end moved later (``extend``, or a ``reschedule`` of the end once the room is open).
    EXTENDED = "meeting.extended"
    #: The window moved.
    RESCHEDULED = "meeting.rescheduled"
    #: Someone will be disconnected soon: their time in the room (``max_participant_duration``) ends.
    EVICTION_SOON = "participant.eviction_soon"
    #: Someone was disconnected for staying past ``max_participant_duration``.
    EVICTED = "participant.evicted"
    #: The meeting is over (completed, ended now, cancelled): ``data.summary`` says how it went.
    ENDED = "meeting.ended"
    #: The meeting failed: ``data.reason`` says what failed.
    FAILED = "meeting.failed"


class MeetingEvent(BaseModel):
    """One event: what the receiver gets as the body, plus the id of its ``webhook-id`` header."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="The `webhook-id`: the same on every delivery attempt of this event.")
    type: MeetingEventType
    timestamp: AwareDatetime = Field(description="When it happened, by the meeting's (Temporal's) clock.")
    data: dict[str, Any]

    def body(self) -> dict[str, Any]:
        """The JSON body: the id travels in its header only."""
        return self.model_dump(mode="json", exclude={"id"})


class MeetingEventDelivery(BaseModel):
    """The ``DeliverMeetingEvent`` activity's input: one event, to one receiver."""

    model_config = ConfigDict(frozen=True)

    url: str
    event: MeetingEvent
