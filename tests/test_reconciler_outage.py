"""The reconciler across a Temporal outage: what changed while Temporal was away is told once it is back.

While Temporal is unreachable the gateway answers Twilio 503 and Twilio does not retry, so the sweep is
the only way those changes reach their meetings. Both tests use the real emulator on a real clock and a
1 s sweep; they wait on conditions (never on luck) and assert on what the meetings were told. The delay
from Temporal's return to the last change noticed is printed (run with ``-s`` to see it).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from prometheus_client import REGISTRY
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.sweeper import RoomSweeper, SweepConfig
from common import search_attributes
from common.room_events import RoomEvent
from emulator.app import EmulatorConfig
from emulator.clock import SystemClock
from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from roomkeeper.worker import running_worker
from tests.support import RunningEmulator, emulator_settings, running_emulator
from tests.temporal_env import TEMPORAL_CLI
from tests.test_cli import free_port
from tests.workflows.helpers import meeting
from twilio_video.client import TwilioCredentials, VideoClient
from workflows.meeting import MeetingWorkflow, search_attributes_for
from workflows.meeting_state import MeetingInput
from workflows.meeting_status import MeetingStatus, Phase
from workflows.reconciler import heartbeat_timeout, reconciler_id

MEETINGS = 5
# A short heartbeat floor, so the real-server outage can outlast the heartbeat timeout in seconds.
SWEEP = SweepConfig(
    sweep_period_seconds=1.0,
    max_reads_per_second=20,
    run_for_seconds=600,
    retry_seconds=0.5,
    min_heartbeat_timeout_seconds=6.0,
)
#: Generous: the promise is one sweep period plus a few seconds; a loaded CI machine gets far more.
NOTICE_WITHIN = 60.0


async def eventually(check: Callable[[], Awaitable[bool]], what: str, within: float = NOTICE_WITHIN) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.05)


def reconcile_errors(stage: str) -> float:
    return REGISTRY.get_sample_value("roomkeeper_reconcile_errors_total", {"stage": stage}) or 0.0


def join(emulator: RunningEmulator, room: str, identity: str) -> None:
    with emulator.control() as control:
        response = control.post(f"/emulator/Rooms/{room}/Participants", json={"Identity": identity})
        assert response.status_code == 201, response.text


class FlakyTemporal:
    """Stands in for Temporal's side of the sweep: visibility and signals that can be switched off."""

    def __init__(self, rooms: dict[str, str]) -> None:
        self.rooms = rooms
        self.visibility_down = False
        self.signals_down = False
        self.failed_listings = 0
        #: workflow id -> identities in the last snapshot it was told / the sweeper tried to tell it
        self.told: dict[str, set[str]] = {}
        self.attempted: dict[str, list[set[str]]] = {}

    async def open_rooms(self) -> dict[str, str]:
        if self.visibility_down:
            self.failed_listings += 1
            raise RuntimeError("Failed client connect: tcp connect error")
        return dict(self.rooms)

    async def notify(self, workflow_id: str, event: RoomEvent) -> None:
        identities = {p.identity for p in event.participants or ()}
        if self.signals_down:
            self.attempted.setdefault(workflow_id, []).append(identities)
            raise RuntimeError("tcp connect error")
        self.told[workflow_id] = identities


@pytest.fixture
def live_emulator() -> Iterator[RunningEmulator]:
    """The emulator on a real clock: the sweep is a real loop."""
    with running_emulator(EmulatorConfig(clock=SystemClock(), rate_limits=False)) as emulator:
        yield emulator


@pytest_asyncio.fixture
async def video(live_emulator: RunningEmulator) -> AsyncIterator[VideoClient]:
    credentials = TwilioCredentials.from_auth_token(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)
    async with VideoClient(credentials, live_emulator.url) as client:
        yield client


async def test_the_sweep_outlives_an_outage_and_tells_what_it_could_not(
    live_emulator: RunningEmulator, video: VideoClient
) -> None:
    with live_emulator.api() as api:
        sids = [api.post("/v1/Rooms", data={"UniqueName": f"r{i}"}).json()["sid"] for i in range(MEETINGS)]
    temporal = FlakyTemporal({sid: f"meeting-{i}" for i, sid in enumerate(sids)})
    everyone = temporal.rooms.values()
    sweeper = RoomSweeper(video, temporal.open_rooms, temporal.notify, SWEEP)

    async def all_told(who: set[str]) -> bool:
        return all(temporal.told.get(m) == who for m in everyone)

    async def alice_untold() -> bool:
        return all({"alice"} in temporal.attempted.get(m, []) for m in everyone)

    async with asyncio.timeout(180):
        sweeping = asyncio.create_task(sweeper.run())
        try:
            await eventually(lambda: all_told(set()), "the first (empty) snapshots")
            notify_errors, visibility_errors = reconcile_errors("notify"), reconcile_errors("open_meetings")

            # Signals fail, visibility works: alice is seen in every room but no meeting is told.
            temporal.signals_down = True
            for i in range(MEETINGS):
                join(live_emulator, f"r{i}", "alice")
            await eventually(alice_untold, "a failed attempt to tell each meeting about alice")

            # Then Temporal is gone altogether, and bob joins everywhere meanwhile.
            temporal.visibility_down = True
            for i in range(MEETINGS):
                join(live_emulator, f"r{i}", "bob")
            failed_before = temporal.failed_listings

            async def outage_lived_through() -> bool:
                return temporal.failed_listings >= failed_before + 3

            await eventually(outage_lived_through, "three failed visibility reads")
            assert not sweeping.done(), "a failing visibility query must not end the sweep"

            temporal.visibility_down = temporal.signals_down = False
            back = time.monotonic()
            await eventually(lambda: all_told({"alice", "bob"}), "every meeting told of alice and bob")
            noticed_after = time.monotonic() - back
            assert not sweeping.done()
        finally:
            sweeping.cancel()
    assert reconcile_errors("notify") >= notify_errors + MEETINGS
    assert reconcile_errors("open_meetings") >= visibility_errors + 3
    assert sweeper.stats.errors >= MEETINGS + 3
    print(f"\nevery change noticed {noticed_after:.1f}s after Temporal returned (1 s sweep)")


