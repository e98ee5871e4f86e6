"""``roomkeeper meeting``: schedule meetings and steer them from a terminal, on the Temporal client.

Every subcommand goes through ``roomkeeper.meeting_client.MeetingClient`` (the one place where requests
become workflow starts, updates, signals, queries and listings). Human text by default, ``--json`` for
scripts (the pydantic models' JSON, which parses back). Errors are one line per problem on stderr,
prefixed with the subcommand; never a traceback.

Exit status: 0 done; 1 it did not happen (Temporal unreachable, no such meeting, the workflow refused,
a different meeting under the same id); 2 bad input (flags, times, spec, configuration); 130 Ctrl-C.

Only ``argparse`` and ``roomkeeper.when`` are imported at start: the Temporal SDK and the models load
when a subcommand runs, so ``--help`` answers at once. See docs/cli.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import re
import secrets
import signal
import string
import sys
import textwrap
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from roomkeeper import when

if TYPE_CHECKING:
    from pydantic import ValidationError
    from temporalio.client import Client

    from common.settings import Settings
    from roomkeeper.join_tokens import JoinTokenIssuer
    from roomkeeper.meeting_client import MeetingClient
    from workflows.meeting_status import MeetingStatus

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: How long connecting to Temporal, or one call to it, may take before it counts as not answering.
TEMPORAL_TIMEOUT = timedelta(seconds=5)
#: How long ``end`` waits for the room to be completed before saying it is still closing.
END_WAIT = timedelta(seconds=30)
DEFAULT_LIST_LIMIT = 50
#: Meetings asked for per visibility page; ``list`` follows the pages up to its ``--limit``.
LIST_PAGE_SIZE = 100

# Written here, not imported, so that ``--help`` needs no pydantic models (half a second of start-up);
# tests/test_meeting_cli.py checks each against the enum it mirrors.
PHASES = ("scheduled", "opening", "open", "closing", "completed", "cancelled", "failed")
ROOM_TYPES = ("group", "group-small", "peer-to-peer", "go")
VIDEO_CODECS = ("VP8", "H264")
ROOM_ENDS_EARLY = ("recreate", "end_meeting")

_ID_ALPHABET = string.ascii_lowercase + string.digits
_SLUG_LENGTH = 40


# ------------------------------------------------------------------------------------------ problems


class Problem(Exception):
    """What a subcommand could not do: one line per problem, and the exit status to end with."""

    def __init__(self, lines: str | Sequence[str], status: int = EXIT_USAGE) -> None:
        self.lines = [lines] if isinstance(lines, str) else list(lines)
        self.status = status
        super().__init__("; ".join(self.lines))


def validation_problems(error: ValidationError) -> list[str]:
    """pydantic's errors as ``workflows.meeting_input.explain`` words them, one line per problem.

    ``explain`` joins problems with "; " (a workflow failure is one message); here each is its own line,
    the room's broken rules (``room.a: …; room.b: …``) included.
    """
    from pydantic import ValidationError as Error

    from workflows.meeting_input import explain

    lines = []
    for item in error.errors(include_url=False):
        details: Any = {key: item[key] for key in ("type", "loc", "input", "ctx") if key in item}
        line = explain(Error.from_exception_data(error.title, [details])).removeprefix("input: ")
        lines += re.split(r"; (?=room\.)", line)
    return lines


# ------------------------------------------------------------------------------------------- parser


def _non_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


_TIME_HELP = "'YYYY-MM-DD HH:MM[:SS] Area/City', 'in 10m', 'now' or ISO 8601 with an offset"
_DURATION_HELP = "e.g. 30m, 1h, 1h30m, 90s, 2d"


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    output = common.add_argument_group("output and connection")
    output.add_argument(
        "--json", action="store_true", help="print JSON (the models' own, which parses back) instead of text"
    )
    output.add_argument(
        "--timezone",
        metavar="ZONE",
        help="IANA zone (e.g. Europe/Berlin) for times written without one, and for showing times "
        "(default: times need a zone; shown in this machine's zone)",
    )
    output.add_argument(
        "--address",
        type=_non_empty,
        metavar="HOST:PORT",
        help="Temporal's address (default: TEMPORAL_ADDRESS, else localhost:7233)",
    )
    output.add_argument(
        "--namespace", type=_non_empty, help="Temporal namespace (default: TEMPORAL_NAMESPACE, else default)"
    )
    output.add_argument(
        "--task-queue",
        type=_non_empty,
        help="task queue the workers poll (default: ROOMKEEPER_TASK_QUEUE, else room-lifecycle)",
    )
    return common


_SCHEDULE_EPILOG = """\
examples:
  roomkeeper meeting schedule --title "Daily standup" --start "in 10m" --duration 15m
  roomkeeper meeting schedule --title Review --start "2026-12-01 09:00 Europe/Berlin" --end \\
      "2026-12-01 10:30 Europe/Berlin" --type group-small --max-participants 4 --record
  roomkeeper meeting schedule --spec standup.json --id standup-monday --start "in 1h"

