"""What reconciling 1,000 open rooms costs in Twilio reads, measured against the emulator.

1,000 rooms are created (rate limits off for the setup), then the emulator's per-account limits are
switched on (80 reads/s) and the real ``RoomSweeper`` runs one full cycle with production settings
(25 s period, at most 40 reads/s). Reported: reads per second (mean and the busiest 1-second window),
429s received, cycle time, and how long a participant change made mid-cycle took to be noticed.

    python -m bench.reconcile_budget [--rooms 1000] [--period 25]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import httpx

from activities.sweeper import RoomSweeper, SweepConfig
from common.room_events import RoomEvent, RoomEventKind
from emulator.app import EmulatorConfig
from emulator.clock import SystemClock
from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.support import running_emulator
from twilio_video.client import TwilioCredentials, VideoClient

RESULTS = Path(__file__).parent / "results" / "reconcile_budget.json"


async def measure(rooms: int, period: float) -> dict[str, object]:
    config = EmulatorConfig(clock=SystemClock(), rate_limits=False)
    with running_emulator(config) as emulator:
        api = httpx.AsyncClient(base_url=emulator.url, auth=(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN), timeout=30)
        sem = asyncio.Semaphore(32)

        async def create(index: int) -> str:
            async with sem:
                response = await api.post("/v1/Rooms", data={"UniqueName": f"r{index}"})
                return str(response.json()["sid"])

        sids = await asyncio.gather(*(create(i) for i in range(rooms)))
        open_rooms = {sid: f"meeting-{i}" for i, sid in enumerate(sids)}
        emulator.state.requests.clear()
        emulator.state.limiter.enabled = True  # Twilio's 80 reads/s from here on

        noticed: dict[str, float] = {}

        async def notify(workflow_id: str, event: RoomEvent) -> None:
            if event.kind is RoomEventKind.SNAPSHOT and event.participants:
                noticed.setdefault(workflow_id, time.monotonic())

        async def source() -> dict[str, str]:
            return open_rooms

        credentials = TwilioCredentials.from_auth_token(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)
        async with VideoClient(credentials, emulator.url) as video:
            sweeper = RoomSweeper(video, source, notify, SweepConfig(sweep_period_seconds=period))
            await sweeper.cycle()  # learn the (empty) participant sets once
            emulator.state.requests.clear()
            # Mid-cycle changes: someone joins a few rooms spread across the sweep order.
            changed = [sids[i] for i in range(0, rooms, max(1, rooms // 10))]
            started = time.monotonic()
            cycle = asyncio.create_task(sweeper.cycle())
            joined_at: dict[str, float] = {}
            for sid in changed:
                await asyncio.sleep(period / len(changed) / 2)
                await api.post(f"/emulator/Rooms/{sid}/Participants", json={"Identity": "late"})
                joined_at[open_rooms[sid]] = time.monotonic()
            await cycle
            if len(noticed) < len(changed):
                await sweeper.cycle()  # changes made behind the sweep are seen in the next one
            elapsed_first = time.monotonic() - started
        await api.aclose()

        log = [e for e in emulator.state.requests if e["method"] == "GET"]
        seconds = Counter(e["time"][:19] for e in log)
        statuses = Counter(e["status"] for e in log)
        first, last = log[0]["time"], log[-1]["time"]
        span = (
            datetime.fromisoformat(last.replace("Z", "+00:00"))
            - datetime.fromisoformat(first.replace("Z", "+00:00"))
        ).total_seconds()
        delays = [noticed[w] - joined_at[w] for w in joined_at if w in noticed]
        return {
            "rooms": rooms,
            "period_seconds": period,
            "reads": len(log),
            "reads_per_second_mean": round(len(log) / span, 1) if span else None,
            "reads_per_second_busiest_second": max(seconds.values()),
            "rate_limited_429": statuses.get(429, 0),
            "cycles_seconds": round(elapsed_first, 1),
            "changes": len(changed),
            "changes_noticed": len(delays),
            "notice_delay_seconds_median": round(statistics.median(delays), 1) if delays else None,
            "notice_delay_seconds_max": round(max(delays), 1) if delays else None,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--period", type=float, default=25.0)
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.rooms, args.period))
    print(f"\nReconciling {args.rooms} open rooms, {args.period:g}s sweep, emulator limits on (80 reads/s)\n")
    for key, value in result.items():
        print(f"  {key:<34} {value}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"benchmark": "reconcile_budget", "cores": os.cpu_count(), **result}, indent=2)
    )
    print(f"written: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
