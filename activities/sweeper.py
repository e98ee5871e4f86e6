"""Noticing what status callbacks missed, for every open meeting at once, within Twilio's read budget.

Each cycle (``sweep_period_seconds``, 25 s by default):

1. one account-wide ``ListRoom`` (in-progress, 1,000 a page) — a room that an open meeting expects but
   Twilio no longer lists has ended: that meeting is told ``room-missing``;
2. one ``ListRoomParticipant`` per open room that is due, paced evenly across the cycle and never
   faster than ``max_reads_per_second`` — when the connected set differs from what the meeting knows,
   the meeting is sent a ``snapshot``.

Which rooms are due depends on whether their status callbacks arrive. Each meeting keeps a ``room``
memo (``common.room_events.RoomMemo``, read with the open meetings from visibility at no extra cost):
whether a callback for its room has arrived since the room opened or since callbacks last missed a
change, and a digest of who it knows is connected. A room whose callbacks are *flowing* is read every
``flowing_read_seconds`` (10 min): the read is only a safety net for a single lost callback. Any other
room (callbacks not yet seen, or seen to miss a change; or a meeting from before the memo) is read every
cycle, so with every callback lost each change is still noticed within a cycle plus a request. When a
meeting reports that callbacks missed something (its memo turns from flowing to not), callbacks may be
failing everywhere (a gateway outage), so every room is read every cycle for ``flowing_read_seconds``.
A read that matches the meeting's digest tells it nothing, so a healthy room costs no signal.

So 1,000 open rooms cost at most 1,000/25 = 40 reads/s plus one listing (half of Twilio's 80/s), and
about 1,000/600 = 1.7 reads/s while callbacks flow. Past ``max_reads_per_second * period`` due rooms
the cycle stretches instead of exceeding the budget. Nothing here knows Temporal: where the open
meetings come from and how they are told is injected.

The sweep is the safety net for callbacks lost while Temporal was unreachable, so it must outlive that
outage. When the open meetings cannot be read, the cycle is retried after ``retry_seconds`` (not a
whole period) and counted, never raised; when a meeting cannot be told, the sweeper does not remember
what it saw, so the next cycle reads the room again and tells it. What it remembers is only ever what
it successfully told.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge
from pydantic import BaseModel, Field

from common.room_events import ObservedParticipant, RoomEvent, RoomEventKind, RoomMemo, roster_digest
from twilio_video.client import VideoClient
from twilio_video.errors import NotFound, TwilioError
from twilio_video.models import ParticipantStatus, RoomStatus

log = logging.getLogger(__name__)

#: Participant reads allowed to overlap when Twilio answers slowly.
MAX_READS_IN_FLIGHT = 8

RECONCILE_ERRORS = Counter(
    "roomkeeper_reconcile_errors",
    "Reconcile sweep steps that failed, by stage: open_meetings (Temporal visibility), list_rooms and "
    "list_participants (Twilio), notify (signalling a meeting). The sweep goes on after each.",
    ["stage"],
)
RECONCILE_LAST_CYCLE = Gauge(
    "roomkeeper_reconcile_last_cycle_timestamp_seconds",
    "Unix time at which a reconcile cycle last read the open meetings and Twilio's rooms successfully.",
)


class SweepConfig(BaseModel):
    """How the sweep is paced; the reconciler workflow's input."""

    sweep_period_seconds: float = Field(25.0, gt=0)
    max_reads_per_second: float = Field(40.0, gt=0)
    #: How long one activity run sweeps before handing back to its workflow (bounds that history).
    run_for_seconds: float = Field(3600.0, gt=0)
    #: Pause before trying again when the open meetings or Twilio's rooms could not be listed. Short,
    #: because changes pile up unnoticed meanwhile; the failing call itself already waited a while.
    retry_seconds: float = Field(1.0, gt=0)
    #: How often a room whose status callbacks flow is read anyway (a single lost callback is noticed
    #: within this); rooms whose callbacks are not seen to flow are read every period.
    flowing_read_seconds: float = Field(600.0, gt=0)
    #: The floor of the sweep's heartbeat timeout (which is otherwise three periods): a cycle's slowest
    #: steps do not heartbeat. Lowered only by tests that must outlast it quickly.
    min_heartbeat_timeout_seconds: float = Field(20.0, gt=0)


@dataclass(frozen=True)
class WatchedRoom:
    """An open meeting's room as visibility shows it: who owns it and what the meeting says of it."""

    workflow_id: str
    #: The meeting's ``room`` memo (None from meetings that keep none: read them every cycle).
    memo: RoomMemo | None = None


