"""How a room event reaches its meeting: the ``room_event`` signal, by workflow id.

Used by the gateway (status callbacks) and the reconciler (observations), so both say "the meeting
is no longer running" the same way.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from workflows.meeting_models import RoomEvent


class WorkflowGone(Exception):
    """The workflow is not running (finished, or never existed)."""


class MeetingSignaller:
    def __init__(self, client: Client) -> None:
        self._client = client

    async def room_event(self, workflow_id: str, event: RoomEvent) -> None:
        try:
            await self._client.get_workflow_handle(workflow_id).signal("room_event", event)
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                raise WorkflowGone(workflow_id) from error
            raise
