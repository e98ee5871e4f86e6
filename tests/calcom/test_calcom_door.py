"""The Cal.com door end to end: signed deliveries to the real gateway (uvicorn), applied to meetings on a
real Temporal dev server by the real worker, rooms in the emulator. One meeting workflow per booking
series, at most one room at a time, whatever order or how often Cal.com delivers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from common.room_events import MeetingSignaller
from emulator.credentials import TEST_AUTH_TOKEN
from roomkeeper.calcom.bookings import meeting_id_for
from roomkeeper.calcom.event_types import parse_event_types
from roomkeeper.gateway.app import create_gateway
from roomkeeper.gateway.config import GatewayConfig
from roomkeeper.meeting_client import MeetingClient, workflow_id
from roomkeeper.serving import bind, serve
from tests.calcom.deliveries import SECRET, CalcomSender, Series
from tests.support import wait_until_async
from tests.workflows.stack import Stack, meeting_stack
from twilio_video.models import RoomStatus
from workflows.meeting_status import MeetingStatus, Phase

#: Room options for the test's event types: what an operator puts in ROOMKEEPER_CALCOM_EVENT_TYPES.
EVENT_TYPES = parse_event_types(
    {
        "default": {"open_before_seconds": 300},
        "event_types": {
            "standup": {"room": {"type": "group-small", "max_participants": 4}},
            "654321": {"open_before_seconds": 60, "room": {"audio_only": True}},
        },
    }
)


@pytest_asyncio.fixture
async def stack(temporal_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(
        temporal_env, calcom_webhook_secret=SECRET, calcom_event_types=EVENT_TYPES
    ) as running:
        yield running


@pytest.fixture
def cal(stack: Stack) -> CalcomSender:
    return CalcomSender(stack.gateway_url, stack.http)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def deliver(cal: CalcomSender, delivery: dict[str, Any], outcome: str) -> dict[str, Any]:
    """Send a delivery and check what the door says it did."""
    response = await cal.send(delivery)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["outcome"] == outcome, body
    assert body["trigger"] == delivery["triggerEvent"]
    return body


async def runs(stack: Stack, series: Series | None = None) -> list[Any]:
    """Every MeetingWorkflow execution on the stack's queue (of one series), seen by visibility (each
    run counts)."""
    query = f"TaskQueue = '{stack.task_queue}' AND WorkflowType = 'MeetingWorkflow'"
    if series is not None:
        query += f" AND WorkflowId = '{workflow_id(meeting_id_for(series.ical_uid))}'"
    return [execution async for execution in stack.env.client.list_workflows(query)]


async def one_meeting(
    stack: Stack, series: Series, *, runs_expected: int = 1, alone: bool = True
) -> MeetingStatus:
    """The series has exactly one workflow id, with ``runs_expected`` runs in all, and at most one
    room of it is in progress; returns its latest run's status. ``alone``: no other meeting exists."""
    wanted = workflow_id(meeting_id_for(series.ical_uid))

    # Visibility is eventually consistent: wait until every run shows, then nothing else may.
    found = await wait_until_async(
        lambda: runs(stack, None if alone else series),
        lambda listed: len(listed) >= runs_expected,
        within=15,
        what=f"{runs_expected} run(s) of {wanted} listed",
    )
    assert {execution.id for execution in found} == {wanted}, [execution.id for execution in found]
    assert len(found) == runs_expected, [(e.id, e.run_id, e.status) for e in found]
    assert len([e for e in found if e.status is WorkflowExecutionStatus.RUNNING]) <= 1
    assert len(rooms_in_progress(stack, series)) <= 1
    return await stack.meetings.status(meeting_id_for(series.ical_uid))


def rooms_in_progress(stack: Stack, series: Series) -> list[Any]:
    name = meeting_id_for(series.ical_uid)
    rooms = stack.emulator.state.world.rooms.values()
    return [room for room in rooms if room.unique_name == name and room.status is RoomStatus.IN_PROGRESS]


def entries(status: MeetingStatus) -> list[str]:
    return [entry.what for entry in status.history]


# ------------------------------------------------------------------------------------ the story