async def start_dev_server(port: int, db: Path) -> WorkflowEnvironment:
    """A dev server whose state lives in ``db``, so it can be stopped and started again on ``port``."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI),
        port=port,
        dev_server_database_filename=str(db),
        data_converter=pydantic_data_converter,
        search_attributes=list(search_attributes.ALL),
        dev_server_log_level="error",
    )


async def start_meetings(client: Client, task_queue: str) -> list[WorkflowHandle[Any, Any]]:
    handles: list[WorkflowHandle[Any, Any]] = []
    for i in range(MEETINGS):
        spec = meeting(f"outage-{i}", starts_in=timedelta(minutes=1))
        handle = await client.start_workflow(
            MeetingWorkflow.run,
            MeetingInput(spec),
            id=f"meeting-{spec.meeting_id}",
            task_queue=task_queue,
            search_attributes=search_attributes_for(spec),
        )
        handles.append(handle)
    return handles


@pytest.mark.slow
async def test_changes_made_while_temporal_was_down_reach_their_meetings(
    tmp_path: Path, live_emulator: RunningEmulator, video: VideoClient
) -> None:
    port, db = free_port(), tmp_path / "temporal.db"
    task_queue = f"outage-{uuid.uuid4()}"
    # Every status callback is lost: only the sweep can tell.
    settings = emulator_settings(live_emulator.url, task_queue, "http://127.0.0.1:9")

    async def statuses(handles: list[WorkflowHandle[Any, Any]]) -> list[MeetingStatus]:
        return [await h.query(MeetingWorkflow.status) for h in handles]

    servers = [await start_dev_server(port, db)]
    try:
        async with asyncio.timeout(240):
            client = await Client.connect(f"127.0.0.1:{port}", data_converter=pydantic_data_converter)
            async with running_worker(
                client, settings, video, sweep=SWEEP, graceful_shutdown=timedelta(seconds=1)
            ):
                handles = await start_meetings(client, task_queue)

                async def all_open() -> bool:
                    return all(s.phase is Phase.OPEN for s in await statuses(handles))

                await eventually(all_open, "every meeting's room to open")

                await servers.pop().shutdown()
                stopped = time.monotonic()
                for i in range(MEETINGS):
                    join(live_emulator, f"outage-{i}", "alice")

                # The outage lasts longer than the sweep's heartbeat timeout, the worse case: the SDK
                # gives up on the running sweep attempt (it cannot heartbeat), Temporal times it out
                # on its return, and the retry takes over. Whether the attempt saw a failed visibility
                # read before that depends on the machine's speed, so it is not asserted here (the
                # test above checks the sweep's own handling of failed reads).
                outage = heartbeat_timeout(SWEEP).total_seconds() + 2
                await asyncio.sleep(max(0.0, outage - (time.monotonic() - stopped)))
                servers.append(await start_dev_server(port, db))
                back = time.monotonic()

                async def alice_everywhere() -> bool:
                    try:
                        found = await statuses(handles)
                    except RPCError:  # the worker may still be reconnecting; ask again
                        return False
                    return all([p.identity for p in s.participants] == ["alice"] for s in found)

                await eventually(alice_everywhere, "alice to be noticed in every meeting")
                noticed_after = time.monotonic() - back
                reconciler = await client.get_workflow_handle(reconciler_id(task_queue)).describe()
                assert reconciler.status is WorkflowExecutionStatus.RUNNING
                attempts = [a.attempt for a in reconciler.raw_description.pending_activities]
    finally:
        for server in servers:
            await server.shutdown()
    delivered = live_emulator.control().get("/emulator/callbacks").json()["callbacks"]
    assert {c["result"] for c in delivered} == {"error"}, "only the sweep may have told the meetings"
    print(
        f"\nTemporal down {back - stopped:.0f}s; every join noticed {noticed_after:.1f}s after it returned"
        f" (1 s sweep; sweep attempt {attempts})"
    )