Without --id, the id is the title's slug and six random characters (daily-standup-k3f9x2): running
the same command twice schedules two meetings. With --id, a repeat is recognised (same spec: nothing
changes; a different spec: refused, naming each difference).
"""


Subcommand = Callable[..., argparse.ArgumentParser]


def subcommands(parser: argparse.ArgumentParser, command_name: str) -> Subcommand:
    """A maker of ``parser``'s subcommands (``action(name, help, description, epilog=None)``), each with
    the options for output and connection; errors are prefixed ``roomkeeper <command_name> <action>``."""
    common = common_options()
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser.set_defaults(command_name=command_name)

    def action(name: str, help: str, description: str, epilog: str | None = None) -> argparse.ArgumentParser:
        sub = actions.add_parser(
            name,
            parents=[common],
            help=help,
            # Filled here: the raw formatter keeps the epilog's examples as written, descriptions too.
            description=textwrap.fill(description, 78),
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(command_name=command_name)
        return sub

    return action


def add_room_options(parser: argparse.ArgumentParser) -> None:
    """The room's flags (read back by ``room_overrides``); ``calendar add`` takes them too."""
    room = parser.add_argument_group("the room (Twilio's options; defaults in docs/meetings.md)")
    room.add_argument(
        "--type", dest="room_type", metavar="TYPE", help=", ".join(ROOM_TYPES) + " (default group)"
    )
    room.add_argument(
        "--max-participants", type=_positive_int, metavar="N", help="at most the type's cap (group: 50)"
    )
    room.add_argument(
        "--max-participant-duration",
        metavar="DURATION",
        help="evict each participant this long after they joined",
    )
    room.add_argument(
        "--empty-room-timeout",
        metavar="DURATION",
        help="Twilio ends the room this long after the last one left",
    )
    room.add_argument(
        "--unused-room-timeout",
        metavar="DURATION",
        help="Twilio ends the room this long after creation if unused",
    )
    room.add_argument(
        "--record", action=argparse.BooleanOptionalAction, help="record participants on connect"
    )
    room.add_argument(
        "--video-codec",
        action="append",
        metavar="CODEC",
        help=" or ".join(VIDEO_CODECS) + "; repeat for several (replaces the spec's list)",
    )
    room.add_argument("--media-region", metavar="REGION", help="e.g. us1, ie1, de1, gll")
    room.add_argument(
        "--audio-only", action=argparse.BooleanOptionalAction, help="no video (type group only)"
    )
    room.add_argument("--large-room", action=argparse.BooleanOptionalAction, help="Twilio's large-room mode")
    room.add_argument("--unique-name", metavar="NAME", help="the room's name (default: the meeting id)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``meeting`` subcommands, on ``parser`` (``roomkeeper meeting``)."""
    action = subcommands(parser, "meeting")
    schedule = action(
        "schedule",
        "schedule a meeting (its room opens before the start and closes at the end)",
        "Start a meeting's workflow. Times: " + _TIME_HELP + ". Flags override the --spec file's values.",
        _SCHEDULE_EPILOG,
    )
    what = schedule.add_argument_group("the meeting")
    what.add_argument("--title", help="shown in the status, the listing and the Temporal UI")
    what.add_argument("--id", dest="meeting_id", metavar="ID", help="the meeting's id (default: generated)")
    what.add_argument("--start", metavar="TIME", help="when it starts (" + _TIME_HELP + ")")
    end = what.add_mutually_exclusive_group()
    end.add_argument("--end", metavar="TIME", help="when it ends (same syntax as --start)")
    end.add_argument("--duration", metavar="DURATION", help=f"how long it lasts ({_DURATION_HELP})")
    what.add_argument(
        "--open-before", metavar="DURATION", help="open the room this long before the start (default 2m)"
    )
    what.add_argument(
        "--if-room-ends-early",
        metavar="POLICY",
        help="when Twilio ends the room before the end: recreate (default) or end_meeting",
    )
    what.add_argument(
        "--spec", metavar="FILE", help="a meeting spec as JSON (the workflow's input, e.g. from --dry-run)"
    )
    what.add_argument(
        "--dry-run", action="store_true", help="print the spec as JSON and stop (nothing is started)"
    )
    add_room_options(schedule)
    schedule.set_defaults(act=_schedule)

    status = action(
        "status",
        "a meeting's phase, room, window, participants and recent history",
        "Ask the meeting's workflow (the status query: it needs a running worker).",
    )
    status.add_argument("meeting_id", metavar="ID")
    status.set_defaults(act=_status)

    listing = action(
        "list",
        "meetings, as a table sorted by start",
        "Meetings from Temporal's visibility store (no worker needed), sorted by start. Temporal lists "
        "the most recently scheduled first: with more than --limit matches, the table holds the latest "
        "scheduled ones (narrow with --phase, --today, --from, --to).",
    )
    listing.add_argument("--phase", metavar="PHASE", help=", ".join(PHASES))
    listing.add_argument(
        "--today", action="store_true", help="starting today (in --timezone or this machine's)"
    )
    listing.add_argument("--from", dest="start_from", metavar="TIME", help="starting at or after TIME")
    listing.add_argument("--to", dest="start_to", metavar="TIME", help="starting before TIME")
    listing.add_argument(
        "--limit",
        type=_positive_int,
        default=DEFAULT_LIST_LIMIT,
        metavar="N",
        help="at most N (default %(default)s)",
    )
    listing.set_defaults(act=_list)

    extend = action(
        "extend",
        "move a meeting's end later",
        "Add whole minutes to the end (1m to 24h at a time).",
        "example:\n  roomkeeper meeting extend standup-k3f9x2 15m\n",
    )
    extend.add_argument("meeting_id", metavar="ID")
    extend.add_argument("by", metavar="DURATION", help=f"how much later ({_DURATION_HELP}; whole minutes)")
    _add_actor(extend)
    extend.set_defaults(act=_extend)

    reschedule = action(
        "reschedule",
        "move a meeting's window",
        "Move the start and/or the end (" + _TIME_HELP + "). A new --start alone keeps the meeting's "
        "length; once the room is open only the end may move.",
        'examples:\n  roomkeeper meeting reschedule standup-k3f9x2 --start "in 1h"\n'
        '  roomkeeper meeting reschedule standup-k3f9x2 --end "2026-12-01 10:00 Europe/Berlin"\n',
    )
    reschedule.add_argument("meeting_id", metavar="ID")
    reschedule.add_argument("--start", metavar="TIME", help="the new start")
    new_end = reschedule.add_mutually_exclusive_group()
    new_end.add_argument("--end", metavar="TIME", help="the new end")
    new_end.add_argument("--duration", metavar="DURATION", help="the new length, from the (new) start")
    _add_actor(reschedule)
    reschedule.set_defaults(act=_reschedule)

    end_now = action(
        "end",
        "end a meeting now (its room is completed, everyone disconnected)",
        f"The end_now update: waits up to {END_WAIT.seconds} s for the room to be completed and prints the "
        "meeting's summary.",
    )
    end_now.add_argument("meeting_id", metavar="ID")
    end_now.add_argument("--reason", help="recorded in the history and the summary")
    end_now.set_defaults(act=_end)

    cancel = action(
        "cancel",
        "cancel a meeting (no room is opened; an open one is completed)",
        "The cancel signal: before the room opens, none ever is; after, it is completed.",
    )
    cancel.add_argument("meeting_id", metavar="ID")
    cancel.add_argument("--reason", help="recorded in the history and the summary")
    cancel.set_defaults(act=_cancel)

    token = action(
        "token",
        "a Twilio join token for one participant, valid only while the meeting's room is open",
        "A Twilio Video access token for --identity in the meeting's room, valid from the room's opening "
        "to the meeting's end plus a grace, so Twilio refuses an early or late client. Signed with "
        "TWILIO_API_KEY and TWILIO_API_SECRET of TWILIO_ACCOUNT_SID; with none of them set, with the "
        "Twilio emulator's public test key (roomkeeper dev). Prints the token alone on stdout and what "
        "it allows on stderr; --json prints both. Needs a worker (it asks the meeting for its window).",
        "examples:\n  roomkeeper meeting token standup-k3f9x2 --identity alice\n"
        "  token=$(roomkeeper meeting token standup-k3f9x2 --identity alice --ttl-grace 10m)\n",
    )
    token.add_argument("meeting_id", metavar="ID")
    token.add_argument(
        "--identity", required=True, metavar="NAME", help="the participant's identity (1 to 128 characters)"
    )
    token.add_argument(
        "--ttl-grace",
        metavar="DURATION",
        help="how long after the meeting's end it stays valid (default: ROOMKEEPER_TOKEN_GRACE_SECONDS, "
        "else 5m)",
    )
    token.set_defaults(act=_token)


def build_parser() -> argparse.ArgumentParser:
    """``roomkeeper meeting`` on its own (as ``roomkeeper.cli`` builds it), for ``main_async``."""
    parser = argparse.ArgumentParser(prog="roomkeeper meeting")
    add_arguments(parser)
    return parser


# ------------------------------------------------------------------------------------------ running


@dataclass
class Run:
    """One subcommand being run: its arguments, where it writes, and its clock and zones."""

    args: argparse.Namespace
    out: TextIO
    err: TextIO
    #: Whole seconds, so "now" and "in 10m" make readable times.
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    #: The zone of ``--timezone``: for times written without one, and for showing times.
    zone: tzinfo | None = None
    address: str = ""
    task_queue: str = ""
    #: Loaded once (flags over environment) by ``settings_of``.
    settings: Settings | None = None

    @property
    def json(self) -> bool:
        return bool(self.args.json)

    def time(self, flag: str, text: str, problems: list[str]) -> datetime | None:
        try:
            return when.parse_time(text, now=self.now, zone=self.zone)
        except when.WhenError as error:
            problems.append(f"{flag}: {error}")
            return None

    def print(self, text: str) -> None:
        self.out.write(text)


def duration(flag: str, text: str, problems: list[str], *, zero_ok: bool = False) -> timedelta | None:
    try:
        return when.parse_duration(text, zero_ok=zero_ok)
    except when.WhenError as error:
        problems.append(f"{flag}: {error}")
        return None


def whole_minutes(flag: str, text: str, problems: list[str]) -> int | None:
    delta = duration(flag, text, problems)
    if delta is None:
        return None
    minutes, seconds = divmod(int(delta.total_seconds()), 60)
    if seconds:
        problems.append(f"{flag}: {text!r} is not a whole number of minutes")
        return None
    return minutes


def run(args: argparse.Namespace) -> int:
    """``roomkeeper meeting …`` in an event loop of its own; Ctrl-C ends it quietly (130).

    When the command is the whole process (``args.owns_process``, set by ``roomkeeper.cli.main`` when it
    reads the process's own arguments), the process ends here, at once: the interpreter's finalization
    races the Temporal SDK's Rust threads and now and then aborts with "Fatal Python error:
    PyGILState_Release" or a Rust panic on stderr (temporalio/sdk-python#300), turning a finished
    command into a crash. Nothing is left to clean up by then but the output, which is flushed.
    """
    try:
        code = asyncio.run(_interruptible(execute(args, sys.stdout, sys.stderr)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        code = EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (``… | head``): nothing more to say
        code = EXIT_FAILED
    if getattr(args, "owns_process", False):
        _leave(code)
    return code


async def _interruptible(command: Awaitable[int]) -> int:
    """``command``, cancelled by Ctrl-C at once wherever the signal lands.

    ``asyncio.run`` catches SIGINT with a plain ``signal.signal`` handler, which runs only when the main
    thread next wakes. The Temporal SDK's Rust threads may be the ones the kernel delivers SIGINT to;
    the main thread, asleep in the event loop until its next timer, then noticed it only when the 5 s
    connection bound ran out (exit 1 instead of 130, now and then). The loop's own signal handling
    writes to its wake-up socket from whichever thread the signal lands on.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows; not the main thread
        loop.add_signal_handler(signal.SIGINT, task.cancel)
    return await command


def _leave(code: int) -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe, a closed stream
            stream.flush()
    os._exit(code)


async def main_async(
    argv: Sequence[str],
    *,
    stdout: TextIO,
    stderr: TextIO,
    build: Callable[[], argparse.ArgumentParser] | None = None,
) -> int:
    """``roomkeeper meeting ARGV`` inside a running event loop (tests, embedding): as ``run`` does it,
    with argparse's own errors and ``--help`` written to ``stderr``/``stdout`` and returned as a status.
    ``build`` makes another command's parser (``roomkeeper calendar``'s)."""
    parser = (build or build_parser)()
    usage_out, usage_err = io.StringIO(), io.StringIO()
    try:
        # argparse writes to sys.stdout/sys.stderr itself; parsing never awaits, so nothing else runs
        # on this loop while they are redirected.
        with contextlib.redirect_stdout(usage_out), contextlib.redirect_stderr(usage_err):
            args = parser.parse_args(list(argv))
    except SystemExit as stop:
        stdout.write(usage_out.getvalue())
        stderr.write(usage_err.getvalue())
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    return await execute(args, stdout, stderr)


async def execute(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Run the parsed subcommand; every failure becomes lines on ``stderr`` and an exit status."""
    act: Callable[[Run], Awaitable[None]] = args.act
    prefix = f"roomkeeper {args.command_name} {args.action}: "
    current = Run(args, stdout, stderr)
    try:
        if args.timezone is not None:
            try:
                current.zone = when.zone_named(args.timezone)
            except when.WhenError as error:
                raise Problem(f"--timezone: {error}") from None
        await act(current)
    except Problem as problem:
        for line in problem.lines:
            stderr.write(prefix + line + "\n")
        return problem.status
    except Exception as error:
        # A bug of ours, or an error nobody foresaw: still one line (no traceback), naming its type.
        stderr.write(f"{prefix}unexpected error: {type(error).__name__}: {_first_line(error)}\n")
        return EXIT_FAILED
    return EXIT_OK


# ------------------------------------------------------------------------------------ Temporal side


async def _client(current: Run) -> MeetingClient:
    from roomkeeper.meeting_client import MeetingClient

    client, settings = await connect_temporal(current)
    return MeetingClient(client, settings.task_queue, rpc_timeout=TEMPORAL_TIMEOUT)


def settings_of(current: Run) -> Settings:
    """The settings (``--task-queue`` over the environment), loaded on first use; a problem is exit 2."""
    from common.settings import ConfigurationError, load_settings

    if current.settings is None:
        args = current.args
        overrides = {"task_queue": args.task_queue} if args.task_queue is not None else {}
        try:
            current.settings = load_settings(**overrides)
        except ConfigurationError as error:
            raise Problem(error.problems) from None
    return current.settings


async def connect_temporal(current: Run) -> tuple[Client, Settings]:
    """Settings (flags over environment), then a bounded connection to Temporal."""
    from common.settings import ConfigurationError
    from common.temporal import connect, connect_config

    args = current.args
    where = {"address": args.address, "namespace": args.namespace}
    settings = settings_of(current)
    try:
        current.address = str(connect_config(settings, **where)["target_host"])
    except ConfigurationError as error:
        raise Problem(error.problems) from None
    except Exception as error:  # Temporal's env config: a bad profile or config file
        raise Problem(f"Temporal's client configuration: {_first_line(error)}") from None
    current.task_queue = settings.task_queue
    unreachable = f"cannot reach Temporal at {current.address}: "
    try:
        # Bounded: the SDK keeps retrying a silent address for much longer than anyone waits.
        client = await asyncio.wait_for(connect(settings, **where), TEMPORAL_TIMEOUT.total_seconds())
    except TimeoutError:
        raise Problem(
            unreachable + f"no answer within {TEMPORAL_TIMEOUT.total_seconds():g} s", EXIT_FAILED
        ) from None
    except ValueError as error:  # the SDK refuses the address itself
        raise Problem(f"cannot use Temporal address {current.address!r}: {_first_line(error)}") from None
    except RuntimeError as error:
        raise Problem(unreachable + _connect_reason(error), EXIT_FAILED) from None
    return client, settings


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300]


def _connect_reason(error: RuntimeError) -> str:
    """The Rust core's connect error, e.g. ``…ConnectError("tcp connect error", …, Os { code: 111, kind:
    ConnectionRefused, message: "Connection refused" })…``, as its innermost message."""
    text = str(error)
    for pattern in (r'message: "([^"]+)"', r'error: "([^"]+)"', r'ConnectError\("([^"]+)"'):
        if found := re.search(pattern, text):
            return found.group(1)
    return _first_line(error).removeprefix("Failed client connect: ")


#: Subcommands the meeting's workflow itself answers (a query or an update): they need a worker.
_ANSWERED_BY_A_WORKER = frozenset({"status", "extend", "reschedule", "end", "token"})


async def _on_temporal(current: Run, call: Callable[[MeetingClient], Awaitable[Any]]) -> Any:
    """Connect, make ``call``, and turn the meeting client's errors into problems (status 1)."""
    from roomkeeper.meeting_client import MeetingError, MeetingNotFound, MeetingRejected, TemporalUnavailable

    meetings = await _client(current)
    try:
        return await call(meetings)
    except TemporalUnavailable as error:
        raise Problem(no_answer(current, error), EXIT_FAILED) from None
    except MeetingNotFound as error:
        raise Problem(await _not_found(meetings, str(error)), EXIT_FAILED) from None
    except MeetingRejected as error:
        message = str(error)
        if error.kind == "NOT_FOUND":  # a listing in a namespace that does not exist
            message = await _not_found(meetings, message)
        raise Problem(message, EXIT_FAILED) from None
    except MeetingError as error:
        raise Problem(str(error), EXIT_FAILED) from None


def no_answer(current: Run, error: Exception) -> str:
    said = str(error).removeprefix("Temporal did not answer").removeprefix(":").strip()
    if current.args.action not in _ANSWERED_BY_A_WORKER:
        reason = f"no answer {said}" if said.startswith("within") else said or "no answer"
        return f"cannot reach Temporal at {current.address}: {reason}"
    # Connected a moment ago: more likely no worker polls the task queue than Temporal gone.
    how = said if said.startswith("within") else f"({said})" if said else "in time"
    return (
        f"the meeting did not answer {how}: it answers only while a worker polls task queue "
        f"{current.task_queue!r} on Temporal at {current.address}; is one running?"
    )


async def _not_found(meetings: MeetingClient, message: str) -> str:
    """Temporal says NOT_FOUND for a missing namespace too: name that instead of a missing meeting."""
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.service import RPCError, RPCStatusCode

    namespace = meetings.temporal.namespace
    try:
        await meetings.temporal.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace), timeout=TEMPORAL_TIMEOUT
        )
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return f"Temporal has no namespace {namespace!r}"
    except RuntimeError:
        pass  # only a refinement of ``message``: without an answer, that stands
    return message


