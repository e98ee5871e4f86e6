"""Room activities in a real Temporal worker against the emulator over HTTP: durable retries,
idempotent creation, permanent errors that fail fast."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.rooms import RoomActivities
from common.status_callback import status_callback_url
from emulator.app import EmulatorConfig
from emulator.clock import SystemClock
from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.activities.probe_workflow import ActivityProbe, CreateThenComplete, Step
from tests.support import RunningEmulator, running_emulator
from twilio_video.client import TwilioCredentials, VideoClient

PUBLIC_URL = "http://127.0.0.1:1"


@asynccontextmanager
async def room_worker(
    env: WorkflowEnvironment, emulator: RunningEmulator, task_queue: str, token: str = TEST_AUTH_TOKEN
) -> AsyncIterator[None]:
    client = VideoClient(TwilioCredentials.from_auth_token(TEST_ACCOUNT_SID, token), emulator.url)
    activities = RoomActivities(client, PUBLIC_URL)
    async with (
        client,
        Worker(
            env.client,
            task_queue=task_queue,
            workflows=[ActivityProbe, CreateThenComplete],
            activities=[
                activities.create_room,
                activities.fetch_room,
                activities.complete_room,
                activities.list_participants,
                activities.fetch_participant,
                activities.disconnect_participant,
            ],
        ),
    ):
        yield


async def probe(env: WorkflowEnvironment, task_queue: str, *steps: tuple[str, dict[str, Any]]) -> list[Any]:
    return await env.client.execute_workflow(
        ActivityProbe.run,
        [Step(activity=name, arg=arg) for name, arg in steps],
        id=f"probe-{uuid.uuid4()}",
        task_queue=task_queue,
    )


def failure_of(error: WorkflowFailureError) -> ApplicationError:
    assert isinstance(error.cause, ActivityError)
    assert isinstance(error.cause.cause, ApplicationError)
    return error.cause.cause


def when(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))


@pytest.fixture
def real_time_emulator() -> Iterator[RunningEmulator]:
    """Retry delays are judged on the request log's timestamps, so this one runs on real time."""
    with running_emulator(EmulatorConfig(clock=SystemClock(), rate_limits=False)) as running:
        yield running


@pytest.mark.slow
async def test_fifty_meetings_survive_thirty_percent_faults(
    temporal_env: WorkflowEnvironment, real_time_emulator: RunningEmulator, task_queue: str
) -> None:
    emulator = real_time_emulator
    emulator.control().post(
        "/emulator/faults",
        json={
            "rate": 0.3,
            "statuses": [429, 500, 503],
            "latency_ms": 20,
            "retry_after_seconds": 1,
            "seed": 11,
        },
    )
    meetings = [f"batch-{i:02d}" for i in range(50)]
    async with room_worker(temporal_env, emulator, task_queue):
        sids = await asyncio.gather(
            *(
                temporal_env.client.execute_workflow(
                    CreateThenComplete.run, meeting, id=f"ctc-{meeting}-{uuid.uuid4()}", task_queue=task_queue
                )
                for meeting in meetings
            )
        )
    world = emulator.state.world
    assert len(world.rooms) == 50, "exactly one room per meeting"
    assert sorted(room.unique_name for room in world.rooms.values()) == meetings
    assert {room.status.value for room in world.rooms.values()} == {"completed"}
    assert sorted(sids) == sorted(world.rooms)

    log = list(emulator.state.requests)
    injected = [e for e in log if e["fault"] == "status"]
    assert len(injected) >= 20, f"the fault plan barely fired ({len(injected)})"
    # Every attempt that followed a Retry-After waited for it: pair each with the next attempt on
    # the same meeting's resource.
    checked = 0
    for meeting in meetings:
        creates = sorted(
            (e for e in log if e["operation"] == "CreateRoom" and e["form"]["UniqueName"] == [meeting]),
            key=when,
        )
        room_sid = next(sid for sid, room in world.rooms.items() if room.unique_name == meeting)
        updates = sorted((e for e in log if e["path"] == f"/v1/Rooms/{room_sid}"), key=when)
        for attempts in (creates, updates):
            for first, second in itertools.pairwise(attempts):
                if first["retry_after"]:
                    gap = (when(second) - when(first)).total_seconds()
                    # Never sooner than Retry-After; later only by scheduling on a busy 2-core machine.
                    assert first["retry_after"] - 0.05 <= gap < first["retry_after"] + 5, (meeting, gap)
                    checked += 1
    assert checked >= 5, f"too few Retry-After retries to judge ({checked})"


async def test_lost_create_response_still_yields_one_room(
    temporal_env: WorkflowEnvironment, emulator: RunningEmulator, task_queue: str
) -> None:
    emulator.control().post(
        "/emulator/faults",
        json={"rate": 1.0, "drop_connection": True, "operations": ["CreateRoom"], "limit": 1},
    )
    async with room_worker(temporal_env, emulator, task_queue):
        [created] = await probe(
            temporal_env,
            task_queue,
            ("CreateRoom", {"workflow_id": "lost-1", "params": {"unique_name": "lost-1"}}),
        )
    assert created["adopted"] is True
    assert list(emulator.state.world.rooms) == [created["room"]["sid"]]
    assert [e["fault"] for e in emulator.state.requests if e["operation"] == "CreateRoom"] == ["drop", None]
    assert created["room"]["status_callback"] == status_callback_url(PUBLIC_URL, "lost-1")


