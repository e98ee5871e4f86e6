"""Scenario 4's API figure taken apart: how fast meetings can be started, layer by layer.

    python -m bench api-start --meetings 600 [--concurrency 16 --concurrency 64] [--dev-server-arg ARG]

One stack (``bench/stack.py``), and the same kind of meeting throughout (a one-hour meeting a day
away, so nothing but its start and first workflow task happens). Each layer starts ``--meetings`` new
meetings at each concurrency:

a. ``client.start_workflow`` alone, the worker stopped (its tasks wait on a queue nobody polls):
   what the dev server itself takes;
b. the same with the worker running, so every start also costs the meeting's first workflow task;
c. ``MeetingClient.schedule`` in this process (the idempotent start: memo with the canonical spec,
   search attributes);
d. ``POST /meetings`` on the gateway over HTTP (c, plus HTTP, the gate, validation and the status
   the answer carries, a query that waits for the worker to run the new meeting's first task);
dm. the same with ``Prefer: return=minimal``: the answer comes once the meeting is started, without
   its status.

Before b, the same b and d run with a worker that compiles ``workflows/meeting.py`` for each meeting
(b0, d0: no bytecode, as this machine's editable install under ``PYTHONDONTWRITEBYTECODE`` ran it).

For each: starts per second while starting, and "settled" per second (until the worker has also
answered every new meeting's first workflow task, from the dev server's own count of
``RespondWorkflowTaskCompleted``); latency p50/p99; the CPU cores each process kept busy (from
/proc); and the RPCs per start by operation, as the dev server's frontend counted them
(``service_requests`` on its ``--metrics-port``).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from bench.report import Result, median, percentile
from bench.scenarios import _cpu, _dev_server_pids
from bench.stack import API_TOKEN, BenchStack, bench_stack, utc_now
from roomkeeper.meeting_client import MeetingClient
from workflows.meeting_input import MeetingSpec
from workflows.meeting_state import MeetingInput

#: Frontend operations that are a worker's or this harness's own traffic, not a starter's.
_BACKGROUND = {
    "PollWorkflowTaskQueue",
    "PollActivityTaskQueue",
    "PollNexusTaskQueue",
    "RespondWorkflowTaskCompleted",
    "RespondActivityTaskCompleted",
    "RespondQueryTaskCompleted",
    "RecordActivityTaskHeartbeat",
    "GetSystemInfo",
    "DescribeNamespace",
    "ListWorkflowExecutions",
    "CountWorkflowExecutions",
    "GetWorkerBuildIdCompatibility",
    "ShutdownWorker",
    "RecordWorkerHeartbeat",
}
_SAMPLE = re.compile(r"^service_requests\{([^}]*)\} (\S+)$")


async def frontend_calls(stack: BenchStack) -> Counter[str]:
    """The dev server frontend's count of requests, by operation (all namespaces)."""
    assert stack.temporal_metrics_url is not None
    text = (await stack.http.get(stack.temporal_metrics_url)).text
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        found = _SAMPLE.match(line)
        if found and 'service_name="frontend"' in found[1]:
            operation = re.search(r'operation="([^"]*)"', found[1])
            if operation:
                counts[operation[1]] += int(float(found[2]))
    return counts


@dataclass
class Layer:
    name: str
    key: str
    concurrency: int
    started: int = 0
    seconds: float = 0.0
    settled_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    busy: dict[str, float] = field(default_factory=dict)
    busy_settled: dict[str, float] = field(default_factory=dict)
    rpcs: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.started / self.seconds

    @property
    def settled_rate(self) -> float:
        return self.started / self.settled_seconds


