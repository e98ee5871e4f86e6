"""Noticing what status callbacks missed, for every open meeting at once, within Twilio's read budget.

Each cycle (``sweep_period_seconds``, 25 s by default):

1. one account-wide ``ListRoom`` (in-progress, 1,000 a page) — a room that an open meeting expects but
   Twilio no longer lists has ended: that meeting is told ``room-missing``;
2. one ``ListRoomParticipant`` per open room, paced evenly across the cycle and never faster than
   ``max_reads_per_second`` — when the connected set differs from the last one seen, the meeting is sent
   a ``snapshot``.

So a change is noticed within one cycle plus a request, and 1,000 open rooms cost 1,000/25 = 40 reads/s
plus one listing: half of Twilio's 80/s. Past ``max_reads_per_second * period`` rooms the cycle
stretches instead of exceeding the budget. Nothing here knows Temporal: where the open meetings come
from and how they are told is injected.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from twilio_video.client import VideoClient
from twilio_video.errors import NotFound, TwilioError
from twilio_video.models import ParticipantStatus, RoomStatus
from workflows.meeting_models import ObservedParticipant, RoomEvent, RoomEventKind

log = logging.getLogger(__name__)

#: Participant reads allowed to overlap when Twilio answers slowly.
MAX_READS_IN_FLIGHT = 8


class SweepConfig(BaseModel):
    sweep_period_seconds: float = Field(25.0, gt=0)
    max_reads_per_second: float = Field(40.0, gt=0)
    #: How long one activity run sweeps before handing back to its workflow (bounds that history).
    run_for_seconds: float = Field(3600.0, gt=0)


#: room SID -> the workflow id of the open meeting that owns it
OpenRooms = Mapping[str, str]
OpenRoomsSource = Callable[[], Awaitable[OpenRooms]]
Notify = Callable[[str, RoomEvent], Awaitable[None]]


@dataclass
class SweepStats:
    cycles: int = 0
    listings: int = 0
    participant_reads: int = 0
    snapshots_sent: int = 0
    missing_sent: int = 0
    errors: int = 0


@dataclass
class RoomSweeper:
    video: VideoClient
    open_rooms: OpenRoomsSource
    notify: Notify
    config: SweepConfig = field(default_factory=SweepConfig)
    heartbeat: Callable[[], None] = lambda: None
    stats: SweepStats = field(default_factory=SweepStats)
    #: What each room's connected set looked like when last read (SIDs).
    _last_seen: dict[str, frozenset[str]] = field(default_factory=dict)
    _reported_missing: set[str] = field(default_factory=set)

    async def run(self) -> SweepStats:
        deadline = time.monotonic() + self.config.run_for_seconds
        while time.monotonic() < deadline:
            started = time.monotonic()
            await self.cycle()
            self.heartbeat()
            await asyncio.sleep(max(0.0, self.config.sweep_period_seconds - (time.monotonic() - started)))
        return self.stats

    async def cycle(self) -> None:
        """One listing, then each open room's participants, paced across the period."""
        self.stats.cycles += 1
        expected = dict(await self.open_rooms())
        try:
            in_progress = {
                room.sid
                async for room in self.video.list_rooms(status=RoomStatus.IN_PROGRESS, page_size=1000)
            }
        except TwilioError as error:
            self.stats.errors += 1
            log.warning("reconcile: listing rooms failed: %s", error)
            return
        self.stats.listings += 1
        # Forget rooms no meeting expects any more, so a long-lived worker's memory stays bounded.
        for room_sid in list(self._last_seen):
            if room_sid not in expected:
                del self._last_seen[room_sid]
        self._reported_missing &= expected.keys()
        watched = []
        for room_sid, workflow_id in expected.items():
            if room_sid in in_progress:
                watched.append((room_sid, workflow_id))
            elif room_sid not in self._reported_missing:
                self._reported_missing.add(room_sid)
                await self._tell(
                    workflow_id,
                    RoomEvent(
                        kind=RoomEventKind.ROOM_MISSING,
                        source="reconcile",
                        room_sid=room_sid,
                        timestamp=datetime.now(UTC),
                    ),
                )
                self.stats.missing_sent += 1
        if not watched:
            return
        # Read i starts at cycle start + i * spacing, whatever earlier reads cost, so the period holds
        # and the rate never exceeds the cap; a few reads may overlap while Twilio is slow.
        spacing = max(self.config.sweep_period_seconds / len(watched), 1 / self.config.max_reads_per_second)
        started = time.monotonic()
        in_flight = asyncio.Semaphore(MAX_READS_IN_FLIGHT)

        async def read(room_sid: str, workflow_id: str) -> None:
            async with in_flight:
                await self._read_participants(room_sid, workflow_id)

        reads = []
        for index, (room_sid, workflow_id) in enumerate(watched):
            await asyncio.sleep(max(0.0, started + index * spacing - time.monotonic()))
            if index % 50 == 0:
                self.heartbeat()
            reads.append(asyncio.create_task(read(room_sid, workflow_id)))
        await asyncio.gather(*reads)

    async def _read_participants(self, room_sid: str, workflow_id: str) -> None:
        observed_at = datetime.now(UTC)
        try:
            connected = [
                p
                async for p in self.video.list_participants(
                    room_sid, status=ParticipantStatus.CONNECTED, page_size=1000
                )
            ]
        except NotFound:
            return  # ended since the listing; the next cycle reports it
        except TwilioError as error:
            self.stats.errors += 1
            log.warning("reconcile: reading participants of %s failed: %s", room_sid, error)
            return
        self.stats.participant_reads += 1
        sids = frozenset(p.sid for p in connected)
        if self._last_seen.get(room_sid) == sids:
            return
        self._last_seen[room_sid] = sids
        snapshot = RoomEvent(
            kind=RoomEventKind.SNAPSHOT,
            source="reconcile",
            room_sid=room_sid,
            timestamp=observed_at,
            participants=[
                ObservedParticipant(sid=p.sid, identity=p.identity, connected_at=p.start_time or observed_at)
                for p in connected
            ],
        )
        await self._tell(workflow_id, snapshot)
        self.stats.snapshots_sent += 1

    async def _tell(self, workflow_id: str, event: RoomEvent) -> None:
        try:
            await self.notify(workflow_id, event)
        except Exception as error:  # one meeting's trouble must not stop the sweep
            self.stats.errors += 1
            log.warning("reconcile: could not tell %s about %s: %s", workflow_id, event.kind.value, error)