# ------------------------------------------------------------------------------------------ schedule


def generated_id(title: str) -> str:
    """A readable, probably unique id: the title's slug and six random characters (``standup-k3f9x2``)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:_SLUG_LENGTH].rstrip("-")
    suffix = "".join(secrets.choice(_ID_ALPHABET) for _ in range(6 if slug else 8))
    return f"{slug}-{suffix}" if slug else suffix


def read_json_object(path: str, what: str = "a meeting spec") -> dict[str, Any]:
    """The ``--spec`` file's JSON object, or a ``Problem`` saying what is wrong with the file."""
    where = f"--spec {path}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Problem(f"{where}: no such file") from None
    except IsADirectoryError:
        raise Problem(f"{where}: is a directory, not a file") from None
    except OSError as error:
        raise Problem(f"{where}: cannot be read: {error.strerror or type(error).__name__}") from None
    except UnicodeDecodeError:
        raise Problem(f"{where}: is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise Problem(f"{where}: not JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    if not isinstance(data, dict):
        raise Problem(f"{where}: must hold a JSON object ({what}), not {type(data).__name__}")
    return data


def _spec_time(data: dict[str, Any], key: str) -> datetime | None:
    """A time the spec file gives, when it reads as one (else the spec's validation names it)."""
    value = data.get(key)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def room_overrides(args: argparse.Namespace, problems: list[str]) -> dict[str, Any]:
    room: dict[str, Any] = {}
    plain = {
        "room_type": "type",
        "max_participants": "max_participants",
        "record": "record_participants_on_connect",
        "video_codec": "video_codecs",
        "media_region": "media_region",
        "audio_only": "audio_only",
        "large_room": "large_room",
        "unique_name": "unique_name",
    }
    for option, name in plain.items():
        if (value := getattr(args, option)) is not None:
            room[name] = value
    if args.max_participant_duration is not None:
        seconds = duration("--max-participant-duration", args.max_participant_duration, problems)
        if seconds is not None:
            room["max_participant_duration"] = int(seconds.total_seconds())
    for option, name in (
        ("--empty-room-timeout", "empty_room_timeout"),
        ("--unused-room-timeout", "unused_room_timeout"),
    ):
        if (text := getattr(args, name)) is not None and (minutes := whole_minutes(option, text, problems)):
            room[name] = minutes
    return room


def _spec_data(current: Run) -> dict[str, Any]:
    """The spec file (if any) with every flag applied: the workflow's input, not yet validated."""
    args = current.args
    data = read_json_object(args.spec) if args.spec else {}
    problems: list[str] = []
    if args.title is not None:
        data["title"] = args.title
    if args.meeting_id is not None:
        data["meeting_id"] = args.meeting_id
    if args.if_room_ends_early is not None:
        data["if_room_ends_early"] = args.if_room_ends_early
    if args.open_before is not None:
        before = duration("--open-before", args.open_before, problems, zero_ok=True)
        if before is not None:
            data["open_before_seconds"] = int(before.total_seconds())

    start = (
        current.time("--start", args.start, problems)
        if args.start is not None
        else _spec_time(data, "start_time")
    )
    if args.start is None and "start_time" not in data:
        problems.append("give --start (or start_time in the --spec file)")
    if args.end is not None:
        end = current.time("--end", args.end, problems)
    elif args.duration is not None:
        length = duration("--duration", args.duration, problems)
        end = start + length if start is not None and length is not None else None
    else:
        end = None
        if "end_time" not in data:
            problems.append("give --end or --duration (or end_time in the --spec file)")
        elif args.start is not None and start is not None:
            # A new --start keeps the spec's length (as reschedule does), not its absolute end.
            spec_start, spec_end = _spec_time(data, "start_time"), _spec_time(data, "end_time")
            if spec_start is not None and spec_end is not None:
                end = start + (spec_end - spec_start)
    if start is not None:
        data["start_time"] = start.isoformat()
    if end is not None:
        data["end_time"] = end.isoformat()

    room = room_overrides(args, problems)
    if room:
        given = data.get("room")
        data["room"] = {**given, **room} if isinstance(given, dict) else room
    if problems:
        raise Problem(problems)
    if not data.get("meeting_id"):
        data["meeting_id"] = generated_id(str(data.get("title") or ""))
    return data


async def _schedule(current: Run) -> None:
    from pydantic import ValidationError

    from roomkeeper import meeting_output
    from workflows.meeting_input import MeetingSpec

    try:
        spec = MeetingSpec.model_validate(_spec_data(current))
    except ValidationError as error:
        raise Problem(validation_problems(error)) from None
    if spec.end_time <= current.now:
        raise Problem(
            f"the meeting's end, {when.shown(spec.end_time, current.zone, utc_too=True)}, has already "
            "passed: nothing was started"
        )
    if current.args.dry_run:
        current.print(meeting_output.as_json(spec))
        return
    scheduled = await _on_temporal(current, lambda meetings: meetings.schedule(spec))
    if current.json:
        result = meeting_output.ScheduleResult(
            meeting_id=scheduled.meeting_id,
            workflow_id=scheduled.workflow_id,
            created=scheduled.created,
            spec=spec,
        )
        current.print(meeting_output.as_json(result))
    else:
        current.print(meeting_output.scheduled_text(spec, scheduled.created, current.zone))


# ------------------------------------------------------------------------------------ the other six


async def _status(current: Run) -> None:
    from roomkeeper import meeting_output

    status = await _on_temporal(current, lambda meetings: meetings.status(current.args.meeting_id))
    current.print(
        meeting_output.as_json(status) if current.json else meeting_output.status_text(status, current.zone)
    )


async def _list(current: Run) -> None:
    from roomkeeper import meeting_output
    from workflows.meeting_status import Phase

    args = current.args
    problems: list[str] = []
    phase = None
    if args.phase is not None:
        try:
            phase = Phase(args.phase)
        except ValueError:
            problems.append(f"--phase: unknown phase {args.phase!r} (one of {', '.join(PHASES)})")
    start_from = current.time("--from", args.start_from, problems) if args.start_from is not None else None
    start_to = current.time("--to", args.start_to, problems) if args.start_to is not None else None
    if args.today:
        if args.start_from is not None or args.start_to is not None:
            problems.append("--today cannot be combined with --from or --to")
        start_from, start_to = when.day_bounds(current.now, current.zone)
    if start_from and start_to and start_to <= start_from:
        problems.append("--to must be after --from")
    if problems:
        raise Problem(problems)

    async def listed(meetings: MeetingClient) -> tuple[list[Any], bool]:
        """Up to ``--limit`` meetings, and whether more match (one more is asked for, to know)."""
        wanted = args.limit + 1
        found: list[Any] = []
        token = None
        while True:
            page = await meetings.list_meetings(
                phase=phase,
                start_from=start_from,
                start_to=start_to,
                page_size=min(LIST_PAGE_SIZE, wanted - len(found)),
                page_token=token,
            )
            found += page.meetings
            token = page.next_page_token
            if token is None or len(found) >= wanted:
                return found[: args.limit], len(found) > args.limit

    meetings, more = await _on_temporal(current, listed)
    far_future = datetime.max.replace(tzinfo=UTC)
    meetings.sort(key=lambda m: (m.start_time or far_future, m.meeting_id))
    if current.json:
        current.print(meeting_output.listings_json(meetings))
    elif meetings:
        current.print(meeting_output.listing_table(meetings, current.zone))
    else:
        current.print("no meetings match\n")
    if more:
        current.err.write(
            f"(only the {args.limit} most recently scheduled are shown: raise --limit or narrow the "
            "listing with --phase, --today, --from or --to)\n"
        )


def _add_actor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--actor",
        metavar="NAME",
        help="who asks, shown in the meeting's history (default: cli:<your login name>)",
    )


