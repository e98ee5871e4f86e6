"""The README's quick start, run as written (its shell blocks, byte for byte) against a real stack:
a Temporal dev server, the worker on the README's task queue, the emulator and the gateway."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from roomkeeper.meeting_client import MeetingClient
from tests.workflows.stack import Stack, meeting_stack
from workflows.meeting import MeetingWorkflow
from workflows.meeting_status import Phase

ROOT = Path(__file__).resolve().parents[1]


def quick_start_blocks(heading: str = "## A meeting from the Temporal CLI") -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split(heading, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


async def run_block(block: str, env: WorkflowEnvironment) -> str:
    environment = os.environ | {"TEMPORAL_ADDRESS": env.client.service_client.config.target_host}
    process = await asyncio.create_subprocess_exec(
        "bash", "-euo", "pipefail", "-c", block,
        cwd=ROOT, env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    text = out.decode()
    assert process.returncode == 0, text
    return text


@pytest_asyncio.fixture
async def stack(temporal_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(temporal_env, sweep=None, task_queue="room-lifecycle") as running:
        yield running


async def test_the_quick_start_runs_as_written(stack: Stack) -> None:
    schedule, list_and_end = quick_start_blocks()
    out = await run_block(schedule, stack.env)
    answer = json.loads(out.split("QueryResult", 1)[1].strip().splitlines()[0])
    assert answer["meeting_id"] == "standup"
    assert answer["phase"] in ("scheduled", "opening", "open"), answer

    handle = stack.env.client.get_workflow_handle_for(MeetingWorkflow.run, "meeting-standup")
    await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")
    for _ in range(100):  # visibility is eventually consistent: the list may lag the workflow
        seen = [w.id async for w in stack.env.client.list_workflows("MeetingStatus='open'")]
        if "meeting-standup" in seen:
            break
        await asyncio.sleep(0.1)
    out = await run_block(list_and_end, stack.env)
    assert "meeting-standup" in out and "MeetingWorkflow" in out and "Running" in out, out
    assert "ended_by:end_now" in out, out
    result = await handle.result()
    assert result.ended_by == "end_now" and result.room_sid is not None
    assert result.opened_at is not None and result.opened_at < result.scheduled_start
    assert stack.emulator.state.world.rooms[result.room_sid].status.value == "completed"


async def test_the_one_line_meeting_runs_as_written(stack: Stack) -> None:
    [block] = quick_start_blocks("## A meeting in one line")
    out = await run_block(block, stack.env)
    scheduled = re.search(
        r"^scheduled (daily-standup-[a-z0-9]{6}) \(Daily standup\)$", out, flags=re.MULTILINE
    )
    assert scheduled, out
    # The listing's header (its rows may lag a moment: visibility is eventually consistent).
    assert ["ID", "PHASE", "START", "END", "TITLE"] in [line.split() for line in out.splitlines()], out
    meeting_id = scheduled.group(1)
    handle = stack.env.client.get_workflow_handle_for(MeetingWorkflow.run, f"meeting-{meeting_id}")
    status = await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")
    assert status.end_time - status.start_time == timedelta(minutes=15)
    # Ended here: a meeting left running would be picked up by the next test's worker on this queue.
    summary = await MeetingClient(stack.env.client, stack.task_queue).end(meeting_id)
    assert summary is not None and summary.ended_by == "end_now"
