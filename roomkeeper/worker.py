"""``roomkeeper worker`` (and the top-level ``worker.py``): runs MeetingWorkflow, the RoomReconciler
and their activities.

Configured by the environment (``common.settings.Settings`` and Temporal's own env config), serves
Prometheus metrics — the Temporal SDK's and roomkeeper's — and its health probes on
``ROOMKEEPER_METRICS_HOST:ROOMKEEPER_METRICS_PORT`` (``/metrics``, ``/healthz``, ``/readyz``), makes sure
the reconciler runs, and shuts down gracefully on SIGTERM/SIGINT: running activities get up to 30 s,
and the reconciler's sweep hands back at once, so a worker usually stops within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any, NoReturn

import httpx
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Interceptor, Worker

from activities.calendar import CalendarActivities
from activities.meeting_events import MeetingEventActivities
from activities.outcome import record_meeting_outcome
from activities.policy import TWILIO_WRITES_PER_SECOND, paced_writes_queue
from activities.reconcile import ReconcileActivities
from activities.rooms import RoomActivities
from activities.sweeper import SweepConfig
from calendar_feeds.fetch import http_client as calendar_http_client
from common.metrics import PrometheusRequestObserver
from common.sealing import Sealer, SealingError
from common.settings import ConfigurationError, LogFormat, Settings, exit_for, reveal, settings_or_exit
from common.temporal import connect
from roomkeeper import logs
from roomkeeper.calendar_changes import CalendarChangeActivities
from roomkeeper.census import count_meetings_by_phase
from roomkeeper.health import WorkerHealth
from roomkeeper.meeting_client import MeetingClient
from roomkeeper.metrics_server import start_observability
from roomkeeper.serving import exit_after, run_until_signalled
from twilio_video.client import VideoClient
from workflows.calendar_feed import CalendarFeedWorkflow
from workflows.meeting import MeetingWorkflow
from workflows.reconciler import RoomReconciler, reconciler_id

log = logging.getLogger("roomkeeper.worker")

WORKFLOWS: Sequence[type] = (MeetingWorkflow, RoomReconciler, CalendarFeedWorkflow)
GRACEFUL_SHUTDOWN = timedelta(seconds=30)
#: How long a meeting's next workflow task waits for the worker that has the meeting cached before any
#: worker takes it (replaying the history). The SDK's 10 s made a meeting whose worker died wait up to
#: 10 s more after a restart (an overdue completion 11 s late in the recovery benchmark); a healthy
#: worker picks its sticky tasks within milliseconds.
STICKY_TASK_WAIT = timedelta(seconds=3)
DEFAULT_SWEEP = SweepConfig()


def activities_for(
    rooms: RoomActivities,
    reconcile: ReconcileActivities,
    calendars: CalendarActivities,
    calendar_changes: CalendarChangeActivities,
    events: MeetingEventActivities,
) -> list[Any]:
    """Every activity the worker registers; tests build their workers from the same list."""
    return [
        events.meeting_defaults,
        events.deliver,
        calendars.fetch_feed,
        calendar_changes.apply,
        rooms.create_room,
        rooms.fetch_room,
        rooms.complete_room,
        rooms.list_participants,
        rooms.fetch_participant,
        rooms.disconnect_participant,
        reconcile.reconcile_rooms,
        record_meeting_outcome,
    ]


def write_activities_for(rooms: RoomActivities) -> list[Any]:
    """The Twilio writes, served (also) on the paced writes queue (``activities.policy``)."""
    return [rooms.create_room, rooms.complete_room, rooms.disconnect_participant]


def video_client(settings: Settings) -> VideoClient:
    return VideoClient(
        settings.twilio_credentials(), settings.twilio_video_base_url, observer=PrometheusRequestObserver()
    )


@contextlib.asynccontextmanager
async def running_worker(
    client: Client,
    settings: Settings,
    video: VideoClient,
    *,
    sweep: SweepConfig | None = DEFAULT_SWEEP,
    graceful_shutdown: timedelta = GRACEFUL_SHUTDOWN,
    interceptors: Sequence[Interceptor] = (),
    health: WorkerHealth | None = None,
    writes_per_second: float = TWILIO_WRITES_PER_SECOND,
) -> AsyncIterator[Worker]:
    """The worker, running, with the task queue's reconciler started (``sweep=None``: don't start it),
    the meetings-by-phase gauge kept current and, given ``health``, its probes fed.

    Beside it, a second worker polls the paced writes queue: Temporal dispatches Twilio writes to all
    the deployment's workers together at most ``writes_per_second`` (the last worker to poll sets it).
    """
    rooms = RoomActivities(video, settings.public_url)
    reconcile = ReconcileActivities(video, client, settings.task_queue)
    feeds_http = calendar_http_client()
    sealer = Sealer.from_setting(reveal(settings.secret_key))
    calendars = CalendarActivities(feeds_http, sealer)
    calendar_changes = CalendarChangeActivities(MeetingClient(client, settings.task_queue))
    # Redirects are not followed: a receiver is an exact address the deployment holds a secret for.
    events_http = httpx.AsyncClient(trust_env=False, follow_redirects=False)
    events = MeetingEventActivities(events_http, settings.event_endpoints(), settings.extend_caps())
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=activities_for(rooms, reconcile, calendars, calendar_changes, events),
        sticky_queue_schedule_to_start_timeout=STICKY_TASK_WAIT,
        graceful_shutdown_timeout=graceful_shutdown,
        interceptors=interceptors,
    )
    writes = Worker(
        client,
        task_queue=paced_writes_queue(settings.task_queue),
        activities=write_activities_for(rooms),
        graceful_shutdown_timeout=graceful_shutdown,
        interceptors=interceptors,
        max_task_queue_activities_per_second=writes_per_second,
    )
    async with feeds_http, events_http, worker, writes:
        if sweep is not None:
            await client.start_workflow(
                RoomReconciler.run,
                sweep,
                id=reconciler_id(settings.task_queue),
                task_queue=settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary="roomkeeper: notice what Twilio status callbacks missed",
            )
        background = [asyncio.create_task(count_meetings_by_phase(client, settings.task_queue))]
        if health is not None:
            background.append(asyncio.create_task(health.watch(client, lambda: worker.is_running)))
        try:
            yield worker
        finally:
            if health is not None:
                health.stopping()
            reconcile.hand_back()  # before the worker's shutdown begins (see ReconcileActivities)
            for task in background:
                task.cancel()


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run the worker until ``stop`` is set, then shut down gracefully.

    Shutdown is quick: the reconciler's sweep hands back as soon as it begins, and the Twilio activities
    are short, so the graceful window is a ceiling that is rarely reached.
    """
    health = WorkerHealth()
    try:
        runtime, metrics = start_observability(settings.metrics_port, settings.metrics_host)
    except OSError as error:
        # The host is not repeated: like every settings message, this one quotes no value.
        raise SystemExit(
            "roomkeeper worker: cannot serve metrics on ROOMKEEPER_METRICS_HOST, port "
            f"{settings.metrics_port}: {error.strerror or type(error).__name__}"
        ) from None
    metrics.probes = health
    try:
        client = await connect(settings, runtime)
    except RuntimeError as error:
        metrics.stop()
        raise SystemExit(f"roomkeeper worker: cannot connect to Temporal: {error}") from None
    async with video_client(settings) as video, running_worker(client, settings, video, health=health):
        host, port = metrics.address
        log.info(
            "worker on task queue %r at %s; metrics and probes on http://%s:%d (/metrics, /healthz, /readyz)",
            settings.task_queue,
            client.service_client.config.target_host,
            host,
            port,
        )
        await stop.wait()
        stopping = time.monotonic()
        log.info("shutting down (running activities get up to %ss)", GRACEFUL_SHUTDOWN.total_seconds())
    log.info("stopped in %.1fs", time.monotonic() - stopping)
    metrics.stop()


def main(log_format: LogFormat | None = None) -> NoReturn:
    """``roomkeeper worker``: exit status 0 after a graceful stop, 2 for a configuration problem, 1 (and
    one line) when Temporal cannot be reached or the metrics address cannot be bound.

    ``log_format`` (``--log-format``) wins over ``ROOMKEEPER_LOG_FORMAT``.
    """
    # Checked before anything connects, so a mistake costs one line on stderr, not a traceback.
    settings = settings_or_exit("worker")
    logs.configure(log_format or settings.log_format)
    try:
        settings.twilio_credentials()
        # The calendar activities' key, checked now: a bad one would otherwise surface at the first sync.
        Sealer.from_setting(reveal(settings.secret_key))
        settings.event_endpoints()  # the receivers of lifecycle events and their secrets
    except ConfigurationError as error:
        exit_for("worker", error)
    except SealingError as error:
        exit_for("worker", ConfigurationError([str(error)]))
    exit_after(lambda: run_until_signalled(lambda stop: serve(settings, stop)))


if __name__ == "__main__":
    main()
