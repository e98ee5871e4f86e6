"""The ``roomkeeper`` command: one entry point for every part of the stack.

Subcommands arrive with the parts they run; each documents itself with ``--help``. Only the subcommand
being run has its options built (and its modules imported): ``dev`` and ``emulator`` pull in the
emulator, uvicorn and the Temporal test server, which would slow down every ``roomkeeper meeting …``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

Command = Callable[[argparse.Namespace], int]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or (``command`` given) one whose other subcommands are listed by name only."""

    def wanted(name: str) -> bool:
        return command is None or command == name

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
    if wanted("emulator"):
        import emulator.cli

        emulator.cli.add_arguments(emulator_parser)
    emulator_parser.set_defaults(handler=_run_emulator)

    dev_parser = commands.add_parser(
        "dev",
        help="the whole stack on this machine, on the embedded emulator",
        description="Temporal dev server (UI included), Twilio emulator, gateway and worker in one command. "
        "Ports default to Temporal 7233, UI 8233, gateway 8000, emulator 8088, metrics 9464.",
    )
    if wanted("dev"):
        from roomkeeper import devstack

        devstack.add_arguments(dev_parser)
    dev_parser.set_defaults(handler=_run_dev)

    worker_parser = commands.add_parser(
        "worker",
        help="the Temporal worker (workflows, activities, metrics)",
        description="Runs MeetingWorkflow, the reconciler and the Twilio activities; configured by the "
        "environment (see docs/configuration.md).",
    )
    if wanted("worker"):
        _log_format_option(worker_parser)
    worker_parser.set_defaults(handler=_run_worker)

    gateway_parser = commands.add_parser(
        "gateway",
        help="the HTTP ingress for Twilio status callbacks",
        description="Verifies X-Twilio-Signature and turns status callbacks into room_event signals.",
    )
    gateway_parser.add_argument("--host", default="127.0.0.1")
    gateway_parser.add_argument("--port", type=int, default=8000)
    if wanted("gateway"):
        _log_format_option(gateway_parser)
    gateway_parser.set_defaults(handler=_run_gateway)

    meeting_parser = commands.add_parser(
        "meeting",
        help="schedule, inspect and steer meetings (on Temporal; --json for scripts)",
        description="Schedule meetings and steer them through their life: status, list, extend, "
        "reschedule, end, cancel. Talks to Temporal directly (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, "
        "ROOMKEEPER_TASK_QUEUE); see docs/cli.md.",
    )
    if wanted("meeting"):
        from roomkeeper import meeting_cli

        meeting_cli.add_arguments(meeting_parser)
    meeting_parser.set_defaults(handler=_run_meeting)

    calendar_parser = commands.add_parser(
        "calendar",
        help="iCalendar feeds whose events become meetings, kept in sync",
        description="Add, list, show, sync and remove calendar feeds (Google, Outlook, iCloud, Nextcloud, "
        "any .ics address or file). Talks to Temporal directly; see docs/calendars.md.",
    )
    if wanted("calendar"):
        from roomkeeper import calendar_cli

        calendar_cli.add_arguments(calendar_parser)
    calendar_parser.set_defaults(handler=_run_calendar)

    events_parser = commands.add_parser(
        "events",
        help="lifecycle events to your application: a new signing secret",
        description="Lifecycle events are signed JSON POSTs to your application (Standard Webhooks); "
        "see docs/app-developers.md.",
    )
    events_commands = events_parser.add_subparsers(dest="events_command", required=True, metavar="ACTION")
    events_commands.add_parser(
        "new-secret",
        help="print a new ROOMKEEPER_EVENTS_SECRET (whsec_…)",
        description="A new Standard Webhooks secret (32 random bytes). Give it to the worker as "
        "ROOMKEEPER_EVENTS_SECRET and to your receiver. To rotate, set both secrets, separated by a "
        "space, until every receiver has the new one: each message is signed with both.",
    )
    events_parser.set_defaults(handler=_run_events)
    return parser


def _log_format_option(parser: argparse.ArgumentParser) -> None:
    from roomkeeper import logs

    logs.add_argument(parser)


def _run_emulator(args: argparse.Namespace) -> int:
    import emulator.cli

    return emulator.cli.run(args)


def _run_dev(args: argparse.Namespace) -> int:
    from roomkeeper import devstack

    return devstack.run(args)


def _run_worker(args: argparse.Namespace) -> int:
    from roomkeeper.worker import main

    main(args.log_format)


def _run_gateway(args: argparse.Namespace) -> int:
    from roomkeeper.gateway.serve import run

    run(args.host, args.port, args.log_format)


def _run_meeting(args: argparse.Namespace) -> int:
    from roomkeeper import meeting_cli

    return meeting_cli.run(args)


def _run_calendar(args: argparse.Namespace) -> int:
    from roomkeeper import calendar_cli

    return calendar_cli.run(args)


def _run_events(args: argparse.Namespace) -> int:
    from common.standard_webhooks import new_secret

    print(new_secret())
    return 0


def _command_in(argv: Sequence[str]) -> str:
    """The subcommand ``argv`` runs: its first word that is not an option ("" for none, e.g. --help)."""
    return next((word for word in argv if not word.startswith("-")), "")


def main(argv: list[str] | None = None) -> int:
    """Run ``roomkeeper ARGV``; without ``argv`` (the console script, ``python -m``), the process's own
    arguments, and the subcommand may then end the process itself (``owns_process``)."""
    words = sys.argv[1:] if argv is None else argv
    args = build_parser(_command_in(words)).parse_args(words)
    args.owns_process = argv is None
    handler: Command = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
