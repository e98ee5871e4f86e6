"""``roomkeeper worker`` stops promptly on SIGTERM, and the reconciler's sweep moves to the next worker.

The worker is a real subprocess against a dev server and the emulator, as an operator runs it. The
sweep activity is meant to last an hour; on shutdown it hands back at once, so the worker does not sit
out its 30 s graceful-shutdown window, and the reconciler schedules the next sweep without a retry.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.support import RunningEmulator
from tests.test_cli import free_port
from workflows.reconciler import reconciler_id

#: Generous for a loaded machine; the aim is under 5 s.
STOPS_WITHIN = 15.0
OUR_PREFIXES = ("TWILIO_", "ROOMKEEPER_", "TEMPORAL_", "CALCOM_")


def worker_env(temporal: WorkflowEnvironment, emulator: RunningEmulator, task_queue: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(OUR_PREFIXES)}
    env.update(
        TEMPORAL_ADDRESS=temporal.client.service_client.config.target_host,
        TWILIO_ACCOUNT_SID=TEST_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=TEST_AUTH_TOKEN,
        TWILIO_VIDEO_BASE_URL=emulator.url,
        ROOMKEEPER_TASK_QUEUE=task_queue,
        ROOMKEEPER_METRICS_PORT=str(free_port()),
        ROOMKEEPER_METRICS_HOST="127.0.0.1",  # tests listen on loopback only
        ROOMKEEPER_PUBLIC_URL="http://127.0.0.1:9",
    )
    return env


class Workers:
    """``roomkeeper worker`` subprocesses; any still running at the end are killed."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.started: list[subprocess.Popen[str]] = []

    def start(self) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "roomkeeper.cli", "worker"],
            env=self.env,
            cwd=self.cwd,  # no stray .env from the checkout
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.started.append(process)
        return process

    def kill_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=10)


@pytest.fixture
def workers(
    temporal_env: WorkflowEnvironment, emulator: RunningEmulator, tmp_path: Path
) -> Iterator[tuple[Workers, str]]:
    task_queue = f"shutdown-{uuid.uuid4()}"
    running = Workers(worker_env(temporal_env, emulator, task_queue), tmp_path)
    try:
        yield running, task_queue
    finally:
        running.kill_all()


async def sweep_running_on(handle: WorkflowHandle[None, None], process: subprocess.Popen[str]) -> bool:
    """Whether the reconciler's sweep activity is running on this worker process."""
    description = await handle.describe()
    return any(
        activity.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        and activity.last_worker_identity.startswith(f"{process.pid}@")
        for activity in description.raw_description.pending_activities
    )


async def wait_for(check, what: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.1)


# SIGTERM stops the worker on purpose: the reconciler's next workflow task may already sit on that
# worker's sticky queue and time out there before the next worker takes it (seen 1 run in ~10 under
# load). That is the deliberate kill the no-failed-task rule allows, not a crash.
@pytest.mark.task_failures("timed_out")
async def test_sigterm_stops_the_worker_promptly_and_the_sweep_resumes_on_the_next(
    temporal_env: WorkflowEnvironment, workers: tuple[Workers, str]
) -> None:
    running, task_queue = workers
    reconciler = temporal_env.client.get_workflow_handle(reconciler_id(task_queue))

    async with asyncio.timeout(180):
        first = running.start()

        async def first_sweeping() -> bool:
            assert first.poll() is None, first.communicate()[0]
            try:
                return await sweep_running_on(reconciler, first)
            except Exception:  # not started yet
                return False

        await wait_for(first_sweeping, "the first worker to run the sweep")

        first.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        try:
            output, _ = first.communicate(timeout=STOPS_WITHIN)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker did not exit within {STOPS_WITHIN}s of SIGTERM")
        took = time.monotonic() - signalled
        assert first.returncode == 0, output
        assert "handing the sweep back" in output

        description = await reconciler.describe()
        assert description.status is WorkflowExecutionStatus.RUNNING
        events = [event.event_type async for event in reconciler.fetch_history_events()]
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED in events, "the sweep handed back, not failed"

        second = running.start()

        async def second_sweeping() -> bool:
            assert second.poll() is None, second.communicate()[0]
            return await sweep_running_on(reconciler, second)

        await wait_for(second_sweeping, "the next worker to run the sweep")
        pending = (await reconciler.describe()).raw_description.pending_activities
        assert [a.attempt for a in pending] == [1], "a fresh run, not a retry after a failure"
    print(f"\nroomkeeper worker exited {took:.1f}s after SIGTERM; it said:\n{output}")
