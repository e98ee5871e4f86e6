"""The ``ReconcileRooms`` activity: runs the ``RoomSweeper`` for an hour at a time, heartbeating.

Open meetings come from Temporal visibility (``MeetingStatus='open'`` with their ``RoomSid``), so no
meeting has to register anywhere; observations go back to each meeting as ``room_event`` signals.
"""

from __future__ import annotations

import contextlib

from temporalio import activity
from temporalio.client import Client

from activities.sweeper import OpenRooms, RoomSweeper, SweepConfig, SweepStats
from roomkeeper.meeting_signals import MeetingSignaller, WorkflowGone
from twilio_video.client import VideoClient
from workflows.meeting_models import RoomEvent
from workflows.search_attributes import ROOM_SID


def open_meetings_query(task_queue: str) -> str:
    """Open meetings served by this task queue (one deployment's meetings, not the whole namespace)."""
    return (
        "WorkflowType='MeetingWorkflow' AND ExecutionStatus='Running' AND MeetingStatus='open' "
        f"AND TaskQueue='{task_queue}'"
    )


class ReconcileActivities:
    def __init__(self, video: VideoClient, temporal: Client, task_queue: str) -> None:
        self._video = video
        self._temporal = temporal
        self._signaller = MeetingSignaller(temporal)
        self._query = open_meetings_query(task_queue)
        self._sweeper: RoomSweeper | None = None

    async def open_rooms(self) -> OpenRooms:
        rooms: dict[str, str] = {}
        async for execution in self._temporal.list_workflows(self._query):
            room_sid = execution.typed_search_attributes.get(ROOM_SID)
            if room_sid:
                rooms[room_sid] = execution.id
        return rooms

    async def notify(self, workflow_id: str, event: RoomEvent) -> None:
        with contextlib.suppress(WorkflowGone):  # it finished since the visibility query: nothing to tell
            await self._signaller.room_event(workflow_id, event)

    @activity.defn(name="ReconcileRooms")
    async def reconcile_rooms(self, config: SweepConfig) -> SweepStats:
        # One sweeper per worker process, so what it has seen survives the hourly hand-back.
        if self._sweeper is None or self._sweeper.config != config:
            self._sweeper = RoomSweeper(self._video, self.open_rooms, self.notify, config)
        self._sweeper.heartbeat = activity.heartbeat
        return await self._sweeper.run()
