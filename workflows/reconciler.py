"""RoomReconciler: the one fleet-wide workflow that keeps the ``ReconcileRooms`` sweep running.

Being a workflow with a fixed id makes it a singleton across any number of workers, and its
heartbeating activity moves to another worker if one dies. Each activity run lasts an hour; after a
day of them the workflow continues as new, so its history stays small.
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


@workflow.defn(name="RoomReconciler")
class RoomReconciler:
    @workflow.run
    async def run(self, config: SweepConfig) -> None:
        for _ in range(RUNS_BEFORE_CONTINUE_AS_NEW):
            await workflow.execute_activity_method(
                ReconcileActivities.reconcile_rooms,
                config,
                start_to_close_timeout=timedelta(seconds=config.run_for_seconds) + timedelta(minutes=5),
                heartbeat_timeout=timedelta(seconds=max(60.0, 3 * config.sweep_period_seconds)),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=1)
                ),
                summary="sweep open rooms for missed callbacks",
            )
        workflow.continue_as_new(config)
