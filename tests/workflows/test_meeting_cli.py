"""PRODUCT.md §4 verbatim: MeetingWorkflow started by the ``temporal`` CLI with plain JSON."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from temporalio.client import WorkflowFailureError, WorkflowQueryFailedError
from temporalio.testing import WorkflowEnvironment

from common.search_attributes import MEETING_STATUS
from tests.temporal_env import TEMPORAL_CLI
from tests.workflows.stack import Stack, meeting_stack
from workflows.meeting import MeetingWorkflow

#: Copied from PRODUCT.md §4, byte for byte.
CONTRACT_JSON = """{
  "meeting_id": "standup-2026-11-25",
  "title": "Daily standup",
  "start_time": "2026-11-25T09:00:00Z",
  "end_time": "2026-11-25T09:15:00Z",
  "open_before_seconds": 120,
  "room": {
    "unique_name": "DailyStandup",
    "type": "group",
    "max_participants": 10,
    "max_participant_duration": 3600,
    "empty_room_timeout": 5,
    "unused_room_timeout": 5,
    "record_participants_on_connect": false,
    "video_codecs": ["VP8"],
    "media_region": "us1",
    "audio_only": false,
    "large_room": false
  }
}"""


@pytest_asyncio.fixture
async def stack(skipping_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(skipping_env) as running:
        yield running


async def cli_start(stack: Stack, workflow_id: str, payload: str | None) -> None:
    address = stack.env.client.service_client.config.target_host
    given = ["--input", payload] if payload is not None else []
    process = await asyncio.create_subprocess_exec(
        str(TEMPORAL_CLI), "workflow", "start", "--address", address,
        "--type", "MeetingWorkflow", "--task-queue", stack.task_queue,
        "--workflow-id", workflow_id, *given,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, (out + err).decode()


async def test_the_contract_json_verbatim_is_refused_because_its_window_has_passed(stack: Stack) -> None:
    """The contract's example is dated 2026-11-25 09:15Z, which is past: the starter is told so at once."""
    await cli_start(stack, "meeting-standup", CONTRACT_JSON)
    handle = stack.env.client.get_workflow_handle_for(MeetingWorkflow.run, "meeting-standup")
    with pytest.raises(WorkflowFailureError) as exc:
        await asyncio.wait_for(handle.result(), timeout=15)
    message = str(exc.value.cause)
    assert "end_time 2026-11-25T09:15:00+00:00 had already passed when the meeting was started" in message
    assert stack.emulator.state.world.rooms == {}
    with pytest.raises(WorkflowQueryFailedError) as query:
        await handle.query(MeetingWorkflow.status)
    assert "had already passed when the meeting was started" in str(query.value)
    assert (await handle.describe()).typed_search_attributes.get(MEETING_STATUS) == "failed"


async def test_the_contract_json_with_future_dates_opens_its_room(stack: Stack) -> None:
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    payload = json.loads(CONTRACT_JSON) | {
        "start_time": start.isoformat().replace("+00:00", "Z"),
        "end_time": (start + timedelta(minutes=15)).isoformat().replace("+00:00", "Z"),
    }
    await cli_start(stack, "meeting-standup-future", json.dumps(payload))
    handle = stack.env.client.get_workflow_handle_for(MeetingWorkflow.run, "meeting-standup-future")
    await stack.env.fast_forward(handle)
    result = await handle.result()
    assert result.ended_by == "schedule" and result.room_sid is not None
    room = stack.emulator.state.world.rooms[result.room_sid]
    assert (room.unique_name, room.options.max_participants, room.options.video_codecs[0].value) == (
        "DailyStandup",
        10,
        "VP8",
    )
    assert room.options.status_callback is not None
    assert room.options.status_callback.endswith("/twilio/status/meeting-standup-future")


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        ({"end_time": "2026-11-25T08:00:00Z"}, "end_time", "must be after start_time"),
        ({"start_time": "2026-11-25T09:00:00"}, "start_time", "timezone"),
        ({"room": {"video_codecs": ["VP9"]}}, "room.video_codecs", "'VP8' or 'H264'"),
        ({"room": {"max_participants": 0}}, "room.max_participants", "0 is out of range; allowed from 1 up"),
        (
            {"room": {"empty_room_timeout": 61}},
            "room.empty_room_timeout",
            "allowed from 1 to 60 whole minutes",
        ),
        ({"room": {"type": "peer-to-peer", "audio_only": True}}, "audio_only", "type 'group'"),
        (
            {"room": {"type": "group-small", "max_participants": 5, "audio_only": True}},
            "room.max_participants: 5 is out of range; allowed from 1 up to 4 for a 'group-small' room",
            "; room.audio_only: true needs type 'group', not type 'group-small'",
        ),
        ({"open_before_seconds": -1}, "open_before_seconds", "greater than or equal to 0"),
        ({"start_at": "2026-11-25T09:00:00Z"}, "start_at", "Extra inputs are not permitted"),
        ({"room": {"unique_name": ".."}}, "room.unique_name", "relative path segment"),
        ({"room": {"unique_name": "a/b"}}, "room.unique_name", "may not contain '/'"),
        ({"meeting_id": "a/b"}, "meeting_id", "should match pattern"),
    ],
)
async def test_invalid_json_fails_the_run_at_once_naming_the_field(
    stack: Stack, change: dict, field: str, why: str
) -> None:
    payload = json.loads(CONTRACT_JSON) | change
    workflow_id = f"meeting-bad-{field}-{why[:8]}".replace(" ", "-").replace("'", "")
    await cli_start(stack, workflow_id, json.dumps(payload))
    handle = stack.env.client.get_workflow_handle_for(MeetingWorkflow.run, workflow_id)
    with pytest.raises(WorkflowFailureError) as exc:
        await asyncio.wait_for(handle.result(), timeout=15)  # fails, never hangs in Running
    message = str(exc.value.cause)
    assert field in message and why in message, message
    assert stack.emulator.state.world.rooms == {}
    # The status query says why, too (not an SDK error), and the meeting is findable as failed.
    with pytest.raises(WorkflowQueryFailedError) as query:
        await handle.query(MeetingWorkflow.status)
    assert field in str(query.value) and why in str(query.value)
    assert (await handle.describe()).typed_search_attributes.get(MEETING_STATUS) == "failed"


async def test_two_inputs_fail_at_once_saying_one_is_needed(stack: Stack) -> None:
    address = stack.env.client.service_client.config.target_host
    process = await asyncio.create_subprocess_exec(
        str(TEMPORAL_CLI), "workflow", "start", "--address", address,
        "--type", "MeetingWorkflow", "--task-queue", stack.task_queue,
        "--workflow-id", "meeting-two-inputs", "--input", CONTRACT_JSON, "--input", "{}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert await process.wait() == 0
    handle = stack.env.client.get_workflow_handle_for(MeetingWorkflow.run, "meeting-two-inputs")
    with pytest.raises(WorkflowFailureError) as exc:
        await asyncio.wait_for(handle.result(), timeout=15)
    assert "MeetingWorkflow takes one argument, the meeting as JSON; it was given 2" in str(exc.value.cause)


async def test_no_input_fails_at_once_saying_what_is_needed(stack: Stack) -> None:
    await cli_start(stack, "meeting-no-input", None)
    handle = stack.env.client.get_workflow_handle_for(MeetingWorkflow.run, "meeting-no-input")
    with pytest.raises(WorkflowFailureError) as exc:
        await asyncio.wait_for(handle.result(), timeout=15)
    assert "MeetingWorkflow needs one argument, the meeting as JSON" in str(exc.value.cause)