def _actor(current: Run) -> str:
    if current.args.actor is not None:
        return str(current.args.actor)
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (some containers)
        return "cli"


async def _extend(current: Run) -> None:
    from pydantic import ValidationError

    from workflows.meeting_control import ExtendRequest

    problems: list[str] = []
    minutes = whole_minutes("extend", current.args.by, problems)
    if minutes is None:
        raise Problem(problems)
    try:
        actor = _actor(current)
        ExtendRequest(minutes=minutes, actor=actor)  # the workflow's own limits, checked before asking it
    except ValidationError as error:
        raise Problem(validation_problems(error)) from None
    status = await _on_temporal(
        current, lambda meetings: meetings.extend(current.args.meeting_id, minutes, actor=actor)
    )
    _print_window(current, "extended", status)


def _print_window(current: Run, verb: str, status: MeetingStatus) -> None:
    from roomkeeper import meeting_output

    current.print(
        meeting_output.as_json(status)
        if current.json
        else meeting_output.window_text(verb, status, current.zone)
    )


async def _reschedule(current: Run) -> None:
    from pydantic import ValidationError

    from workflows.meeting_control import RescheduleRequest

    args = current.args
    if args.start is None and args.end is None and args.duration is None:
        raise Problem("give --start, --end or --duration")
    problems: list[str] = []
    start = current.time("--start", args.start, problems) if args.start is not None else None
    end = current.time("--end", args.end, problems) if args.end is not None else None
    length = duration("--duration", args.duration, problems) if args.duration is not None else None
    if problems:
        raise Problem(problems)

    def refuse_if_past(end: datetime) -> None:
        if end <= current.now:
            raise Problem(
                f"the new end, {when.shown(end, current.zone, utc_too=True)}, has already passed: "
                "nothing changed"
            )

    if end is not None:
        refuse_if_past(end)  # before connecting: bad input is exit 2 whether Temporal is up or not

    async def reschedule(meetings: MeetingClient) -> MeetingStatus:
        nonlocal end
        if end is None:
            # The new end follows from the start (new or current) and the length (new or current).
            now = await meetings.status(args.meeting_id)
            end = (start or now.start_time) + (length or now.end_time - now.start_time)
            refuse_if_past(end)
        try:
            request = RescheduleRequest(start_time=start, end_time=end, actor=_actor(current))
        except ValidationError as error:
            raise Problem(validation_problems(error)) from None
        status: MeetingStatus = await meetings.reschedule(args.meeting_id, request)
        return status

    status = await _on_temporal(current, reschedule)
    _print_window(current, "rescheduled", status)


