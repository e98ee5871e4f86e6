"""The ``roomkeeper`` command: one entry point for every part of the stack.

Subcommands arrive with the parts they run; each documents itself with ``--help``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import emulator.cli

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roomkeeper",
        description="Scheduled meetings → Twilio Video rooms, driven through their whole life on Temporal.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    emulator_parser = commands.add_parser(
        "emulator",
        help="serve the local Twilio Video emulator",
        description="A stateful stand-in for video.twilio.com/v1 (Rooms, Participants) with a control "
        "surface under /emulator. See docs/emulator.md.",
    )
    emulator.cli.add_arguments(emulator_parser)
    emulator_parser.set_defaults(handler=emulator.cli.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