async def test_name_held_by_someone_else_fails_once_and_says_so(
    temporal_env: WorkflowEnvironment, emulator: RunningEmulator, task_queue: str
) -> None:
    theirs = (
        emulator.api()
        .post("/v1/Rooms", data={"UniqueName": "shared", "StatusCallback": "https://other.example/hook"})
        .json()
    )
    emulator.control().delete("/emulator/requests")
    async with room_worker(temporal_env, emulator, task_queue):
        with pytest.raises(WorkflowFailureError) as exc:
            await probe(
                temporal_env,
                task_queue,
                ("CreateRoom", {"workflow_id": "mine", "params": {"unique_name": "shared"}}),
            )
    error = failure_of(exc.value)
    assert error.type == "RoomNameTaken" and error.non_retryable
    assert theirs["sid"] in error.message and "did not create" in error.message
    # One create (53113) and one fetch to see whose room it is; no retries.
    assert [(e["operation"], e["status"]) for e in emulator.state.requests] == [
        ("CreateRoom", 400),
        ("FetchRoom", 200),
    ]


@pytest.mark.parametrize(
    ("steps", "error_type", "text"),
    [
        (
            [("CreateRoom", {"workflow_id": "m", "params": {"max_participants": 99}})],
            "InvalidParameter",
            "53107",
        ),
        ([("CompleteRoom", {"room_sid": "RM" + "0" * 32})], "NotFound", "20404"),
        ([("FetchRoom", {"room_sid": "no-such-room"})], "NotFound", "no-such-room"),
    ],
)
async def test_permanent_errors_fail_on_the_first_attempt(
    temporal_env: WorkflowEnvironment,
    emulator: RunningEmulator,
    task_queue: str,
    *,
    steps: list[tuple[str, dict[str, Any]]],
    error_type: str,
    text: str,
) -> None:
    async with room_worker(temporal_env, emulator, task_queue):
        with pytest.raises(WorkflowFailureError) as exc:
            await probe(temporal_env, task_queue, *steps)
    error = failure_of(exc.value)
    assert error.type == error_type and error.non_retryable
    assert text in error.message
    assert isinstance(exc.value.cause, ActivityError) and exc.value.cause.retry_state is not None
    assert len(emulator.state.requests) == 1, "one attempt, no retries"


async def test_wrong_credentials_fail_once_not_in_a_retry_storm(
    temporal_env: WorkflowEnvironment, emulator: RunningEmulator, task_queue: str
) -> None:
    async with room_worker(temporal_env, emulator, task_queue, token="wrong-token"):
        with pytest.raises(WorkflowFailureError) as exc:
            await probe(temporal_env, task_queue, ("CreateRoom", {"workflow_id": "m", "params": {}}))
    error = failure_of(exc.value)
    assert error.type == "Unauthorized"
    assert "CreateRoom" in error.message and "Twilio 20003" in error.message
    assert "wrong-token" not in error.message
    assert [e["status"] for e in emulator.state.requests] == [401]


async def test_already_done_is_success(
    temporal_env: WorkflowEnvironment, emulator: RunningEmulator, task_queue: str
) -> None:
    room = emulator.api().post("/v1/Rooms", data={"UniqueName": "done"}).json()
    alice = emulator.control().post("/emulator/Rooms/done/Participants", json={"Identity": "alice"}).json()
    emulator.control().post("/emulator/Rooms/done/Participants/alice/Disconnect")
    async with room_worker(temporal_env, emulator, task_queue):
        by_identity, by_sid, first, second = await probe(
            temporal_env,
            task_queue,
            ("DisconnectParticipant", {"room_sid": room["sid"], "participant": "alice"}),
            ("DisconnectParticipant", {"room_sid": room["sid"], "participant": alice["sid"]}),
            ("CompleteRoom", {"room_sid": room["sid"]}),
            ("CompleteRoom", {"room_sid": room["sid"]}),
        )
    assert by_identity is None  # identities match connected participants only: she has left
    assert by_sid["status"] == "disconnected"
    assert first["status"] == second["status"] == "completed"
    assert first["end_time"] == second["end_time"]


async def test_retries_are_counted_by_twilio_operation_and_activity(
    temporal_env: WorkflowEnvironment, emulator: RunningEmulator, task_queue: str
) -> None:
    # CompleteRoom calls UpdateRoom: the metric names both, the operation as the request metric does.
    labels = {"operation": "UpdateRoom", "activity": "CompleteRoom", "error_type": "TransientError"}
    before = REGISTRY.get_sample_value("roomkeeper_twilio_retries_total", labels) or 0.0
    emulator.control().post(
        "/emulator/faults",
        json={
            "rate": 1.0,
            "statuses": [503],
            "operations": ["UpdateRoom"],
            "limit": 1,
            "retry_after_seconds": 0,
        },
    )
    async with room_worker(temporal_env, emulator, task_queue):
        await temporal_env.client.execute_workflow(
            CreateThenComplete.run, "counted", id=f"ctc-counted-{uuid.uuid4()}", task_queue=task_queue
        )
    assert REGISTRY.get_sample_value("roomkeeper_twilio_retries_total", labels) == before + 1
