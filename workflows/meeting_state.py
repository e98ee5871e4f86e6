"""What only MeetingWorkflow touches: the state it carries across continue-as-new, and its argument
(a fresh meeting's spec, or a continued meeting)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Discriminator, Field, RootModel, Tag

from common.extend_policy import DeploymentCaps
from common.room_events import RoomEvent
from workflows.meeting_events import EventsState
from workflows.meeting_input import MeetingSpec
from workflows.meeting_status import (
    ConnectedParticipant,
    EndedBy,
    Eviction,
    Extension,
    HistoryEntry,
    Phase,
    Trouble,
)


class MeetingState(BaseModel):
    """Everything the workflow knows, carried whole across continue-as-new."""

    phase: Phase = Phase.SCHEDULED
    room_sid: str | None = None
    room_sids: list[str] = Field(default_factory=list)
    opened_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    participants: dict[str, ConnectedParticipant] = Field(default_factory=dict)
    #: Participant SIDs that have left; a late "connected" for one of them is stale. Bounded.
    departed: list[str] = Field(default_factory=list)
    participant_sids_seen: int = 0
    identities_seen: list[str] = Field(default_factory=list)
    evictions: list[Eviction] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    ended_by: EndedBy | None = None
    end_reason: str | None = None
    pending_events: list[RoomEvent] = Field(default_factory=list)
    #: What is failing right now, if anything (None when Twilio answers).
    trouble: Trouble | None = None
    #: A status callback for the current room has arrived, and no reconciler snapshot has shown a change
    #: that callbacks missed since (see ``common.room_events.RoomMemo``).
    callbacks_flowing: bool = False
    #: The deployment's decisions for this meeting (``MeetingDefaults``), once loaded at its start.
    defaults_loaded: bool = False
    events: EventsState = Field(default_factory=EventsState)
    extend_caps: DeploymentCaps | None = None
    #: The end as planned, before any extension: the input's, or a ``reschedule`` made before opening.
    planned_end: AwareDatetime | None = None
    extensions: list[Extension] = Field(default_factory=list)


class ContinuedMeeting(BaseModel):
    """What a meeting continues as new with: its current spec and everything it knows."""

    model_config = ConfigDict(extra="forbid")

    spec: MeetingSpec
    carried_state: MeetingState


def _input_kind(value: Any) -> str:
    if isinstance(value, ContinuedMeeting) or (isinstance(value, dict) and "carried_state" in value):
        return "continued"
    return "spec"


class MeetingInput(
    RootModel[
        Annotated[
            Annotated[MeetingSpec, Tag("spec")] | Annotated[ContinuedMeeting, Tag("continued")],
            Discriminator(_input_kind),
        ]
    ]
):
    """The workflow's single argument: a ``MeetingSpec`` (e.g. from the CLI), or a ``ContinuedMeeting``.

    Temporal applies type hints only when the argument count matches, so a fresh meeting and a continued
    one share one argument, told apart by the ``carried_state`` key.
    """
