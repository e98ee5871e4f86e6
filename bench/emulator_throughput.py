"""How many requests per second the emulator serves for create → fetch → list → complete.

The emulator runs as its own process (``roomkeeper emulator --no-rate-limit``, one uvicorn worker);
this process drives it over loopback HTTP with ``--concurrency`` keep-alive connections, each repeating
the four-request cycle. The load generator is a bare asyncio HTTP/1.1 client (bench/rawhttp.py): with
httpx the generator saturated its core first and the figure measured httpx, not the emulator.
Each round runs for ``--seconds``; the table shows the median of ``--rounds`` rounds, and the JSON
in bench/results/ keeps every round, with each process's CPU per request (from /proc) to show where
the time goes. Both processes share this machine's two cores, so the figure is for the pair, not the
emulator alone.

    python -m bench.emulator_throughput [--seconds 8] [--rounds 3] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.rawhttp import RawConnection
from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from twilio_video.operations import Operation

OPERATIONS = (Operation.CREATE_ROOM, Operation.FETCH_ROOM, Operation.LIST_ROOM, Operation.UPDATE_ROOM)
RESULTS = Path(__file__).parent / "results" / "emulator_throughput.json"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_emulator(port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "emulator",
        "--port",
        str(port),
        "--no-rate-limit",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/emulator", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("emulator did not start within 20 s")


async def client_loop(port: int, worker: int, stop_at: float, latencies: dict[Operation, list[float]]) -> int:
    async with RawConnection("127.0.0.1", port, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN) as connection:
        return await _cycles(connection, worker, stop_at, latencies)


async def _cycles(
    connection: RawConnection, worker: int, stop_at: float, latencies: dict[Operation, list[float]]
) -> int:
    cycles = 0
    while time.perf_counter() < stop_at:
        name = f"bench-{worker}-{cycles}"
        steps: list[tuple[Operation, str, str, dict[str, str] | None]] = [
            (Operation.CREATE_ROOM, "POST", "/v1/Rooms", {"UniqueName": name}),
            (Operation.FETCH_ROOM, "GET", f"/v1/Rooms/{name}", None),
            (Operation.LIST_ROOM, "GET", "/v1/Rooms?PageSize=20", None),
            (Operation.UPDATE_ROOM, "POST", f"/v1/Rooms/{name}", {"Status": "completed"}),
        ]
        for operation, method, path, form in steps:
            started = time.perf_counter()
            status, body = await connection.request(method, path, form)
            latencies[operation].append(time.perf_counter() - started)
            if status >= 300:
                raise RuntimeError(f"{operation} answered {status}: {body.decode()}")
        cycles += 1
    return cycles


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process ``pid`` has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_cpu_seconds() -> float:
    """CPU seconds every process on the machine has used (Linux /proc/stat: all but idle and iowait)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLOCK_TICKS


async def one_round(port: int, seconds: float, concurrency: int, emulator_pid: int) -> dict[str, Any]:
    latencies: dict[Operation, list[float]] = {operation: [] for operation in OPERATIONS}
    emulator_cpu, own_cpu, machine_cpu = cpu_seconds(emulator_pid), time.process_time(), machine_cpu_seconds()
    started = time.perf_counter()
    stop_at = started + seconds
    cycles = await asyncio.gather(*(client_loop(port, w, stop_at, latencies) for w in range(concurrency)))
    elapsed = time.perf_counter() - started
    emulator_cpu, own_cpu = cpu_seconds(emulator_pid) - emulator_cpu, time.process_time() - own_cpu
    others_cpu = max(0.0, machine_cpu_seconds() - machine_cpu - emulator_cpu - own_cpu)
    total = sum(len(values) for values in latencies.values())
    return {
        "seconds": round(elapsed, 3),
        "cycles": sum(cycles),
        "requests": total,
        "requests_per_second": round(total / elapsed, 1),
        # Where the time goes: CPU per request of each process (microseconds), and the share of a core
        # each used. Both share the machine's cores with each other and with anything else running.
        "cpu_us_per_request": {
            "emulator": round(emulator_cpu / total * 1e6, 1),
            "load_generator": round(own_cpu / total * 1e6, 1),
        },
        "cores_busy": {
            "emulator": round(emulator_cpu / elapsed, 2),
            "load_generator": round(own_cpu / elapsed, 2),
            # Everything else on the machine (other processes, the kernel's own work): what was left.
            "others": round(others_cpu / elapsed, 2),
        },
        "latency_ms": {
            operation: {
                "p50": round(statistics.median(values) * 1000, 2),
                "p95": round(statistics.quantiles(values, n=20)[-1] * 1000, 2),
            }
            for operation, values in latencies.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)

    port = free_port()
    emulator = start_emulator(port)
    try:
        rounds = []
        for index in range(args.rounds):
            result = asyncio.run(one_round(port, args.seconds, args.concurrency, emulator.pid))
            rounds.append(result)
            cpu = result["cpu_us_per_request"]
            print(
                f"round {index + 1}: {result['requests_per_second']:.0f} req/s; CPU per request: "
                f"emulator {cpu['emulator']:.0f} us, load generator {cpu['load_generator']:.0f} us",
                file=sys.stderr,
            )
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(10)

    median_rps = statistics.median(r["requests_per_second"] for r in rounds)
    print(
        "\nEmulator throughput, create → fetch → list → complete, rate limits off, "
        f"{args.concurrency} connections"
    )
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    print(f"{'operation':<12} {'p50 ms':>8} {'p95 ms':>8}")
    for operation in OPERATIONS:
        p50 = statistics.median(r["latency_ms"][operation]["p50"] for r in rounds)
        p95 = statistics.median(r["latency_ms"][operation]["p95"] for r in rounds)
        print(f"{operation:<12} {p50:>8.2f} {p95:>8.2f}")
    print(f"\nrequests/s per round: {', '.join(str(r['requests_per_second']) for r in rounds)}")
    print(f"median: {median_rps:.0f} requests/s ({median_rps / 4:.0f} full cycles/s)")
    for side in ("emulator", "load_generator"):
        per_request = statistics.median(r["cpu_us_per_request"][side] for r in rounds)
        busy = statistics.median(r["cores_busy"][side] for r in rounds)
        print(
            f"{side.replace('_', ' ')}: {per_request:.0f} us CPU per request, {busy:.2f} cores busy (medians)"
        )
    others = statistics.median(r["cores_busy"]["others"] for r in rounds)
    print(f"everything else on the machine: {others:.2f} cores busy (median)")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "emulator_throughput",
                "command": "python -m bench.emulator_throughput " + " ".join(argv or sys.argv[1:]),
                "cores": os.cpu_count(),
                "concurrency": args.concurrency,
                "median_requests_per_second": median_rps,
                "rounds": rounds,
            },
            indent=2,
        )
    )
    print(f"written: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