async def test_the_story_of_a_booking_series(stack: Stack, cal: CalcomSender) -> None:
    series = Series()
    start = now() + timedelta(hours=2)
    created = series.created(start, start + timedelta(minutes=30), uid="first-booking")
    meeting_id = meeting_id_for(series.ical_uid)

    body = await deliver(cal, created, "started")
    assert body["meeting_id"] == meeting_id and body["workflow_id"] == f"meeting-{meeting_id}"
    status = await one_meeting(stack, series)
    assert (status.start_time, status.revision, status.phase) == (start, 0, Phase.SCHEDULED)
    first_run = (await stack.env.client.get_workflow_handle(body["workflow_id"]).describe()).run_id

    # Cal.com delivers again (a retry): recognised, nothing changes.
    await deliver(cal, created, "unchanged")
    assert (await one_meeting(stack, series)).history == status.history

    # Rescheduled: a new booking (new uid) of the same series, one sequence higher.
    new_start = start + timedelta(days=1, hours=1)
    moved = series.rescheduled(created, new_start, new_start + timedelta(minutes=45), uid="second-booking")
    await deliver(cal, moved, "rescheduled")
    status = await one_meeting(stack, series)
    assert (status.start_time, status.end_time) == (new_start, new_start + timedelta(minutes=45))
    assert status.revision == 1 and status.phase is Phase.SCHEDULED
    assert status.open_at == new_start - timedelta(seconds=300)  # the [default] options
    after_move = status.history

    # The old create and the reschedule again, late: stale, nothing moves, no second run.
    await deliver(cal, created, "unchanged")
    body = await deliver(cal, moved, "stale")
    assert "not newer than the meeting's revision 1" in body["detail"]
    status = await one_meeting(stack, series)
    assert (status.start_time, status.revision, status.history) == (new_start, 1, after_move)
    described = await stack.env.client.get_workflow_handle(f"meeting-{meeting_id}").describe()
    assert described.run_id == first_run

    # Cancelled by the host: the meeting ends cancelled, without ever having had a room.
    cancel = series.cancelled(moved, reason="Project postponed")
    body = await deliver(cal, cancel, "cancelled")
    handle = stack.env.client.get_workflow_handle(f"meeting-{meeting_id}")
    result = await handle.result()
    assert result["ended_by"] == "cancelled"
    assert result["reason"] == "Cal.com: booking cancelled (Project postponed)"
    assert result["room_sid"] is None and stack.emulator.state.world.rooms == {}

    # Late or repeated deliveries after the end start nothing again.
    await deliver(cal, cancel, "ignored")
    await deliver(cal, moved, "stale")
    await deliver(cal, created, "unchanged")
    status = await one_meeting(stack, series)
    assert status.phase is Phase.CANCELLED and status.revision == 1
    memo = await stack.meetings.memo(meeting_id)
    assert memo["source"] == "calcom" and memo["booking_uid"] == "first-booking"
    assert memo["ical_uid"] == series.ical_uid and memo["ical_sequence"] == 0
    assert memo["title"] == "30 Min Meeting between Pat Host and Alex Guest"
    assert memo["organizer"] == {"name": "Pat Host", "email": "pat@example.com", "time_zone": "Europe/Berlin"}
    assert memo["attendees"] == [{"name": "Alex Guest", "email": "alex@example.org"}]


async def test_a_requested_booking_waits_for_the_hosts_confirmation(stack: Stack, cal: CalcomSender) -> None:
    series = Series()
    start = now() + timedelta(hours=3)
    requested = series.created(start, start + timedelta(minutes=30), trigger="BOOKING_REQUESTED")
    body = await deliver(cal, requested, "ignored")
    assert "confirmation" in body["detail"]
    assert await runs(stack, series) == []

    confirmed = dict(requested, triggerEvent="BOOKING_CREATED")
    await deliver(cal, confirmed, "started")
    status = await one_meeting(stack, series)
    assert status.phase is Phase.SCHEDULED and status.start_time == start
    await stack.meetings.cancel(status.meeting_id)


@pytest.mark.parametrize(
    "trigger", ["MEETING_STARTED", "MEETING_ENDED", "BOOKING_REJECTED", "PING", "OOO_CREATED"]
)
async def test_other_triggers_are_acknowledged_and_ignored(
    stack: Stack, cal: CalcomSender, trigger: str
) -> None:
    series = Series()
    start = now() + timedelta(hours=1)
    delivery = series.created(start, start + timedelta(minutes=30), trigger=trigger)
    body = await deliver(cal, delivery, "ignored")
    assert body == {
        "trigger": trigger,
        "outcome": "ignored",
        "detail": f"roomkeeper does nothing on {trigger}",
    }
    assert await runs(stack, series) == []