class Harness:
    def __init__(self, stack: BenchStack, meetings: int) -> None:
        self.stack = stack
        self.meetings = meetings
        port = int(stack.client.service_client.config.target_host.rsplit(":", 1)[1])
        self.servers = _dev_server_pids(port)
        self.client = MeetingClient(stack.client, stack.task_queue)
        self.run = uuid.uuid4().hex[:6]

    def cpu(self) -> dict[str, float]:
        return {
            "temporal": sum(_cpu(p) for p in self.servers),
            "worker": self.stack.worker.cpu_seconds() if self.stack.worker.popen.poll() is None else 0.0,
            "gateway": self.stack.gateway.cpu_seconds(),
            "bench client": _cpu(os.getpid()),
        }

    def specs(self, key: str) -> list[MeetingSpec]:
        later = utc_now().replace(microsecond=0) + timedelta(days=1)
        return [
            MeetingSpec(
                meeting_id=f"{key}-{self.run}-{index}",
                start_time=later,
                end_time=later + timedelta(hours=1),
                title=f"bench {key} {index}",
            )
            for index in range(self.meetings)
        ]

    async def measure(
        self,
        name: str,
        key: str,
        concurrency: int,
        start: Callable[[MeetingSpec], Awaitable[Any]],
        *,
        worker_runs: bool,
    ) -> Layer:
        layer = Layer(name, key, concurrency)
        specs = self.specs(f"{key}{concurrency}")
        gate = asyncio.Semaphore(concurrency)

        async def one(spec: MeetingSpec) -> None:
            async with gate:
                began = time.monotonic()
                await start(spec)
                layer.latencies.append(time.monotonic() - began)

        calls_before = await frontend_calls(self.stack)
        cpu_before = self.cpu()
        began = time.monotonic()
        await asyncio.gather(*(one(spec) for spec in specs))
        layer.seconds = time.monotonic() - began
        cpu_after = self.cpu()
        layer.started = len(specs)
        layer.busy = {name: (cpu_after[name] - cpu_before[name]) / layer.seconds for name in cpu_after}
        # Settled: every new meeting's first workflow task answered by the worker.
        if worker_runs:
            target = calls_before["RespondWorkflowTaskCompleted"] + layer.started
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                if (await frontend_calls(self.stack))["RespondWorkflowTaskCompleted"] >= target:
                    break
                await asyncio.sleep(0.05)
            layer.settled_seconds = time.monotonic() - began
        else:
            layer.settled_seconds = layer.seconds
        cpu_settled = self.cpu()
        layer.busy_settled = {
            name: (cpu_settled[name] - cpu_before[name]) / layer.settled_seconds for name in cpu_settled
        }
        await asyncio.sleep(1.5)  # the dev server's counters lag a little behind
        starter = await frontend_calls(self.stack) - calls_before
        layer.rpcs = {
            operation: round(count / layer.started, 2)
            for operation, count in sorted(starter.items())
            if operation not in _BACKGROUND and count
        }
        print(
            f"  {name} x{concurrency}: {layer.rate:.1f}/s (settled {layer.settled_rate:.1f}/s), "
            f"p50 {1000 * median(layer.latencies):.0f} ms, busy "
            + ", ".join(f"{k} {v:.2f}" for k, v in layer.busy.items())
            + "; until settled "
            + ", ".join(f"{k} {v:.2f}" for k, v in layer.busy_settled.items())
            + f"; RPCs/start {layer.rpcs}",
            flush=True,
        )
        await self.idle()
        return layer

    async def idle(self, within: float = 120) -> None:
        """Wait until the worker and the dev server are quiet again (the backlog of a layer is done)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            before = self.cpu()
            await asyncio.sleep(1)
            after = self.cpu()
            if after["worker"] - before["worker"] < 0.1 and after["temporal"] - before["temporal"] < 0.15:
                return

    # ----------------------------------------------------------------------- the ways to start

    async def raw_start(self, spec: MeetingSpec, task_queue: str) -> None:
        await self.stack.client.start_workflow(
            "MeetingWorkflow", MeetingInput(spec), id=f"meeting-{spec.meeting_id}", task_queue=task_queue
        )

    async def schedule(self, spec: MeetingSpec) -> None:
        await self.client.schedule(spec, memo={"source": "bench"})

    async def post(self, spec: MeetingSpec, *, minimal: bool = False) -> None:
        response = await self.stack.http.post(
            f"{self.stack.gateway_url}/meetings",
            json=spec.model_dump(mode="json", exclude_defaults=True),
            headers={"Authorization": f"Bearer {API_TOKEN}"}
            | ({"Prefer": "return=minimal"} if minimal else {}),
        )
        if response.status_code != 201:
            raise RuntimeError(f"the gateway answered {response.status_code}: {response.text}")


async def worker_ready(stack: BenchStack, within: float = 60) -> None:
    """Until the (re)started worker answers a meeting's status query."""
    client = MeetingClient(stack.client, stack.task_queue)
    later = utc_now() + timedelta(days=1)
    spec = MeetingSpec(
        meeting_id=f"ready-{uuid.uuid4().hex[:6]}", start_time=later, end_time=later + timedelta(hours=1)
    )
    await client.schedule(spec)
    deadline = time.monotonic() + within
    while True:
        try:
            await client.status(spec.meeting_id)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def api_start(meetings: int, concurrencies: list[int], dev_server_args: list[str]) -> Result:
    command = (
        f"python -m bench api-start --meetings {meetings}"
        + "".join(f" --concurrency {c}" for c in concurrencies)
        + "".join(f" --dev-server-arg={a}" for a in dev_server_args)
    )
    result = Result(
        "api-start",
        command,
        {
            "meetings_per_layer": meetings,
            "concurrency": concurrencies,
            "dev_server_args": dev_server_args,
            "meeting": "one hour, a day away: only its start and first workflow task run",
            "machine": "2 cores shared by the dev server, worker, gateway and this load generator "
            "(and by other sessions' processes)",
        },
    )
    layers: list[Layer] = []
    async with bench_stack(dev_server_args=dev_server_args) as stack:
        harness = Harness(stack, meetings)
        await worker_ready(stack)
        stack.worker.stop()
        await harness.idle()
        idle_queue = f"{stack.task_queue}-nobody"
        for concurrency in concurrencies:
            layers.append(
                await harness.measure(
                    "a start_workflow, no worker",
                    "a",
                    concurrency,
                    lambda spec: harness.raw_start(spec, idle_queue),
                    worker_runs=False,
                )
            )
        # Before: a worker that compiles workflows/meeting.py for every meeting (no bytecode cache).
        stack.options.bytecode = False
        stack.start_worker()
        await worker_ready(stack)
        await harness.idle()
        top = max(concurrencies)
        layers.append(
            await harness.measure(
                "b0 start_workflow, worker compiling",
                "b0",
                top,
                lambda spec: harness.raw_start(spec, stack.task_queue),
                worker_runs=True,
            )
        )
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=256)) as http:
            stack.http, own = http, stack.http
            try:
                layers.append(
                    await harness.measure(
                        "d0 POST /meetings, worker compiling", "d0", top, harness.post, worker_runs=True
                    )
                )
            finally:
                stack.http = own
        # After: the worker reads bytecode, as the image's does.
        stack.worker.stop()
        stack.options.bytecode = True
        stack.start_worker()
        await worker_ready(stack)
        await harness.idle()
        for concurrency in concurrencies:
            layers.append(
                await harness.measure(
                    "b start_workflow, worker on",
                    "b",
                    concurrency,
                    lambda spec: harness.raw_start(spec, stack.task_queue),
                    worker_runs=True,
                )
            )
        for concurrency in concurrencies:
            layers.append(
                await harness.measure(
                    "c MeetingClient.schedule", "c", concurrency, harness.schedule, worker_runs=True
                )
            )
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=256)) as http:
            stack.http, own = http, stack.http
            try:
                for concurrency in concurrencies:
                    layers.append(
                        await harness.measure(
                            "d POST /meetings (gateway)", "d", concurrency, harness.post, worker_runs=True
                        )
                    )
                for concurrency in concurrencies:
                    layers.append(
                        await harness.measure(
                            "dm POST /meetings, Prefer: return=minimal",
                            "dm",
                            concurrency,
                            lambda spec: harness.post(spec, minimal=True),
                            worker_runs=True,
                        )
                    )
            finally:
                stack.http = own
    for layer in layers:
        label = f"{layer.name} x{layer.concurrency}"
        is_api = layer.key.startswith("d")
        result.add(
            f"{label}: starts/s",
            layer.rate,
            "≥ 100" if is_api else "",
            layer.rate >= 100 if is_api else None,
            baselines={"settled/s": layer.settled_rate},
            note=f"latency p50 {1000 * median(layer.latencies):.0f} ms, p99 "
            f"{1000 * percentile(layer.latencies, 99):.0f} ms; cores busy: "
            + ", ".join(f"{k} {v:.2f}" for k, v in layer.busy.items())
            + "; until settled: "
            + ", ".join(f"{k} {v:.2f}" for k, v in layer.busy_settled.items())
            + f"; RPCs per start: {layer.rpcs}",
        )
    result.raw = {
        "layers": [
            {
                "layer": layer.name,
                "concurrency": layer.concurrency,
                "started": layer.started,
                "seconds": round(layer.seconds, 3),
                "starts_per_second": round(layer.rate, 1),
                "settled_seconds": round(layer.settled_seconds, 3),
                "settled_per_second": round(layer.settled_rate, 1),
                "latency_ms": {
                    "p50": round(1000 * median(layer.latencies), 1),
                    "p99": round(1000 * percentile(layer.latencies, 99), 1),
                },
                "cores_busy": {k: round(v, 3) for k, v in layer.busy.items()},
                "cores_busy_until_settled": {k: round(v, 3) for k, v in layer.busy_settled.items()},
                "frontend_rpcs_per_start": layer.rpcs,
            }
            for layer in layers
        ]
    }
    return result
