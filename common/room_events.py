"""The ``room_event`` signal: what Twilio's status callbacks (through the gateway) and the reconciler's
observations tell a meeting, and how it reaches the meeting's workflow, by workflow id.

Shared by the gateway, the reconciler activity and MeetingWorkflow, so both senders say "the meeting
is no longer running" the same way and the payload is defined once.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

#: The signal's name (MeetingWorkflow's handler is registered under it).
ROOM_EVENT_SIGNAL = "room_event"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoomEventKind(StrEnum):
    ROOM_CREATED = "room-created"
    ROOM_ENDED = "room-ended"
    PARTICIPANT_CONNECTED = "participant-connected"
    PARTICIPANT_DISCONNECTED = "participant-disconnected"
    #: From the reconciler: the room's connected participants as Twilio lists them.
    SNAPSHOT = "snapshot"
    #: From the reconciler: the room is no longer among the account's in-progress rooms.
    ROOM_MISSING = "room-missing"


class ObservedParticipant(_Model):
    sid: str
    identity: str
    connected_at: AwareDatetime


class RoomEvent(_Model):
    """The ``room_event`` signal: a Twilio status callback, or what the reconciler observed."""

    kind: RoomEventKind
    source: Literal["callback", "reconcile"] = "callback"
    room_sid: str
    #: Twilio's event time (callbacks) or the observation time (reconciler).
    timestamp: AwareDatetime
    sequence_number: int | None = None
    participant_sid: str | None = None
    participant_identity: str | None = None
    #: A ``snapshot``'s connected participants (empty for an empty room; unused by other kinds).
    participants: list[ObservedParticipant] = Field(default_factory=list)

    @field_validator("participants", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        # Signals recorded before this field defaulted to [] carry null; they must still decode.
        return [] if value is None else value


class WorkflowGone(Exception):
    """The workflow is not running (finished, or never existed)."""


class MeetingSignaller:
    def __init__(self, client: Client) -> None:
        self._client = client

    async def room_event(self, workflow_id: str, event: RoomEvent) -> None:
        try:
            await self._client.get_workflow_handle(workflow_id).signal(ROOM_EVENT_SIGNAL, event)
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                raise WorkflowGone(workflow_id) from error
            raise
