"""``roomkeeper meeting`` end to end: each subcommand in-process (``main_async``) against a real Temporal
dev server, a real worker, the gateway and the emulator (``meeting_stack``)."""

from __future__ import annotations

import asyncio
import getpass
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from pydantic import TypeAdapter
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from roomkeeper import cli, meeting_cli
from roomkeeper.meeting_client import MeetingClient, MeetingListing
from roomkeeper.meeting_output import CancelResult, ScheduleResult
from roomkeeper.when import format_duration, shown
from tests.cli.support import Ran, meeting, on
from tests.support import wait_until_async
from tests.workflows.stack import Stack, meeting_stack
from twilio_video.models import RoomType, VideoCodec
from workflows.meeting import MeetingWorkflow
from workflows.meeting_input import MeetingSpec, RoomEndsEarly
from workflows.meeting_status import EndedBy, MeetingStatus, MeetingSummary, Phase

UTC_ZONE = ZoneInfo("UTC")
LISTINGS = TypeAdapter(list[MeetingListing])


@pytest_asyncio.fixture
async def stack(temporal_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(temporal_env) as running:
        yield running


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def handle(stack: Stack, meeting_id: str) -> WorkflowHandle[MeetingWorkflow, MeetingSummary]:
    return stack.env.client.get_workflow_handle_for(MeetingWorkflow.run, f"meeting-{meeting_id}")


def ok(ran: Ran) -> Ran:
    assert ran.code == 0 and ran.err == "", ran
    return ran


def test_the_cli_mirrors_the_models_enums() -> None:
    # Written out in meeting_cli so that --help needs no models; kept equal here.
    assert tuple(phase.value for phase in Phase) == meeting_cli.PHASES
    assert set(meeting_cli.ROOM_TYPES) == {kind.value for kind in RoomType}
    assert tuple(codec.value for codec in VideoCodec) == meeting_cli.VIDEO_CODECS
    assert tuple(policy.value for policy in RoomEndsEarly) == meeting_cli.ROOM_ENDS_EARLY


async def test_schedule_status_list_and_cancel_a_meeting(stack: Stack) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    ran = ok(
        await meeting(
            "schedule", "--title", "Daily standup", "--start", "in 1h", "--duration", "15m",
            "--timezone", "Europe/Berlin", "--max-participants", "6", *on(stack),
        )
    )  # fmt: skip
    headline = re.fullmatch(
        r"scheduled (daily-standup-[a-z0-9]{6}) \(Daily standup\)", ran.out.splitlines()[0]
    )
    assert headline, ran
    meeting_id = headline.group(1)
    spec = MeetingClient(stack.env.client, stack.task_queue)
    started = (await spec.memo(meeting_id))["spec"]
    start, end = datetime.fromisoformat(started["start_time"]), datetime.fromisoformat(started["end_time"])
    assert before + timedelta(hours=1) <= start <= datetime.now(UTC) + timedelta(hours=1)
    assert end - start == timedelta(minutes=15) and started["room"]["max_participants"] == 6
    berlin = ZoneInfo("Europe/Berlin")
    assert ran.out.splitlines()[1:] == [
        f"  start       {shown(start, berlin, utc_too=True)}",
        f"  end         {shown(end, berlin, utc_too=True)}",
        f"  room opens  {shown(start - timedelta(minutes=2), berlin, utc_too=True)}",
        f"  room        {meeting_id} (group, up to 6)",
        f"follow it with: roomkeeper meeting status {meeting_id}",
    ]

    ran = ok(await meeting("status", meeting_id, "--timezone", "UTC", *on(stack)))
    assert ran.out.splitlines()[:8] == [
        f"meeting    {meeting_id} (Daily standup)",
        "phase      scheduled",
        "room       none yet",
        f"start      {shown(start, UTC_ZONE)}",
        f"end        {shown(end, UTC_ZONE)}",
        f"opens at   {shown(start - timedelta(minutes=2), UTC_ZONE)}",
        "connected  nobody",
        "history:",
    ]
    assert ran.out.splitlines()[8].endswith(f"scheduled: {start.isoformat()} to {end.isoformat()}")

    ran = ok(await meeting("status", meeting_id, "--json", *on(stack)))
    assert MeetingStatus.model_validate_json(ran.out) == await spec.status(meeting_id)

    window = ["--from", (start - timedelta(seconds=1)).isoformat(), "--to", (end).isoformat()]

    async def listed() -> list[MeetingListing]:
        ran = ok(await meeting("list", "--json", *window, *on(stack)))
        return [m for m in LISTINGS.validate_json(ran.out) if m.meeting_id == meeting_id]

    [listing] = await wait_until_async(listed, lambda found: len(found) == 1, what="the meeting listed")
    assert (listing.phase, listing.title, listing.start_time) == ("scheduled", "Daily standup", start)
    ran = ok(await meeting("list", *window, "--timezone", "UTC", *on(stack)))
    row = next(line for line in ran.out.splitlines() if line.startswith(meeting_id))
    assert row.split("  ")[-1] == "Daily standup"
    assert f"scheduled  {shown(start, UTC_ZONE)}  {shown(end, UTC_ZONE)}  Daily standup" in row
    assert ran.out.splitlines()[0].split() == ["ID", "PHASE", "START", "END", "TITLE"]

    ran = ok(await meeting("cancel", meeting_id, "--reason", "host ill", "--json", *on(stack)))
    assert CancelResult.model_validate_json(ran.out) == CancelResult(
        meeting_id=meeting_id, workflow_id=f"meeting-{meeting_id}", reason="host ill"
    )
    result = await handle(stack, meeting_id).result()
    assert (result.ended_by, result.reason, result.room_sid) == (EndedBy.CANCELLED, "host ill", None)
    ran = await meeting("cancel", meeting_id, *on(stack))
    assert (ran.code, ran.out, ran.err) == (
        1,
        "",
        "roomkeeper meeting cancel: the meeting is already over (cancelled)\n",
    )


async def test_an_open_meeting_its_participants_extend_reschedule_and_end(stack: Stack) -> None:
    meeting_id = unique("open")
    ran = ok(
        await meeting(
            "schedule", "--id", meeting_id, "--title", "Open now", "--start", "now", "--duration", "30m",
            "--max-participant-duration", "45m", "--json", *on(stack),
        )
    )  # fmt: skip
    scheduled = ScheduleResult.model_validate_json(ran.out)
    assert (scheduled.meeting_id, scheduled.workflow_id, scheduled.created) == (
        meeting_id,
        f"meeting-{meeting_id}",
        True,
    )
    assert scheduled.spec.room.max_participant_duration == 45 * 60
    wf = handle(stack, meeting_id)
    await stack.wait_for(wf, lambda s: s.phase is Phase.OPEN, "the room to open")
    await stack.join(meeting_id, "alice")
    status = await stack.wait_for(wf, lambda s: len(s.participants) == 1, "alice to be seen")
    alice = status.participants[0]
    assert alice.eviction_deadline is not None
    assert alice.eviction_deadline - alice.connected_at == timedelta(minutes=45)

    ran = ok(await meeting("status", meeting_id, "--timezone", "UTC", *on(stack)))
    lines = ran.out.splitlines()
    assert "phase      open" in lines and f"room       {status.room_sid}" in lines
    assert f"opened at  {shown(status.opened_at, UTC_ZONE)}" in lines  # type: ignore[arg-type]
    assert lines[lines.index("connected  1") + 1] == (
        f"  alice  since {shown(alice.connected_at, UTC_ZONE)}, "
        f"evicted at {shown(alice.eviction_deadline, UTC_ZONE)}"
    )
    ran = ok(await meeting("status", meeting_id, "--json", *on(stack)))
    assert MeetingStatus.model_validate_json(ran.out) == await stack.status(wf)

    ran = ok(await meeting("extend", meeting_id, "15m", "--timezone", "UTC", *on(stack)))
    extended = await stack.status(wf)
    assert extended.end_time == scheduled.spec.end_time + timedelta(minutes=15)
    assert ran.out == (
        f"extended {meeting_id}: {shown(extended.start_time, UTC_ZONE)} to "
        f"{shown(extended.end_time, UTC_ZONE)} (45m), phase open\n"
    )
    ran = ok(await meeting("extend", meeting_id, "1h", "--json", "--actor", "host:ann", *on(stack)))
    assert MeetingStatus.model_validate_json(ran.out).end_time == extended.end_time + timedelta(hours=1)
    # Who extended, as the history and status show it: the login name by default, or --actor.
    actors = [e.actor for e in (await stack.status(wf)).extensions]
    assert actors == [f"cli:{getpass.getuser()}", "host:ann"]

    # Once the room is open the start stays: the workflow's own words.
    ran = await meeting("reschedule", meeting_id, "--start", "in 1h", *on(stack))
    assert (ran.code, ran.err) == (
        1,
        "roomkeeper meeting reschedule: the room is already open; only end_time can change now\n",
    )
    new_end = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    ran = ok(await meeting("reschedule", meeting_id, "--end", new_end.isoformat(), "--json", *on(stack)))
    assert MeetingStatus.model_validate_json(ran.out).end_time == new_end

    ran = ok(await meeting("end", meeting_id, "--reason", "done early", "--json", *on(stack)))
    summary = MeetingSummary.model_validate_json(ran.out)
    assert summary == await wf.result()
    assert (summary.ended_by, summary.reason, summary.identities_seen) == (
        EndedBy.END_NOW,
        "done early",
        ["alice"],
    )
    assert summary.room_sid is not None
    assert stack.emulator.state.world.rooms[summary.room_sid].status.value == "completed"
    ran = await meeting("end", meeting_id, *on(stack))
    assert (ran.code, ran.err) == (1, "roomkeeper meeting end: the meeting is already over (completed)\n")
    ran = ok(await meeting("status", meeting_id, *on(stack)))
    assert "phase      completed" in ran.out.splitlines()


async def test_reschedule_keeps_the_length_unless_told_and_end_prints_the_summary(stack: Stack) -> None:
    meeting_id = unique("move")
    ok(await meeting("schedule", "--id", meeting_id, "--start", "in 1h", "--duration", "20m", *on(stack)))
    wf = handle(stack, meeting_id)
    before = datetime.now(UTC).replace(microsecond=0)
    ran = ok(await meeting("reschedule", meeting_id, "--start", "in 2h", "--timezone", "UTC", *on(stack)))
    moved = await stack.status(wf)
    assert before + timedelta(hours=2) <= moved.start_time <= datetime.now(UTC) + timedelta(hours=2)
    assert moved.end_time - moved.start_time == timedelta(minutes=20)
    assert ran.out == (
        f"rescheduled {meeting_id}: {shown(moved.start_time, UTC_ZONE)} to "
        f"{shown(moved.end_time, UTC_ZONE)} (20m), phase scheduled\n"
    )
    ran = ok(await meeting("reschedule", meeting_id, "--duration", "1h30m", "--json", *on(stack)))
    longer = MeetingStatus.model_validate_json(ran.out)
    assert (longer.start_time, longer.end_time - longer.start_time) == (
        moved.start_time,
        timedelta(minutes=90),
    )
    assert format_duration(longer.end_time - longer.start_time) == "1h30m"

    # An end before the start: refused by the workflow's own rule, nothing changed.
    ran = await meeting(
        "reschedule", meeting_id, "--end", (moved.start_time - timedelta(minutes=1)).isoformat(), *on(stack)
    )
    assert ran.code == 1
    assert re.fullmatch(
        r"roomkeeper meeting reschedule: reschedule: input: end_time \S+ must be after start_time \S+\n",
        ran.err,
    ), ran

    ran = ok(await meeting("end", meeting_id, "--timezone", "UTC", *on(stack)))
    assert ran.out == f"ended {meeting_id} (end_now); 0 participant connection(s) seen\n"
    assert (await wf.result()).room_sid is None  # it never opened


async def test_a_spec_file_round_trips_and_a_repeat_is_recognised(stack: Stack, tmp_path: Path) -> None:
    meeting_id = unique("spec")
    # --dry-run exports the spec without Temporal; --spec takes it back, flags over its values.
    ran = ok(
        await meeting(
            "schedule", "--id", meeting_id, "--title", "From a file", "--start", "in 3h", "--duration", "1h",
            "--type", "group-small", "--video-codec", "H264", "--video-codec", "VP8", "--record",
            "--empty-room-timeout", "10m", "--unused-room-timeout", "2m", "--open-before", "5m",
            "--media-region", "de1", "--unique-name", "FromAFile", "--if-room-ends-early", "end_meeting",
            "--dry-run", "--address", "127.0.0.1:1",
        )
    )  # fmt: skip
    exported = tmp_path / "spec.json"
    exported.write_text(ran.out)
    ran = ok(await meeting("schedule", "--spec", str(exported), "--json", *on(stack)))
    result = ScheduleResult.model_validate_json(ran.out)
    assert result.created and result.spec == MeetingSpec.model_validate_json(exported.read_text())
    spec = result.spec
    assert (spec.room.type, spec.room.max_participants, spec.room.video_codecs) == (
        RoomType.GROUP_SMALL,
        4,  # the default of 10 is more than a group-small room holds: its cap
        [VideoCodec.H264, VideoCodec.VP8],
    )
    assert (spec.room.record_participants_on_connect, spec.room.empty_room_timeout) == (True, 10)
    assert (spec.room.unused_room_timeout, spec.open_before_seconds, spec.room.media_region) == (
        2,
        300,
        "de1",
    )
    assert (spec.room.unique_name, spec.if_room_ends_early) == ("FromAFile", RoomEndsEarly.END_MEETING)

    # What schedule --json printed, fed back: the same meeting, recognised; nothing started.
    again = tmp_path / "again.json"
    again.write_text(spec.model_dump_json())
    ran = ok(await meeting("schedule", "--spec", str(again), "--json", *on(stack)))
    assert ScheduleResult.model_validate_json(ran.out).created is False
    ran = ok(await meeting("schedule", "--spec", str(again), *on(stack)))
    assert ran.out.startswith(
        f"already scheduled with this spec: {meeting_id} (From a file) (nothing changed)\n"
    )

    # A flag that changes it is a conflict, each difference named.
    ran = await meeting("schedule", "--spec", str(again), "--title", "Renamed", "--no-record", *on(stack))
    assert (ran.code, ran.out) == (1, "")
    assert ran.err == (
        f"roomkeeper meeting schedule: meeting '{meeting_id}' already exists (running) with a different "
        "spec: room.record_participants_on_connect: True → False; title: 'From a file' → 'Renamed'\n"
    )


async def test_list_filters_sorts_and_follows_pages(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    # A window of its own, far ahead, so meetings of other tests on the shared server stay out of it.
    base = (datetime.now(UTC) + timedelta(days=400 + uuid.uuid4().int % 1000)).replace(
        second=0, microsecond=0
    )
    prefix = unique("list")
    ids = [f"{prefix}-{i}" for i in range(3)]
    for i, meeting_id in zip((2, 0, 1), ids, strict=True):  # scheduled out of start order
        start = base + timedelta(hours=i)
        ok(
            await meeting(
                "schedule", "--id", meeting_id, "--title", f"Meeting {i}", "--start", start.isoformat(),
                "--duration", "30m", *on(stack),
            )
        )  # fmt: skip
    ran = ok(await meeting("cancel", ids[0], *on(stack)))
    assert ran.out == (
        f"cancelled {ids[0]}: it opens no room, and completes one already open "
        f"(see roomkeeper meeting status {ids[0]})\n"
    )
    await handle(stack, ids[0]).result()
    window = ["--from", base.isoformat(), "--to", (base + timedelta(hours=3)).isoformat()]

    async def listed(*extra: str) -> list[str]:
        ran = ok(await meeting("list", "--json", *window, *extra, *on(stack)))
        return [m.meeting_id for m in LISTINGS.validate_json(ran.out)]

    by_start = [ids[1], ids[2], ids[0]]  # starts base+0h, +1h, +2h
    await wait_until_async(
        lambda: listed("--phase", "cancelled"), lambda found: found == [ids[0]], what="the cancel indexed"
    )
    assert await listed() == by_start
    assert await listed("--phase", "scheduled") == by_start[:2]

    # One meeting per page: the listing follows the page tokens up to its limit.
    monkeypatch.setattr(meeting_cli, "LIST_PAGE_SIZE", 1)
    ran = ok(await meeting("list", *window, "--timezone", "UTC", *on(stack)))
    assert [line.split()[0] for line in ran.out.splitlines()] == ["ID", *by_start]
    ran = await meeting("list", *window, "--limit", "2", *on(stack))
    assert ran.code == 0 and len(ran.out.splitlines()) == 3
    assert ran.err == (
        "(only the 2 most recently scheduled are shown: raise --limit or narrow the listing with --phase, "
        "--today, --from or --to)\n"
    )
    ran = ok(await meeting("list", "--phase", "failed", *window, *on(stack)))
    assert ran.out == "no meetings match\n"


async def test_list_today(stack: Stack) -> None:
    meeting_id = unique("today")
    ok(await meeting("schedule", "--id", meeting_id, "--start", "now", "--duration", "10m", *on(stack)))

    async def today() -> list[str]:
        ran = ok(await meeting("list", "--today", "--json", "--limit", "500", *on(stack)))
        return [m.meeting_id for m in LISTINGS.validate_json(ran.out)]

    await wait_until_async(today, lambda found: meeting_id in found, what="today's meeting listed")
    ok(await meeting("end", meeting_id, *on(stack)))


async def test_main_runs_the_subcommand_in_its_own_event_loop(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # The console script's path: roomkeeper.cli.main → asyncio.run (so here in a thread of its own).
    meeting_id = unique("main")
    argv = ["meeting", "schedule", "--id", meeting_id, "--start", "in 1h", "--duration", "5m", *on(stack)]
    assert await asyncio.to_thread(cli.main, argv) == 0
    assert capsys.readouterr().out.startswith(f"scheduled {meeting_id}\n")
    assert await asyncio.to_thread(cli.main, ["meeting", "status", meeting_id, "--json", *on(stack)]) == 0
    assert MeetingStatus.model_validate_json(capsys.readouterr().out).phase is Phase.SCHEDULED
    assert await asyncio.to_thread(cli.main, ["meeting", "cancel", meeting_id, *on(stack)]) == 0
    await handle(stack, meeting_id).result()


async def test_the_status_of_an_invalid_meeting_says_why(stack: Stack) -> None:
    # Started by hand (the temporal CLI, say) with a spec the CLI itself would have refused.
    meeting_id = unique("invalid")
    start = datetime.now(UTC) + timedelta(hours=1)
    bad = {"meeting_id": meeting_id, "start_time": start.isoformat(), "end_time": start.isoformat()}
    handle = await stack.env.client.start_workflow(
        "MeetingWorkflow", bad, id=f"meeting-{meeting_id}", task_queue=stack.task_queue
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    ran = await meeting("status", meeting_id, *on(stack))
    assert (ran.code, ran.out) == (1, ""), ran
    assert ran.err == (
        f"roomkeeper meeting status: invalid meeting: input: end_time {start.isoformat()} must be after "
        f"start_time {start.isoformat()}\n"
    )