async def _end(current: Run) -> None:
    from roomkeeper import meeting_output

    args = current.args
    summary = await _on_temporal(
        current, lambda meetings: meetings.end(args.meeting_id, args.reason, wait=END_WAIT)
    )
    current.print(
        meeting_output.as_json(summary)
        if current.json
        else meeting_output.ended_text(args.meeting_id, summary, current.zone)
    )


async def _cancel(current: Run) -> None:
    from roomkeeper import meeting_output
    from roomkeeper.meeting_client import workflow_id

    args = current.args
    await _on_temporal(current, lambda meetings: meetings.cancel(args.meeting_id, args.reason))
    if current.json:
        result = meeting_output.CancelResult(
            meeting_id=args.meeting_id, workflow_id=workflow_id(args.meeting_id), reason=args.reason
        )
        current.print(meeting_output.as_json(result))
    else:
        current.print(
            f"cancelled {args.meeting_id}: it opens no room, and completes one already open "
            f"(see roomkeeper meeting status {args.meeting_id})\n"
        )


# --------------------------------------------------------------------------------------------- token


def join_token_issuer(current: Run) -> JoinTokenIssuer:
    """Who signs the token: the API key of the settings; with nothing of Twilio's set at all, the
    emulator's public test key, as the other defaults (Temporal on localhost) point at ``roomkeeper dev``.
    An account without an API key is a configuration problem (exit 2): Twilio would refuse the token."""
    from common.settings import ConfigurationError
    from emulator.credentials import TEST_ACCOUNT_SID, TEST_API_KEY_SECRET, TEST_API_KEY_SID
    from roomkeeper.join_tokens import JoinTokenIssuer

    settings = settings_of(current)
    try:
        return JoinTokenIssuer.from_settings(settings)
    except ConfigurationError as error:
        if settings.twilio_account_sid is not None or settings.twilio_api_key is not None:
            raise Problem(error.problems) from None
    current.err.write(
        f"roomkeeper meeting token: no TWILIO_ACCOUNT_SID or TWILIO_API_KEY set: signed with the Twilio "
        f"emulator's public test key {TEST_API_KEY_SID} (roomkeeper dev); such a token opens only the "
        "emulator\n"
    )
    return JoinTokenIssuer(
        TEST_ACCOUNT_SID,
        TEST_API_KEY_SID,
        TEST_API_KEY_SECRET,
        timedelta(seconds=settings.token_grace_seconds),
    )


