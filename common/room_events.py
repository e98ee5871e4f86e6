"""The ``room_event`` signal: what Twilio's status callbacks (through the gateway) and the reconciler's
observations tell a meeting, and how it reaches the meeting's workflow, by workflow id.

Shared by the gateway, the reconciler activity and MeetingWorkflow, so both senders say "the meeting
is no longer running" the same way and the payload is defined once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
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


#: The memo key under which a meeting keeps its ``RoomMemo`` (read by the reconciler from visibility).
ROOM_MEMO = "room"


def roster_digest(participant_sids: Iterable[str]) -> str:
    """A short, order-free digest of who is connected: the meeting writes it, the reconciler compares
    what Twilio lists with it, so a read that shows nothing new costs no signal."""
    joined = "\n".join(sorted(participant_sids))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


class RoomMemo(_Model):
    """What a meeting tells the reconciler about its room, as its ``room`` memo (no history cost to read).

    Written by the meeting only when it changes: when its room's first status callback arrives, when a
    reconciler snapshot showed that callbacks missed something, and when who is connected changes.
    """

    room_sid: str
    #: A status callback for this room has arrived since the room opened or since callbacks last missed
    #: a change: the reconciler may read the room rarely.
    callbacks_flowing: bool
    #: ``roster_digest`` of the connected participants' SIDs as the meeting knows them.
    connected: str


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