async def test_concurrent_deliveries_to_two_gateways_make_one_meeting_at_the_newest_revision(
    stack: Stack, cal: CalcomSender
) -> None:
    # A second gateway on the same Temporal: its own process in production, so no shared lock.
    config = GatewayConfig(
        public_url="http://gateway-b.example", auth_token=TEST_AUTH_TOKEN, calcom_webhook_secret=SECRET
    )
    other = create_gateway(
        config, MeetingSignaller(stack.env.client), MeetingClient(stack.env.client, stack.task_queue)
    )
    sock = bind()
    server, serving = await serve(other, sock)
    try:
        other_cal = CalcomSender(f"http://127.0.0.1:{sock.getsockname()[1]}", stack.http)
        start = now() + timedelta(hours=4)
        series = [Series() for _ in range(3)]
        for one in series:
            created = one.created(start, start + timedelta(minutes=30))
            moved = one.rescheduled(created, start + timedelta(hours=1), start + timedelta(hours=2))
            responses = await asyncio.gather(
                cal.send(created), other_cal.send(created), cal.send(moved), other_cal.send(moved)
            )
            outcomes = sorted(response.json()["outcome"] for response in responses)
            assert all(response.status_code == 200 for response in responses), outcomes
            assert set(outcomes) <= {"started", "unchanged", "rescheduled", "stale"}, outcomes
        for one in series:
            status = await one_meeting(stack, one, alone=False)
            assert (status.revision, status.start_time) == (1, start + timedelta(hours=1))
            await stack.meetings.cancel(status.meeting_id)
    finally:
        server.should_exit = True
        await serving


# ----------------------------------------------------------------------------- with a room open


async def open_now(stack: Stack, cal: CalcomSender, series: Series, **payload: Any) -> dict[str, Any]:
    """A booking that started a minute ago: its room opens at once."""
    start = now() - timedelta(minutes=1)
    created = series.created(start, start + timedelta(minutes=30), **payload)
    await deliver(cal, created, "started")
    handle = stack.env.client.get_workflow_handle(workflow_id(meeting_id_for(series.ical_uid)))
    await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")
    return created


async def test_a_cancel_completes_the_open_room(stack: Stack, cal: CalcomSender) -> None:
    series = Series(event_type="standup", event_type_id=999)
    created = await open_now(stack, cal, series)
    [room] = rooms_in_progress(stack, series)
    assert (room.options.type.value, room.options.max_participants) == ("group-small", 4)  # by its slug
    await stack.join(room.unique_name, "alex")

    await deliver(cal, series.cancelled(created), "cancelled")
    result = await stack.env.client.get_workflow_handle(workflow_id(room.unique_name)).result()
    assert result["ended_by"] == "cancelled" and result["room_sid"] == room.sid
    assert stack.emulator.state.world.rooms[room.sid].status is RoomStatus.COMPLETED


async def test_a_reschedule_to_a_later_window_ends_the_open_meeting_and_waits_for_the_new_one(
    stack: Stack, cal: CalcomSender
) -> None:
    series = Series(event_type="other", event_type_id=654321)  # by its id: opens 60 s early
    created = await open_now(stack, cal, series)
    [room] = rooms_in_progress(stack, series)
    assert room.options.audio_only is True
    first = await stack.env.client.get_workflow_handle(workflow_id(room.unique_name)).describe()

    later = now() + timedelta(hours=5)
    moved = series.rescheduled(created, later, later + timedelta(minutes=30))
    body = await deliver(cal, moved, "replaced")
    assert f"rescheduled to {later.isoformat()}" in body["detail"]
    assert stack.emulator.state.world.rooms[room.sid].status is RoomStatus.COMPLETED
    status = await one_meeting(stack, series, runs_expected=2)
    assert (status.phase, status.start_time, status.revision) == (Phase.SCHEDULED, later, 1)
    assert status.open_at == later - timedelta(seconds=60)
    ended = await stack.env.client.get_workflow_handle(first.id, run_id=first.run_id).result()
    assert (ended["ended_by"], ended["reason"]) == ("end_now", f"rescheduled to {later.isoformat()}")

    # Delivered again: the new run is that booking; the first booking is older. Nothing moves.
    await deliver(cal, moved, "unchanged")
    await deliver(cal, created, "stale")
    assert (await one_meeting(stack, series, runs_expected=2)).start_time == later
    await stack.meetings.cancel(status.meeting_id)


