"""RoomReconciler: the one fleet-wide workflow that keeps the ``ReconcileRooms`` sweep running.

Being a workflow with a fixed id makes it a singleton across any number of workers, and its
heartbeating activity moves to another worker if one dies. Each activity run lasts an hour, or until
its worker shuts down (then the next run is scheduled at once, for whichever worker polls next); after
24 runs the workflow continues as new, so its history stays small.

The sweep survives Temporal and Twilio errors inside the activity, so a failed attempt means a worker
died or something unexpected happened: it is retried within seconds, never after a long backoff, since
lost callbacks go unnoticed while no sweep runs.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.reconcile import ReconcileActivities
    from activities.sweeper import SweepConfig


def reconciler_id(task_queue: str) -> str:
    """One reconciler per task queue: a singleton for each deployment sharing a namespace."""
    return f"roomkeeper-room-reconciler-{task_queue}"


RUNS_BEFORE_CONTINUE_AS_NEW = 24

#: 1 s, 2 s, 4 s, then every 5 s: a sweep is cheap, and an idle one misses what callbacks missed.
SWEEP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=5)
)


def heartbeat_timeout(config: SweepConfig) -> timedelta:
    """Three cycles without a heartbeat: the worker died (or lost Temporal) and the sweep moves on.

    At least ``min_heartbeat_timeout_seconds`` (20 s), because a cycle's slowest steps (a visibility
    query retried by the client, a slow Twilio listing) do not heartbeat. An attempt timed out by
    mistake (or across a Temporal outage) is retried within seconds; the old one stops at once if the
    retry lands on its worker, else at its next heartbeat. Meanwhile two sweeps may overlap, which
    costs reads but no harm: snapshots are idempotent.
    """
    return timedelta(seconds=max(config.min_heartbeat_timeout_seconds, 3 * config.sweep_period_seconds))


@workflow.defn(name="RoomReconciler")
class RoomReconciler:
    """Keeps one ``ReconcileRooms`` activity running for the task queue, forever."""

    @workflow.run
    async def run(self, config: SweepConfig) -> None:
        """Run the sweep again and again; ``config`` paces it (the first worker to start decides)."""
        for _ in range(RUNS_BEFORE_CONTINUE_AS_NEW):
            await workflow.execute_activity_method(
                ReconcileActivities.reconcile_rooms,
                config,
                start_to_close_timeout=timedelta(seconds=config.run_for_seconds) + timedelta(minutes=5),
                heartbeat_timeout=heartbeat_timeout(config),
                retry_policy=SWEEP_RETRY,
                summary="sweep open rooms for missed callbacks",
            )
        workflow.continue_as_new(config)
