"""What MeetingWorkflow tells the world: the ``status`` query and its result, and how a meeting ended."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel


class Phase(StrEnum):
    SCHEDULED = "scheduled"
    OPENING = "opening"
    OPEN = "open"
    CLOSING = "closing"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


TERMINAL_PHASES = frozenset({Phase.COMPLETED, Phase.CANCELLED, Phase.FAILED})


class EndedBy(StrEnum):
    """How a meeting ended."""

    #: Its scheduled end came.
    SCHEDULE = "schedule"
    #: Someone asked with the ``end_now`` update.
    END_NOW = "end_now"
    #: Someone sent the ``cancel`` signal.
    CANCELLED = "cancelled"
    #: Twilio ended the room and the meeting's policy (or the clock) did not replace it.
    ROOM_ENDED = "room_ended"
    #: The window passed before a room could open (e.g. every worker was down).
    WINDOW_PASSED = "window_passed"
    #: A permanent error, or Twilio failing for the whole window.
    FAILED = "failed"


class ConnectedParticipant(BaseModel):
    sid: str
    identity: str
    connected_at: AwareDatetime
    eviction_deadline: AwareDatetime


class Eviction(BaseModel):
    sid: str
    identity: str
    connected_at: AwareDatetime
    evicted_at: AwareDatetime
    reason: str = "max_participant_duration"


class HistoryEntry(BaseModel):
    at: AwareDatetime
    what: str


class Trouble(BaseModel):
    """A Twilio operation that keeps failing with a transient error (an outage), while it is retried."""

    operation: str
    #: When the first failing round started.
    since: AwareDatetime
    #: Rounds of retries that ran out so far (each is ``activities.policy.ROUND`` of attempts).
    rounds: int = 1
    last_error: str


class MeetingStatus(BaseModel):
    """The ``status`` query."""

    meeting_id: str
    title: str
    phase: Phase
    room_sid: str | None
    start_time: AwareDatetime
    end_time: AwareDatetime
    open_at: AwareDatetime
    #: When the meeting's first room was ready (None before).
    opened_at: AwareDatetime | None = None
    participants: list[ConnectedParticipant]
    #: A Twilio operation that keeps failing right now, and since when (None when all is well).
    trouble: Trouble | None = None
    history: list[HistoryEntry]


class MeetingSummary(BaseModel):
    """The workflow's result."""

    meeting_id: str
    room_sid: str | None
    room_sids: list[str]
    scheduled_start: AwareDatetime
    scheduled_end: AwareDatetime
    opened_at: AwareDatetime | None
    closed_at: AwareDatetime | None
    #: closed_at minus scheduled end, seconds (None when no room was ever opened).
    end_lag_seconds: float | None
    participants_seen: int
    identities_seen: list[str]
    participants_evicted: list[Eviction]
    ended_by: EndedBy
    reason: str | None = None
