"""The reconcile sweep's read budget adapts to whether a room's status callbacks arrive.

A room whose meeting says callbacks flow (its ``room`` memo) is read once a ``flowing_read_seconds``;
any other room every cycle. A read that matches what the meeting knows tells it nothing. When a meeting
reports that callbacks missed a change, every room is read every cycle for a while. Counted from the
emulator's own request log; the cycles are driven one by one, so no timing is involved.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest_asyncio

from activities.sweeper import RoomSweeper, SweepConfig, WatchedRoom
from common.room_events import RoomEvent, RoomEventKind, RoomMemo, roster_digest
from emulator.app import EmulatorConfig
from emulator.clock import ManualClock
from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.support import RunningEmulator, running_emulator
from twilio_video.client import TwilioCredentials, VideoClient

# A tiny period so that pacing costs nothing; a flowing room is not due again within the test.
CONFIG = SweepConfig(sweep_period_seconds=0.01, max_reads_per_second=1000, flowing_read_seconds=3600)


@dataclass
class Fleet:
    emulator: RunningEmulator
    video: VideoClient
    http: httpx.AsyncClient
    rooms: dict[str, str] = field(default_factory=dict)  # name -> sid
    memos: dict[str, RoomMemo | None] = field(default_factory=dict)  # sid -> memo
    told: list[tuple[str, RoomEvent]] = field(default_factory=list)

    async def open_rooms(self) -> dict[str, WatchedRoom]:
        return {sid: WatchedRoom(f"meeting-{sid}", self.memos.get(sid)) for sid in self.rooms.values()}

    async def notify(self, workflow_id: str, event: RoomEvent) -> None:
        self.told.append((workflow_id, event))

    def reads(self) -> Counter[str]:
        """Participant listings per room SID, from the emulator's request log."""
        return Counter(
            entry["path"].split("/")[3]
            for entry in self.emulator.state.requests
            if entry["method"] == "GET" and entry["path"].endswith("/Participants")
        )

    def sweeper(self) -> RoomSweeper:
        return RoomSweeper(self.video, self.open_rooms, self.notify, CONFIG)


@pytest_asyncio.fixture
async def fleet() -> AsyncIterator[Fleet]:
    with running_emulator(EmulatorConfig(clock=ManualClock(), rate_limits=False)) as emulator:
        credentials = TwilioCredentials.from_auth_token(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)
        async with (
            VideoClient(credentials, emulator.url) as video,
            httpx.AsyncClient(base_url=emulator.url, auth=(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)) as http,
        ):
            running = Fleet(emulator, video, http)
            for name in ("flowing", "unproven", "old"):
                response = await http.post("/v1/Rooms", data={"UniqueName": name})
                running.rooms[name] = response.json()["sid"]
            running.memos[running.rooms["flowing"]] = RoomMemo(
                room_sid=running.rooms["flowing"], callbacks_flowing=True, connected=roster_digest([])
            )
            running.memos[running.rooms["unproven"]] = RoomMemo(
                room_sid=running.rooms["unproven"], callbacks_flowing=False, connected=roster_digest([])
            )
            yield running


async def test_rooms_whose_callbacks_flow_are_read_rarely_the_others_every_cycle(fleet: Fleet) -> None:
    sweeper = fleet.sweeper()
    for _ in range(4):
        await sweeper.cycle()
    reads = fleet.reads()
    assert reads[fleet.rooms["flowing"]] == 1  # its first cycle, then not for flowing_read_seconds
    assert reads[fleet.rooms["unproven"]] == 4 and reads[fleet.rooms["old"]] == 4
    assert sweeper.stats.reads_spared == 3
    # Every read matched what the meeting knows (or, without a memo, what it was last told): no signal,
    # except the first snapshot of the room whose meeting keeps no memo.
    assert [(wf, event.kind) for wf, event in fleet.told] == [
        (f"meeting-{fleet.rooms['old']}", RoomEventKind.SNAPSHOT)
    ]


async def test_a_change_callbacks_missed_is_told_and_every_room_is_read_again(fleet: Fleet) -> None:
    sweeper = fleet.sweeper()
    await sweeper.cycle()
    fleet.told.clear()
    # Alice joins and her callback is lost: the meeting's memo still says nobody is there.
    await fleet.http.post(
        f"/emulator/Rooms/{fleet.rooms['unproven']}/Participants", json={"Identity": "alice"}
    )
    await sweeper.cycle()
    assert [(wf, event.kind) for wf, event in fleet.told] == [
        (f"meeting-{fleet.rooms['unproven']}", RoomEventKind.SNAPSHOT)
    ]
    assert fleet.reads()[fleet.rooms["flowing"]] == 1

    # The flowing room's meeting then reports a miss (its memo turns): callbacks may be failing for
    # everyone, so the flowing room is read every cycle too.
    flowing = fleet.rooms["flowing"]
    fleet.memos[flowing] = RoomMemo(room_sid=flowing, callbacks_flowing=False, connected=roster_digest([]))
    await sweeper.cycle()
    fleet.memos[flowing] = RoomMemo(room_sid=flowing, callbacks_flowing=True, connected=roster_digest([]))
    await sweeper.cycle()
    assert fleet.reads()[flowing] == 3
