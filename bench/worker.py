"""The bench's worker process: roomkeeper's own ``running_worker`` (as ``roomkeeper worker`` runs it),
with the reconciler's pace given on the command line (so time can be compressed) and, optionally, the
10 s polling baseline registered on a task queue of its own.

    python -m bench.worker --sweep-period 25 --flowing-read 600 [--baseline-emulator-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from temporalio.worker import Worker

from activities.sweeper import SweepConfig
from bench.baselines import POLLING_QUEUE_SUFFIX, PollingActivities, PollingMeeting, baseline_client
from common.settings import load_settings
from common.temporal import connect
from roomkeeper.worker import running_worker, video_client


@contextlib.asynccontextmanager
async def baseline_worker(client, task_queue: str, url: str | None) -> AsyncIterator[None]:
    if url is None:
        yield
        return
    async with baseline_client(url) as video:
        activities = PollingActivities(video)
        worker = Worker(
            client,
            task_queue=task_queue + POLLING_QUEUE_SUFFIX,
            workflows=[PollingMeeting],
            activities=[activities.create, activities.list_connected, activities.complete],
        )
        async with worker:
            yield


async def main(args: argparse.Namespace) -> None:
    settings = load_settings()
    client = await connect(settings)
    sweep = SweepConfig(
        sweep_period_seconds=args.sweep_period,
        flowing_read_seconds=args.flowing_read,
        min_heartbeat_timeout_seconds=20.0,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with (
        video_client(settings) as video,
        running_worker(client, settings, video, sweep=sweep),
        baseline_worker(client, settings.task_queue, args.baseline_emulator_url),
    ):
        logging.getLogger("bench.worker").info("bench worker on %s", settings.task_queue)
        await stop.wait()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser()
    parser.add_argument("--sweep-period", type=float, default=25.0)
    parser.add_argument("--flowing-read", type=float, default=600.0)
    parser.add_argument("--baseline-emulator-url")
    asyncio.run(main(parser.parse_args()))
