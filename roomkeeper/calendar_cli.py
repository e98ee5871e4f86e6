"""``roomkeeper calendar``: iCalendar feeds whose events become meetings, kept in sync (docs/calendars.md).

Built like ``roomkeeper meeting`` (``roomkeeper.meeting_cli``): the same options for output and
connection, the same one-line errors and exit statuses (0 done, 1 did not happen, 2 bad input, 130
Ctrl-C), on ``roomkeeper.calendar_client.CalendarClient``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from roomkeeper import meeting_cli, when
from roomkeeper.meeting_cli import EXIT_FAILED, Problem, Run

if TYPE_CHECKING:
    from roomkeeper.calendar_client import CalendarClient
    from workflows.calendar_models import FeedStatus, SyncReport

#: How long ``add`` waits for the feed's first sync before saying it is still running.
FIRST_SYNC_WAIT = timedelta(seconds=30)

_ADD_EPILOG = """\
examples:
  roomkeeper calendar add --ics 'https://calendar.google.com/calendar/ical/…/private-…/basic.ics' \\
      --name team --every 5m --horizon 14d --type group-small
  roomkeeper calendar add --ics /srv/exports/board.ics --name board --timezone Europe/Berlin

The address is sealed with ROOMKEEPER_SECRET_KEY before it reaches Temporal (see docs/calendars.md).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``calendar`` subcommands, on ``parser`` (``roomkeeper calendar``)."""
    action = meeting_cli.subcommands(parser, "calendar")

    add = action(
        "add",
        "keep a calendar feed's events as meetings",
        "Start syncing an iCalendar feed: every occurrence in the horizon becomes a meeting; moved, "
        "removed and cancelled ones follow. --timezone places the feed's floating times (when it has no "
        "X-WR-TIMEZONE).",
        _ADD_EPILOG,
    )
    feed = add.add_argument_group("the feed")
    feed.add_argument(
        "--ics", required=True, metavar="URL|PATH", help="http(s)://, webcal://, file:// or a path"
    )
    feed.add_argument("--name", help="1-40 of a-z 0-9 - (default: from the address)")
    feed.add_argument("--every", default="5m", metavar="DURATION", help="how often to fetch (default 5m)")
    feed.add_argument("--horizon", default="14d", metavar="DURATION", help="how far ahead (default 14d)")
    feed.add_argument("--include-all-day", action="store_true", help="make all-day events meetings")
    feed.add_argument("--include-free", action="store_true", help="make events marked free meetings")
    feed.add_argument(
        "--default-duration", metavar="DURATION", help="length of events without an end (default 30m)"
    )
    feed.add_argument(
        "--open-before", metavar="DURATION", help="open each room this long before the start (default 2m)"
    )
    feed.add_argument("--if-room-ends-early", metavar="POLICY", help="recreate (default) or end_meeting")
    feed.add_argument(
        "--spec",
        metavar="FILE",
        help="the meetings' options as JSON: {open_before_seconds, room, if_room_ends_early}",
    )
    meeting_cli.add_room_options(add)
    add.set_defaults(act=_add)

    new_key = action(
        "new-key",
        "print a new ROOMKEEPER_SECRET_KEY",
        "A new Fernet key for ROOMKEEPER_SECRET_KEY (calendar addresses are sealed with it). To rotate, "
        "put the new key first and keep the old one after a comma until no feed needs it.",
    )
    new_key.set_defaults(act=_new_key)

    listing = action("list", "the calendars and how their last sync went", "Every calendar being synced.")
    listing.set_defaults(act=_list)

    show = action("show", "a calendar's last sync and upcoming meetings", "Ask the calendar's workflow.")
    show.add_argument("name", metavar="NAME")
    show.set_defaults(act=_show)

    sync = action("sync-now", "sync a calendar at once", "Fetch and reconcile now; prints what changed.")
    sync.add_argument("name", metavar="NAME")
    sync.set_defaults(act=_sync_now)

    remove = action(
        "remove",
        "stop syncing a calendar",
        "Stop syncing; its meetings keep running unless --cancel-meetings is given.",
    )
    remove.add_argument("name", metavar="NAME")
    remove.add_argument(
        "--cancel-meetings",
        action="store_true",
        help="also cancel every meeting it started that has not ended",
    )
    remove.set_defaults(act=_remove)


def build_parser() -> argparse.ArgumentParser:
    """``roomkeeper calendar`` on its own, for ``main_async``."""
    parser = argparse.ArgumentParser(prog="roomkeeper calendar")
    add_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    return meeting_cli.run(args)


async def main_async(argv: list[str], *, stdout: TextIO, stderr: TextIO) -> int:
    """``roomkeeper calendar ARGV`` inside a running event loop (tests, embedding)."""
    return await meeting_cli.main_async(argv, stdout=stdout, stderr=stderr, build=build_parser)


# --------------------------------------------------------------------------------------- Temporal


async def _on_temporal(current: Run, call: Callable[[CalendarClient], Awaitable[Any]]) -> Any:
    from common.sealing import Sealer, SealingError
    from common.settings import load_settings, reveal
    from roomkeeper.calendar_client import CalendarClient
    from roomkeeper.meeting_client import MeetingError, TemporalUnavailable

    client, settings = await meeting_cli.connect_temporal(current)
    try:
        sealer = Sealer.from_setting(reveal(load_settings().secret_key))
    except SealingError as error:
        raise Problem(str(error)) from None
    calendars = CalendarClient(client, settings.task_queue, sealer, rpc_timeout=meeting_cli.TEMPORAL_TIMEOUT)
    try:
        return await call(calendars)
    except TemporalUnavailable as error:
        raise Problem(meeting_cli.no_answer(current, error), EXIT_FAILED) from None
    except MeetingError as error:
        raise Problem(str(error), EXIT_FAILED) from None


# -------------------------------------------------------------------------------------------- add


def default_name(source: str) -> str:
    """A name from the address: its file's or host's slug and 4 hex digits of the address."""
    parts = urlsplit(source)
    stem = Path(parts.path).stem if parts.path and parts.path != "/" else ""
    base = stem if stem and stem not in ("basic", "calendar", "ical", "feed") else parts.hostname or stem
    slug = re.sub(r"[^a-z0-9]+", "-", (base or "calendar").lower()).strip("-")[:30].strip("-") or "calendar"
    return f"{slug}-{hashlib.sha256(source.encode()).hexdigest()[:4]}"


def _template(current: Run, problems: list[str]) -> dict[str, Any]:
    args = current.args
    data = meeting_cli.read_json_object(args.spec, "meetings' options") if args.spec else {}
    if args.if_room_ends_early is not None:
        data["if_room_ends_early"] = args.if_room_ends_early
    if args.open_before is not None:
        before = meeting_cli.duration("--open-before", args.open_before, problems, zero_ok=True)
        if before is not None:
            data["open_before_seconds"] = int(before.total_seconds())
    room = meeting_cli.room_overrides(args, problems)
    if room:
        given = data.get("room")
        data["room"] = {**given, **room} if isinstance(given, dict) else room
    return data


async def _add(current: Run) -> None:
    from pydantic import ValidationError

    from calendar_feeds.models import FeedOptions
    from workflows.calendar_models import CalendarFeed, MeetingTemplate

    args = current.args
    problems: list[str] = []
    every = meeting_cli.duration("--every", args.every, problems)
    horizon = meeting_cli.duration("--horizon", args.horizon, problems)
    length = (
        meeting_cli.duration("--default-duration", args.default_duration, problems)
        if args.default_duration is not None
        else None
    )
    for flag, given, low, high in (
        ("--every", every, timedelta(minutes=1), timedelta(days=1)),
        ("--horizon", horizon, timedelta(hours=1), timedelta(days=366)),
    ):
        if given is not None and not low <= given <= high:
            problems.append(
                f"{flag}: {when.format_duration(given)} is out of range "
                f"({when.format_duration(low)} to {when.format_duration(high)})"
            )
    template_data = _template(current, problems)
    if problems:
        raise Problem(problems)
    from calendar_feeds.fetch import validate_source
    from calendar_feeds.models import FeedError

    try:
        validate_source(args.ics)
    except FeedError as error:
        raise Problem(f"--ics: {error}") from None
    name = args.name or default_name(args.ics)
    try:
        options = FeedOptions(
            horizon=horizon,
            timezone=args.timezone,
            include_all_day=args.include_all_day,
            include_free=args.include_free,
            **({"default_duration": length} if length is not None else {}),
        )
        template = MeetingTemplate.model_validate(template_data)
        # Name and period as the workflow will check them, before anything is started.
        CalendarFeed(name=name, source="-", source_shown="-", every=every, options=options, template=template)
    except ValidationError as error:
        raise Problem(meeting_cli.validation_problems(error)) from None
    assert every is not None

    async def add(calendars: CalendarClient) -> FeedStatus | None:
        await calendars.add(name, args.ics, every=every, options=options, template=template)
        return await calendars.first_sync(name, FIRST_SYNC_WAIT)

    status = await _on_temporal(current, add)
    failed = status is not None and status.last is not None and status.last.outcome.value == "failed"
    if current.json:
        current.print(
            status.model_dump_json(indent=2) + "\n" if status else json.dumps({"name": name}) + "\n"
        )
    else:
        current.print(f"added calendar {name}\n")
        current.print(
            feed_text(status, current)
            if status is not None
            else f"its first sync is still running: see `roomkeeper calendar show {name}`\n"
        )
    if failed:
        assert status is not None and status.last is not None
        raise Problem(
            f"calendar {name} was added, but its first sync failed: {status.last.message} "
            f"(it is tried again every period; `roomkeeper calendar remove {name}` drops it)",
            EXIT_FAILED,
        )


# ---------------------------------------------------------------------------- list, show, sync, remove


async def _new_key(current: Run) -> None:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    current.print(json.dumps({"key": key}) + "\n" if current.json else key + "\n")


async def _list(current: Run) -> None:
    summaries = await _on_temporal(current, lambda calendars: calendars.list())
    if current.json:
        current.print(
            json.dumps(
                [
                    s.status.model_dump(mode="json") if s.status else {"name": s.name, "problem": s.problem}
                    for s in summaries
                ],
                indent=2,
            )
            + "\n"
        )
        return
    if not summaries:
        current.print("no calendars (add one with `roomkeeper calendar add --ics URL`)\n")
        return
    rows: list[tuple[str, ...]] = [("NAME", "SOURCE", "EVERY", "LAST SYNC", "RESULT", "AHEAD")]
    for summary in summaries:
        status = summary.status
        if status is None:
            rows.append((summary.name, "?", "?", "?", f"no answer: {summary.problem}", "?"))
            continue
        last = status.last
        rows.append(
            (
                status.name,
                status.source,
                when.format_duration(status.every),
                when.shown(last.at, current.zone) if last else "never",
                _result(last) if last else "-",
                str(status.meetings_ahead),
            )
        )
    current.print(_table(rows))


async def _show(current: Run) -> None:
    status = await _on_temporal(current, lambda calendars: calendars.status(current.args.name))
    current.print(status.model_dump_json(indent=2) + "\n" if current.json else feed_text(status, current))


async def _sync_now(current: Run) -> None:
    report = await _on_temporal(current, lambda calendars: calendars.sync_now(current.args.name))
    current.print(
        report.model_dump_json(indent=2) + "\n"
        if current.json
        else f"{current.args.name}: {_result(report)}\n" + _skipped(report)
    )
    if report.outcome.value == "failed":
        raise Problem("the sync failed; nothing was changed (it is tried again every period)", EXIT_FAILED)


async def _remove(current: Run) -> None:
    args = current.args
    status = await _on_temporal(
        current, lambda calendars: calendars.remove(args.name, cancel_meetings=args.cancel_meetings)
    )
    if current.json:
        current.print(status.model_dump_json(indent=2) + "\n")
    elif args.cancel_meetings:
        current.print(f"removed calendar {args.name}; its meetings ahead were cancelled\n")
    else:
        current.print(
            f"removed calendar {args.name}; its {status.meetings_ahead} meetings ahead keep running "
            "(cancel them with --cancel-meetings)\n"
        )


# ----------------------------------------------------------------------------------------- output


def _result(report: SyncReport) -> str:
    if report.outcome.value == "failed":
        return f"failed: {report.message}"
    if report.outcome.value == "unchanged":
        return "unchanged"
    text = (
        f"started {report.started}, moved {report.moved}, cancelled {report.cancelled}, "
        f"unchanged {report.unchanged}"
    )
    if report.refused:
        text += f", refused {report.refused}: {report.message}"
    return text


def _skipped(report: SyncReport) -> str:
    return "".join(f"  skipped {s.uid}: {s.reason}\n" for s in report.skipped)


def feed_text(status: FeedStatus, current: Run) -> str:
    zone = current.zone
    lines = [
        f"calendar {status.name}{' (removed)' if status.removed else ''}: {status.source}",
        f"  every {when.format_duration(status.every)}, {when.format_duration(status.horizon)} ahead",
    ]
    if status.last is not None:
        lines.append(f"  last sync {when.shown(status.last.at, zone)}: {_result(status.last)}")
    if status.failing_since is not None:
        lines.append(f"  failing since {when.shown(status.failing_since, zone)}")
    if status.next_sync_at is not None:
        lines.append(f"  next sync {when.shown(status.next_sync_at, zone)}")
    lines.append(f"  {status.meetings_ahead} meetings ahead")
    for meeting in status.upcoming:
        mark = " (cancelled)" if meeting.cancelled else ""
        lines.append(f"    {when.shown(meeting.start, zone)}  {meeting.meeting_id}  {meeting.title}{mark}")
    text = "\n".join(lines) + "\n"
    return text + (_skipped(status.last) if status.last else "")


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
        for row in rows
    )
