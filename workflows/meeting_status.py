"""What MeetingWorkflow tells the world: the ``status`` query and its result, and how a meeting ended."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from workflows.meeting_input import RoomSpec


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
    """Someone in the room now."""

    sid: str = Field(description="Twilio's participant SID (`PA…`).")
    identity: str = Field(description="The identity they joined with.")
    connected_at: AwareDatetime = Field(description="When they connected (Twilio's time).")
    eviction_deadline: AwareDatetime | None = Field(
        description="`connected_at` plus the room's `max_participant_duration`: roomkeeper evicts them then; "
        "null when the meeting gives no `max_participant_duration` (nobody is evicted before the end)."
    )


class Eviction(BaseModel):
    """Someone roomkeeper disconnected."""

    sid: str = Field(description="Twilio's participant SID.")
    identity: str = Field(description="Their identity.")
    connected_at: AwareDatetime = Field(description="When they connected.")
    evicted_at: AwareDatetime = Field(description="When roomkeeper disconnected them.")
    reason: str = Field("max_participant_duration", description="Why.")


class HistoryEntry(BaseModel):
    """One line of the meeting's story (the last 100 are kept)."""

    at: AwareDatetime = Field(description="When (workflow time).")
    what: str = Field(description="What happened, in words.")


class Trouble(BaseModel):
    """A Twilio operation that keeps failing with a transient error (an outage), while it is retried."""

    operation: str = Field(description="The activity that keeps failing (e.g. `CompleteRoom`).")
    since: AwareDatetime = Field(description="When the first failing round started.")
    rounds: int = Field(1, description="Rounds of retries that ran out so far (a round is 5 attempts).")
    last_error: str = Field(description="What the last attempt said.")


class Extension(BaseModel):
    """One move of the end to later: an `extend`, or a `reschedule` of the end once the room was open."""

    at: AwareDatetime = Field(description="When (workflow time).")
    minutes: int = Field(description="How many minutes it added.")
    previous_end: AwareDatetime = Field(description="The end before it.")
    new_end: AwareDatetime = Field(description="The end after it.")
    actor: str | None = Field(None, description="Who asked, as the request said (`actor`).")


class ExtendLimits(BaseModel):
    """The caps on extending this meeting, the meeting's and the deployment's together (the stricter)."""

    max_minutes: int | None = Field(None, description="The longest single extension, minutes.")
    max_extensions: int | None = Field(None, description="How many extensions are allowed in all.")
    latest_end: AwareDatetime | None = Field(None, description="The latest the end may move to.")


class EventsStatus(BaseModel):
    """Where this meeting's lifecycle events go, and how their delivery is going."""

    receiver: str | None = Field(
        description="The receiver (without query or user info), or null when the meeting sends none."
    )
    why_none: str | None = Field(
        None,
        description="Why the meeting sends none although it asked (a receiver without a secret, "
        "`enabled: false`); null when nothing was asked and the deployment sets no receiver.",
    )
    delivered: int = Field(0, description="Events the receiver accepted (2xx).")
    failed: int = Field(0, description="Events given up on (refused, or failing past their retries).")
    pending: int = Field(0, description="Events waiting to be delivered or being delivered now.")
    last_failure: str | None = Field(None, description="Why the last event given up on failed.")


class MeetingStatus(BaseModel):
    """The `status` query."""

    meeting_id: str = Field(description="The input's `meeting_id`.")
    title: str = Field(description="The input's `title`.")
    phase: Phase = Field(description="Where the meeting is in its story.")
    room_sid: str | None = Field(description="The current room's SID (`RM…`), once one exists.")
    room: RoomSpec | None = Field(
        None,
        description="The room's options as the meeting asked for them, every default filled in "
        "(`unique_name` as given: the room's name is `meeting_id` when it is null).",
    )
    start_time: AwareDatetime = Field(description="The scheduled start (after any reschedule).")
    end_time: AwareDatetime = Field(description="The scheduled end (after any reschedule or extend).")
    open_at: AwareDatetime = Field(description="When the room opens: `start_time - open_before_seconds`.")
    opened_at: AwareDatetime | None = Field(None, description="When the first room was ready.")
    participants: list[ConnectedParticipant] = Field(description="Who is connected now, earliest first.")
    trouble: Trouble | None = Field(None, description="What is failing right now, if anything.")
    revision: int | None = Field(
        None, description="The source's revision the meeting reflects (the input's, or the last change's)."
    )
    history: list[HistoryEntry] = Field(description="The meeting's story so far, oldest first.")
    extensions: list[Extension] = Field(default_factory=list, description="Every extension, oldest first.")
    extend_limits: ExtendLimits | None = Field(
        None, description="The caps on further extensions (null for a meeting started before they existed)."
    )
    events: EventsStatus | None = Field(
        None, description="Lifecycle events (null for a meeting started before they existed)."
    )


class MeetingSummary(BaseModel):
    """The workflow's result."""

    meeting_id: str = Field(description="The input's `meeting_id`.")
    room_sid: str | None = Field(description="The last room's SID (none if no room was ever opened).")
    room_sids: list[str] = Field(description="Every room the meeting had, in order.")
    scheduled_start: AwareDatetime = Field(description="The final scheduled start.")
    scheduled_end: AwareDatetime = Field(description="The final scheduled end.")
    opened_at: AwareDatetime | None = Field(description="When the first room was ready.")
    closed_at: AwareDatetime | None = Field(description="When the last room was completed.")
    end_lag_seconds: float | None = Field(
        description="`closed_at` minus `scheduled_end`, seconds (none when no room was ever opened)."
    )
    participants_seen: int = Field(description="Connections seen (a rejoin counts again).")
    identities_seen: list[str] = Field(description="Distinct identities seen, in order of arrival.")
    participants_evicted: list[Eviction] = Field(description="Who roomkeeper disconnected.")
    ended_by: EndedBy = Field(description="How the meeting ended.")
    reason: str | None = Field(None, description="The `end_now` or `cancel` reason, if one was given.")
