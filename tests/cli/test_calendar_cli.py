"""``roomkeeper calendar`` end to end: a feed file and a feed served over HTTP, a real Temporal dev server,
a real worker and the emulator; add → list → show → sync-now → remove, and the refusals."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from calendar_feeds.fetch import redacted
from roomkeeper import calendar_cli
from tests.calendar_feeds.feeds_http import Event, FeedServer
from tests.cli.support import Ran, on
from tests.support import TEST_SECRET_KEY
from tests.workflows.stack import Stack, meeting_stack
from workflows.calendar_models import FeedStatus, SyncReport, feed_workflow_id


@pytest_asyncio.fixture
async def stack(temporal_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(temporal_env) as running:
        yield running


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # The worker's key (tests.support), so what the CLI seals the worker can open; and no key file in $HOME.
    monkeypatch.setenv("ROOMKEEPER_SECRET_KEY", TEST_SECRET_KEY)


async def calendar(*argv: str) -> Ran:
    out, err = io.StringIO(), io.StringIO()
    code = await calendar_cli.main_async(list(argv), stdout=out, stderr=err)
    return Ran(code, out.getvalue(), err.getvalue())


def ok(ran: Ran) -> Ran:
    assert ran.code == 0 and ran.err == "", ran
    return ran


def tomorrow() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)


async def test_add_list_show_sync_and_remove_a_served_feed(
    stack: Stack, feed_server: tuple[FeedServer, str]
) -> None:
    server, url = feed_server
    server.events = [Event("standup@example.com", tomorrow(), rrule="FREQ=DAILY;COUNT=3", title="Standup")]
    name = f"team-{uuid.uuid4().hex[:6]}"

    added = ok(await calendar("add", "--ics", url, "--name", name, "--type", "group-small", *on(stack)))
    shown = redacted(url)  # http://127.0.0.1:<port>/…/basic.ics: the secret path segment left out
    assert shown.endswith("/…/basic.ics")
    assert added.out.startswith(f"added calendar {name}\ncalendar {name}: {shown}\n")
    assert "last sync" in added.out and "started 3, moved 0, cancelled 0, unchanged 0" in added.out
    assert "private-0123" not in added.out

    listed = ok(await calendar("list", *on(stack)))
    row = next(line for line in listed.out.splitlines() if line.startswith(name))
    assert row.split()[1:3] == [shown, "5m"] and row.split()[-1] == "3"
    as_json = ok(await calendar("list", "--json", *on(stack)))
    assert any(FeedStatus.model_validate(entry).name == name for entry in as_json.json())

    showed = ok(await calendar("show", name, "--json", *on(stack)))
    status = FeedStatus.model_validate(showed.json())
    assert [m.title for m in status.upcoming] == ["Standup"] * 3 and status.meetings_ahead == 3
    # Each meeting got the feed's room options.
    meeting = await stack.meetings.status(status.upcoming[0].meeting_id)
    assert meeting.title == "Standup"
    memo = await stack.meetings.memo(status.upcoming[0].meeting_id)
    assert memo["spec"]["room"]["type"] == "group-small" and memo["calendar"] == name

    server.events.append(Event("review@example.com", tomorrow() + timedelta(hours=5), title="Review"))
    server.changed()
    synced = ok(await calendar("sync-now", name, *on(stack)))
    assert synced.out == f"{name}: started 1, moved 0, cancelled 0, unchanged 3\n"
    report = SyncReport.model_validate(ok(await calendar("sync-now", name, "--json", *on(stack))).json())
    assert report.outcome.value == "unchanged"

    removed = ok(await calendar("remove", name, "--cancel-meetings", *on(stack)))
    assert removed.out == f"removed calendar {name}; its meetings ahead were cancelled\n"
    final = await stack.env.client.get_workflow_handle(feed_workflow_id(name)).result()
    assert final["meetings_ahead"] == 0
    gone = ok(await calendar("show", name, *on(stack)))
    assert gone.out.startswith(f"calendar {name} (removed): ")
    assert "0 meetings ahead" in gone.out


async def test_a_local_file_and_the_name_from_it(stack: Stack, tmp_path: Path) -> None:
    start = tomorrow()
    feed = tmp_path / "board-meetings.ics"
    server = FeedServer(events=[Event("board@example.com", start, minutes=90, title="Board")])
    feed.write_bytes(server.body())
    added = ok(await calendar("add", "--ics", str(feed), "--json", *on(stack)))
    status = FeedStatus.model_validate(added.json())
    assert status.name.startswith("board-meetings-") and status.source == str(feed)
    assert [(m.start, m.end) for m in status.upcoming] == [(start, start + timedelta(minutes=90))]
    again = await calendar("add", "--ics", str(feed), *on(stack))
    assert again.code == 1
    assert again.err == (
        f"roomkeeper calendar add: calendar {status.name!r} already exists; remove it first "
        f"(`roomkeeper calendar remove {status.name}`)\n"
    )
    ok(await calendar("remove", status.name, *on(stack)))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--ics", "ftp://example.com/a.ics"],
            "--ics: a feed is an http(s):// or webcal:// address, a file:// URL "
            "or an absolute path; got 'ftp://example.com/a.ics'",
        ),
        (
            ["--ics", "/x.ics", "--name", "Team!"],
            "name: String should match pattern '^[a-z0-9][a-z0-9-]*$' (got 'Team!')",
        ),
        (
            ["--ics", "/x.ics", "--name", "calcom"],
            "name: 'calcom' is reserved (the gateway's /calendars/calcom is another door) (got 'calcom')",
        ),
        (
            ["--ics", "/x.ics", "--every", "10s"],
            "--every: 10s is out of range (1m to 1d)",
        ),
        (["--ics", "/x.ics", "--horizon", "400d"], "--horizon: 400d is out of range (1h to 366d)"),
        (
            ["--ics", "/x.ics", "--every", "soon"],
            "--every: not a duration: 'soon' (write e.g. 30m, 1h, 1h30m, 90s or 2d)",
        ),
        (["--ics", "/x.ics", "--timezone", "Mars/Olympus"], "--timezone: unknown time zone 'Mars/Olympus'"),
        (
            ["--ics", "/x.ics", "--max-participants", "60"],
            "room.max_participants: 60 is out of range; allowed from 1 up to 50 for a 'group' room",
        ),
    ],
    ids=["scheme", "name", "reserved", "every-short", "horizon-long", "every-garbage", "zone", "room-cap"],
)
async def test_bad_input_is_one_line_and_exit_2(stack: Stack, argv: list[str], message: str) -> None:
    ran = await calendar("add", *argv, *on(stack))
    assert ran.code in (1, 2), ran
    assert ran.out == "" and ran.err.startswith(f"roomkeeper calendar add: {message}"), ran
    assert "Traceback" not in ran.err


async def test_unknown_calendars_are_named(stack: Stack) -> None:
    for action in ("show", "sync-now", "remove"):
        ran = await calendar(action, "nowhere", *on(stack))
        assert (ran.code, ran.err) == (1, f"roomkeeper calendar {action}: no calendar 'nowhere'\n"), ran
    assert json.loads(ok(await calendar("list", "--json", *on(stack))).out) is not None


async def test_new_key_makes_a_key_the_settings_accept() -> None:
    from common.settings import load_settings

    made = ok(await calendar("new-key"))
    key = made.out.strip()
    assert load_settings(env_file=None, secret_key=key).secret_key is not None
    assert ok(await calendar("new-key")).out.strip() != key