async def _token(current: Run) -> None:
    from roomkeeper import meeting_output
    from roomkeeper.join_tokens import MAX_GRACE_SECONDS, TokenRequest, issue_join_token
    from twilio_video.limits import MAX_IDENTITY_LENGTH

    args = current.args
    problems: list[str] = []
    if not args.identity:
        problems.append("--identity: must not be empty")
    elif len(args.identity) > MAX_IDENTITY_LENGTH:
        problems.append(
            f"--identity: {len(args.identity)} characters; Twilio allows at most {MAX_IDENTITY_LENGTH}"
        )
    grace_seconds = None
    if args.ttl_grace is not None:
        grace = duration("--ttl-grace", args.ttl_grace, problems, zero_ok=True)
        if grace is not None and grace.total_seconds() > MAX_GRACE_SECONDS:
            longest = when.format_duration(timedelta(seconds=MAX_GRACE_SECONDS))
            problems.append(
                f"--ttl-grace: {args.ttl_grace!r} is longer than {longest}, the longest a Twilio access "
                "token may be valid"
            )
        elif grace is not None:
            grace_seconds = int(grace.total_seconds())
    if problems:
        raise Problem(problems)
    request = TokenRequest(identity=args.identity, grace_seconds=grace_seconds)
    issuer = join_token_issuer(current)
    issued = await _on_temporal(
        current,
        lambda meetings: issue_join_token(meetings, issuer, args.meeting_id, request, now=current.now),
    )
    if current.json:
        current.print(meeting_output.as_json(issued))
        return
    # The token alone on stdout, so ``token=$(roomkeeper meeting token …)`` takes it as it is.
    current.err.write(meeting_output.token_text(issued, current.zone))
    current.print(issued.token + "\n")
