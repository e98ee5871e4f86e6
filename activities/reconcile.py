"""The ``ReconcileRooms`` activity: runs the ``RoomSweeper`` for an hour at a time, heartbeating.

Open meetings come from Temporal visibility (``MeetingStatus='open'`` with their ``RoomSid``), so no
meeting has to register anywhere; observations go back to each meeting as ``room_event`` signals.

The activity ends early when its worker shuts down, so a deploy neither waits for the hour nor leaves
the sweep to a retry backoff: the reconciler workflow schedules the next run at once, for whichever
worker polls next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

import pydantic
from temporalio import activity
from temporalio.client import Client

from activities.sweeper import OpenRooms, RoomSweeper, SweepConfig, SweepStats, WatchedRoom
from common.room_events import ROOM_MEMO, MeetingSignaller, RoomEvent, RoomMemo, WorkflowGone
from common.search_attributes import ROOM_SID, quoted
from twilio_video.client import VideoClient

log = logging.getLogger(__name__)


def open_meetings_query(task_queue: str) -> str:
    """Open meetings served by this task queue (one deployment's meetings, not the whole namespace)."""
    return (
        "WorkflowType='MeetingWorkflow' AND ExecutionStatus='Running' AND MeetingStatus='open' "
        f"AND TaskQueue={quoted(task_queue)}"
    )


class ReconcileActivities:
    """The sweep's Temporal side: where open meetings come from, how they are told, the activity."""

    def __init__(self, video: VideoClient, temporal: Client, task_queue: str) -> None:
        self._video = video
        self._temporal = temporal
        self._signaller = MeetingSignaller(temporal)
        self._query = open_meetings_query(task_queue)
        self._sweeper: RoomSweeper | None = None
        self._sweeping: asyncio.Task[SweepStats] | None = None
        # Set by the worker process before it shuts the worker down. The SDK's own shutdown event is
        # created only when the worker's first activity starts, so a sweep that starts as shutdown
        # begins never sees it and would hold the stop for the whole graceful timeout (30 s).
        self._handing_back = asyncio.Event()

    def hand_back(self) -> None:
        """Make the running sweep (and any that starts from now on) return to its workflow at once."""
        self._handing_back.set()

    async def open_rooms(self) -> OpenRooms:
        """Room SID -> every open meeting on this task queue with its ``room`` memo (a visibility query)."""
        rooms: dict[str, WatchedRoom] = {}
        async for execution in self._temporal.list_workflows(self._query):
            room_sid = execution.typed_search_attributes.get(ROOM_SID)
            if room_sid:
                rooms[room_sid] = WatchedRoom(execution.id, _room_memo(await execution.memo()))
        return rooms

    async def notify(self, workflow_id: str, event: RoomEvent) -> None:
        """Signal one meeting; raises when Temporal cannot take the signal, so the sweeper tells again."""
        with contextlib.suppress(WorkflowGone):  # it finished since the visibility query: nothing to tell
            await self._signaller.room_event(workflow_id, event)

    async def _until_shutdown(self) -> None:
        """Whichever comes first: the SDK's worker shutdown, or the process handing the sweep back."""
        waits = [
            asyncio.create_task(activity.wait_for_worker_shutdown()),
            asyncio.create_task(self._handing_back.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    @activity.defn(name="ReconcileRooms")
    async def reconcile_rooms(self, config: SweepConfig) -> SweepStats:
        """Sweep for ``config.run_for_seconds``, or until this worker starts shutting down."""
        # One sweeper per worker process, so what it has told survives the hourly hand-back.
        if self._sweeper is None or self._sweeper.config != config:
            self._sweeper = RoomSweeper(self._video, self.open_rooms, self.notify, config)
        sweeper = self._sweeper
        sweeper.heartbeat = activity.heartbeat
        if self._sweeping is not None and not self._sweeping.done():
            # Only one attempt of the singleton is live on the server; an older one still running here
            # was timed out (say, across a Temporal outage) and must not sweep alongside this one.
            log.info("reconcile: a newer attempt takes over the sweep")
            self._sweeping.cancel()
        sweeping = asyncio.create_task(sweeper.run())
        self._sweeping = sweeping
        shutdown = asyncio.create_task(self._until_shutdown())
        try:
            await asyncio.wait({sweeping, shutdown}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            shutdown.cancel()
            if not sweeping.done():
                sweeping.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeping
        if shutdown.done() and not shutdown.cancelled():
            log.info("reconcile: worker shutting down; handing the sweep back to the reconciler")
        if sweeping.cancelled():
            return sweeper.stats
        return sweeping.result()


def _room_memo(memo: Mapping[str, Any]) -> RoomMemo | None:
    """The meeting's ``room`` memo; None when it keeps none (older code) or it cannot be read."""
    try:
        return RoomMemo.model_validate(memo[ROOM_MEMO]) if ROOM_MEMO in memo else None
    except pydantic.ValidationError:
        return None  # read the room every cycle: the safe side