#: room SID -> the open meeting that owns it (its workflow id alone, or with its memo)
OpenRooms = Mapping[str, str | WatchedRoom]
OpenRoomsSource = Callable[[], Awaitable[OpenRooms]]
Notify = Callable[[str, RoomEvent], Awaitable[None]]


@dataclass
class SweepStats:
    """What one sweeper has done; the ``ReconcileRooms`` activity's result."""

    cycles: int = 0
    listings: int = 0
    participant_reads: int = 0
    #: Reads skipped because the room's callbacks flow and it was read less than a flowing period ago.
    reads_spared: int = 0
    snapshots_sent: int = 0
    missing_sent: int = 0
    errors: int = 0


@dataclass
class RoomSweeper:
    """Compares what Twilio lists with what the open meetings expect, and tells each meeting the news."""

    video: VideoClient
    open_rooms: OpenRoomsSource
    notify: Notify
    config: SweepConfig = field(default_factory=SweepConfig)
    heartbeat: Callable[[], None] = lambda: None
    stats: SweepStats = field(default_factory=SweepStats)
    #: Each room's connected set (SIDs) as last *told* to its meeting; a failed tell leaves it as it was,
    #: so the next cycle tells again.
    _last_told: dict[str, frozenset[str]] = field(default_factory=dict)
    _told_missing: set[str] = field(default_factory=set)
    #: When each room was last read (monotonic), and whether its meeting last said callbacks flow.
    _last_read: dict[str, float] = field(default_factory=dict)
    _was_flowing: dict[str, bool] = field(default_factory=dict)
    #: Until then every room is read every cycle: some meeting reported that callbacks missed a change.
    _suspect_until: float = 0.0
    #: Consecutive cycles that could not list what to compare, for one "sweeping again" line at the end.
    _failed_cycles: int = 0

    async def run(self) -> SweepStats:
        """Sweep every ``sweep_period_seconds`` for ``run_for_seconds``; failures are logged, not raised."""
        deadline = time.monotonic() + self.config.run_for_seconds
        while time.monotonic() < deadline:
            started = time.monotonic()
            full_period = await self.cycle()
            self.heartbeat()
            pause = self.config.sweep_period_seconds if full_period else self.config.retry_seconds
            await asyncio.sleep(max(0.0, pause - (time.monotonic() - started)))
        return self.stats

    async def cycle(self) -> bool:
        """One listing, then each open room's participants, paced across the period.

        Returns whether the next cycle should wait a whole period: not when the open meetings could not be
        read, because whatever changes meanwhile goes unnoticed. Never raises for Temporal's or Twilio's
        errors.
        """
        self.stats.cycles += 1
        try:
            expected = {
                sid: owner if isinstance(owner, WatchedRoom) else WatchedRoom(owner)
                for sid, owner in (await self.open_rooms()).items()
            }
        except Exception as error:  # Temporal unreachable, visibility failing: try again soon
            self._cycle_failed("open_meetings", "reading the open meetings", error, self.config.retry_seconds)
            return False
        self.heartbeat()
        try:
            in_progress = {
                room.sid
                async for room in self.video.list_rooms(status=RoomStatus.IN_PROGRESS, page_size=1000)
            }
        except TwilioError as error:
            # Next period, not sooner: Twilio failing is often Twilio rate limiting, which haste worsens.
            period = self.config.sweep_period_seconds
            self._cycle_failed("list_rooms", "listing Twilio's rooms", error, period)
            return True
        self.stats.listings += 1
        if self._failed_cycles:
            log.info("reconcile: sweeping again after %d failed cycles", self._failed_cycles)
            self._failed_cycles = 0
        RECONCILE_LAST_CYCLE.set_to_current_time()
        # Forget rooms no meeting expects any more, so a long-lived worker's memory stays bounded.
        for known in (self._last_told, self._last_read, self._was_flowing):
            for room_sid in [sid for sid in known if sid not in expected]:
                del known[room_sid]
        self._told_missing &= expected.keys()
        watched = []
        untold: list[tuple[str, Exception]] = []
        due = self._due(expected)
        for room_sid, owner in expected.items():
            workflow_id = owner.workflow_id
            if room_sid in in_progress:
                if room_sid in due:
                    watched.append((room_sid, owner))
                else:
                    self.stats.reads_spared += 1
            elif room_sid not in self._told_missing:
                missing = RoomEvent(
                    kind=RoomEventKind.ROOM_MISSING,
                    source="reconcile",
                    room_sid=room_sid,
                    timestamp=datetime.now(UTC),
                )
                if await self._tell(workflow_id, missing, untold):
                    self._told_missing.add(room_sid)
                    self.stats.missing_sent += 1
        if watched:
            await self._read_all(watched, untold)
        if untold:
            first, why = untold[0]
            log.warning(
                "reconcile: could not tell %d meeting(s), will tell them next cycle; first: %s: %s",
                len(untold),
                first,
                _one_line(why),
            )
        return True

    def _due(self, expected: Mapping[str, WatchedRoom]) -> set[str]:
        """The rooms to read this cycle: all whose callbacks are not seen to flow, and those whose
        callbacks flow but that were last read a flowing period ago (or never)."""
        now = time.monotonic()
        flowing: dict[str, bool] = {}
        for room_sid, owner in expected.items():
            memo = owner.memo
            flowing[room_sid] = memo is not None and memo.room_sid == room_sid and memo.callbacks_flowing
            if self._was_flowing.get(room_sid) and not flowing[room_sid]:
                # This meeting saw a change no callback told it of: they may be failing for everyone.
                if now >= self._suspect_until:
                    log.info(
                        "reconcile: callbacks missed a change in %s; reading every room each cycle", room_sid
                    )
                self._suspect_until = now + self.config.flowing_read_seconds
        self._was_flowing = flowing
        if now < self._suspect_until:
            return set(expected)
        return {
            room_sid
            for room_sid in expected
            if not flowing[room_sid]
            or now - self._last_read.get(room_sid, -math.inf) >= self.config.flowing_read_seconds
        }

    async def _read_all(
        self, watched: list[tuple[str, WatchedRoom]], untold: list[tuple[str, Exception]]
    ) -> None:
        # Read i starts at cycle start + i * spacing, whatever earlier reads cost, so the period holds
        # and the rate never exceeds the cap; a few reads may overlap while Twilio is slow.
        spacing = max(self.config.sweep_period_seconds / len(watched), 1 / self.config.max_reads_per_second)
        started = time.monotonic()
        in_flight = asyncio.Semaphore(MAX_READS_IN_FLIGHT)

        async def read(room_sid: str, owner: WatchedRoom) -> None:
            async with in_flight:
                await self._read_participants(room_sid, owner, untold)

        reads = []
        try:
            for index, (room_sid, owner) in enumerate(watched):
                await asyncio.sleep(max(0.0, started + index * spacing - time.monotonic()))
                if index % 50 == 0:
                    self.heartbeat()
                reads.append(asyncio.create_task(read(room_sid, owner)))
            await asyncio.gather(*reads)
        finally:
            for task in reads:  # stopped mid-cycle (worker shutdown): no read outlives the sweep
                task.cancel()

    async def _read_participants(
        self, room_sid: str, owner: WatchedRoom, untold: list[tuple[str, Exception]]
    ) -> None:
        observed_at = datetime.now(UTC)
        self._last_read[room_sid] = time.monotonic()
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
            RECONCILE_ERRORS.labels("list_participants").inc()
            log.warning("reconcile: reading participants of %s failed: %s", room_sid, error)
            return
        self.stats.participant_reads += 1
        sids = frozenset(p.sid for p in connected)
        memo = owner.memo
        if memo is not None and memo.room_sid == room_sid and memo.connected == roster_digest(sids):
            self._last_told[room_sid] = sids  # the meeting knows: callbacks told it
            return
        if self._last_told.get(room_sid) == sids:
            return
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
        if await self._tell(owner.workflow_id, snapshot, untold):
            self._last_told[room_sid] = sids
            self.stats.snapshots_sent += 1

    async def _tell(self, workflow_id: str, event: RoomEvent, untold: list[tuple[str, Exception]]) -> bool:
        try:
            await self.notify(workflow_id, event)
        except Exception as error:  # one meeting's trouble must not stop the sweep
            self.stats.errors += 1
            RECONCILE_ERRORS.labels("notify").inc()
            untold.append((workflow_id, error))
            return False
        return True

    def _cycle_failed(self, stage: str, doing: str, error: Exception, retry_in: float) -> None:
        self.stats.errors += 1
        self._failed_cycles += 1
        RECONCILE_ERRORS.labels(stage).inc()
        log.warning(
            "reconcile: %s failed (%d cycle(s) in a row), trying again in %gs: %s",
            doing,
            self._failed_cycles,
            retry_in,
            _one_line(error),
        )


def _one_line(error: Exception) -> str:
    """An error as one log line: gRPC errors from Temporal can span several."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."