async def test_a_reschedule_whose_window_has_begun_keeps_the_open_room_and_moves_its_end(
    stack: Stack, cal: CalcomSender
) -> None:
    series = Series()
    created = await open_now(stack, cal, series)
    [room] = rooms_in_progress(stack, series)
    start = now() + timedelta(minutes=2)  # within open_before_seconds: its room would be open now
    moved = series.rescheduled(created, start, start + timedelta(hours=1))
    body = await deliver(cal, moved, "rescheduled")
    assert "the room is open: it stays" in body["detail"]
    status = await one_meeting(stack, series)
    assert (status.phase, status.room_sid, status.revision) == (Phase.OPEN, room.sid, 1)
    assert status.end_time == start + timedelta(hours=1)
    await stack.meetings.end(status.meeting_id)


# ------------------------------------------------------------------------------- request reschedule


async def test_a_hosts_request_to_reschedule_cancels_and_the_new_booking_starts_a_new_run(
    stack: Stack, cal: CalcomSender
) -> None:
    series = Series()
    start = now() + timedelta(hours=1)
    created = series.created(start, start + timedelta(minutes=30))
    await deliver(cal, created, "started")

    # The host asks the attendee to pick another time: Cal.com cancels, sequence + 1.
    request = series.cancelled(created, request_reschedule=True, reason="I am travelling")
    body = await deliver(cal, request, "cancelled")
    assert body["detail"].startswith("the host asked for a new time")
    meeting_id = meeting_id_for(series.ical_uid)
    first = await stack.env.client.get_workflow_handle(workflow_id(meeting_id)).result()
    assert first["reason"] == "Cal.com: the host asked the attendee to book a new time (I am travelling)"

    # The attendee books again: the same series, the same sequence as the cancel (getICalSequence).
    new_start = start + timedelta(days=2)
    rebooked = series.created(new_start, new_start + timedelta(minutes=30), sequence=1)
    await deliver(cal, rebooked, "restarted")
    status = await one_meeting(stack, series, runs_expected=2)
    assert (status.phase, status.start_time, status.revision) == (Phase.SCHEDULED, new_start, 1)

    # The request's cancel again, late: it cancels revision 0, older than the new run's; ignored.
    await deliver(cal, request, "cancelled")
    await stack.wait_for(
        stack.env.client.get_workflow_handle(workflow_id(meeting_id)),
        lambda s: "ignored a stale cancel (revision 0; the meeting is at revision 1)" in entries(s),
        "the stale cancel to be noted",
    )
    assert (await one_meeting(stack, series, runs_expected=2)).phase is Phase.SCHEDULED
    await deliver(cal, created, "stale")
    await stack.meetings.cancel(meeting_id)


async def test_a_cancel_that_overtakes_its_booking_leaves_the_booking_nothing_to_start(
    stack: Stack, cal: CalcomSender
) -> None:
    series = Series()
    start = now() - timedelta(minutes=1)  # would open at once, were it started
    created = series.created(start, start + timedelta(minutes=30))
    await deliver(cal, series.cancelled(created), "cancelled")
    meeting_id = meeting_id_for(series.ical_uid)
    result = await stack.env.client.get_workflow_handle(workflow_id(meeting_id)).result()
    assert (result["ended_by"], result["room_sid"]) == ("cancelled", None)

    # The booking arrives late: the meeting it would start exists, cancelled, so nothing starts.
    await deliver(cal, created, "unchanged")
    status = await one_meeting(stack, series)
    assert status.phase is Phase.CANCELLED and stack.emulator.state.world.rooms == {}


async def test_a_cancel_without_a_sequence_cancels_a_running_meeting_and_nothing_else(
    stack: Stack, cal: CalcomSender
) -> None:
    series = Series()
    start = now() + timedelta(hours=1)
    created = series.created(start, start + timedelta(minutes=30))
    unnumbered = series.cancelled(created)
    del unnumbered["payload"]["iCalSequence"]  # as older Cal.com builds send it
    body = await deliver(cal, unnumbered, "ignored")
    assert body["detail"] == "no meeting was started for this booking"
    assert await runs(stack, series) == []

    await deliver(cal, created, "started")
    await deliver(cal, series.rescheduled(created, start, start + timedelta(hours=1)), "rescheduled")
    body = await deliver(cal, unnumbered, "cancelled")
    assert body["detail"] == "the booking was cancelled: cancel sent"
    result = await stack.env.client.get_workflow_handle(workflow_id(meeting_id_for(series.ical_uid))).result()
    assert result["ended_by"] == "cancelled"
