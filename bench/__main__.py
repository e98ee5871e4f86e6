"""``python -m bench <scenario> [--meetings N]``: one scenario of issue 12 on the real stack.

``python -m bench all --small`` runs every scenario at the sizes of ``make bench`` (under 10 minutes on
2 cores); the full sizes are each scenario's defaults below. Every run prints its table and writes
bench/results/<scenario>.json and .png (the chart needs the ``bench`` extra: matplotlib).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from bench import scenarios
from bench.report import Result

#: scenario -> (full size, make-bench size)
SIZES = {
    "punctuality": (200, 60),
    "burst": (1000, 200),
    "cost": (1000, 20),
    "scale": (10_000, 1_000),
    "recovery": (200, 50),
    "emulator": (0, 0),
    "api-start": (1000, 40),
}


def run(name: str, meetings: int, args: argparse.Namespace) -> Result:
    if name == "punctuality":
        if args.small:
            # Windows of 10-18 s starting over 15 s, opening 10 s early: every meeting is over before the
            # cron baseline's second run (it runs every 60 s), so the scenario takes a minute, not three.
            return asyncio.run(scenarios.punctuality(meetings, spread=15, durations=(10, 18), open_before=10))
        return asyncio.run(scenarios.punctuality(meetings))
    if name == "burst":
        open_before = args.open_before or (20 if args.small else 120)
        return asyncio.run(
            scenarios.burst(meetings, open_before=open_before, length=30 if args.small else 60)
        )
    if name == "cost":
        compress = args.scale or (60.0 if args.small else 30.0)
        lost_length = 60.0 if args.small else 150.0
        return asyncio.run(
            scenarios.cost(
                meetings, scale=compress, lost_meetings=args.lost_meetings, lost_length=lost_length
            )
        )
    if name == "scale":
        open_meetings = args.open or max(1, meetings // 20)
        return asyncio.run(scenarios.scale(meetings, open_meetings, steady=10.0 if args.small else 30.0))
    if name == "recovery":
        return asyncio.run(scenarios.recovery(meetings))
    if name == "api-start":
        from bench.api_start import api_start

        return asyncio.run(api_start(meetings, args.concurrency or [16, 64], args.dev_server_arg))
    return scenarios.emulator(args.seconds, args.rounds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", choices=[*SIZES, "all"])
    parser.add_argument("--meetings", type=int, help="how many meetings (default: the scenario's full size)")
    parser.add_argument("--small", action="store_true", help="the sizes of `make bench`")
    parser.add_argument(
        "--scale", type=float, default=None, help="cost: time compression (an hour lasts 3600/S s)"
    )
    parser.add_argument(
        "--lost-meetings", type=int, default=10, help="cost: meetings in the callbacks-lost run"
    )
    parser.add_argument("--open", type=int, help="scale: meetings open (default: meetings/20)")
    parser.add_argument("--open-before", type=int, default=None, help="burst: seconds the rooms open early")
    parser.add_argument("--seconds", type=float, default=5.0, help="emulator: seconds a round")
    parser.add_argument("--rounds", type=int, default=3, help="emulator: rounds")
    parser.add_argument(
        "--concurrency", type=int, action="append", help="api-start: requests in flight (repeatable)"
    )
    parser.add_argument(
        "--dev-server-arg",
        action="append",
        default=[],
        help="api-start: an argument for `temporal server start-dev` (repeatable: --dev-server-arg=--x=y)",
    )
    args = parser.parse_args(argv)
    names = list(SIZES) if args.scenario == "all" else [args.scenario]
    failures = 0
    for name in names:
        full, small = SIZES[name]
        meetings = args.meetings or (small if args.small else full)
        began = time.monotonic()
        result = run(name, meetings, args)
        result.params["wall_seconds"] = round(time.monotonic() - began, 1)
        result.print()
        json_path, png_path = result.write()
        print(f"written: {json_path} {png_path if png_path.exists() else '(no chart)'}")
        failures += sum(1 for row in result.rows if row.met is False)
    print(f"\n{failures} target(s) not met" if failures else "\nevery target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
