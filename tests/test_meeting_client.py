"""The meeting client every door uses: idempotent starts, updates, listing, and Temporal's errors in words."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta, timezone
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from common.temporal import DATA_CONVERTER
from roomkeeper.meeting_client import (
    MeetingClient,
    MeetingNotFound,
    MeetingRejected,
    SpecConflict,
    TemporalUnavailable,
    canonical,
)
from roomkeeper.serving import bind
from tests.support import wait_until_async
from tests.temporal_env import TEMPORAL_CLI
from tests.workflows.helpers import meeting
from tests.workflows.stack import Stack, meeting_stack
from workflows.meeting_control import RescheduleRequest
from workflows.meeting_status import Phase


@pytest_asyncio.fixture
async def stack(temporal_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(temporal_env) as running:
        yield running


@pytest.fixture
def meetings(stack: Stack) -> MeetingClient:
    return MeetingClient(stack.env.client, stack.task_queue)


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def test_a_repeated_start_is_recognised_and_a_different_one_is_a_conflict(
    meetings: MeetingClient,
) -> None:
    spec = meeting(unique("idem"))
    first = await meetings.schedule(spec, memo={"source": "test"})
    again = await meetings.schedule(spec)
    assert (first.created, again.created) == (True, False)
    assert first.workflow_id == again.workflow_id == f"meeting-{spec.meeting_id}"

    # The same instant written in another zone is the same meeting.
    other_zone = spec.model_copy(update={"start_time": spec.start_time.astimezone(timezone_plus_2())})
    assert (await meetings.schedule(other_zone)).created is False

    changed = spec.model_copy(update={"title": "Renamed", "end_time": spec.end_time + timedelta(minutes=15)})
    with pytest.raises(SpecConflict) as conflict:
        await meetings.schedule(changed)
    assert conflict.value.state == "running"
    assert conflict.value.differences == [
        f"end_time: {canonical(spec)['end_time']!r} → {canonical(changed)['end_time']!r}",
        f"title: {spec.title!r} → 'Renamed'",
    ]
    assert str(conflict.value).startswith(f"meeting '{spec.meeting_id}' already exists (running)")
    memo = await meetings.memo(spec.meeting_id)
    assert memo["source"] == "test" and memo["spec"] == canonical(spec)


def timezone_plus_2() -> timezone:
    return timezone(timedelta(hours=2))


async def test_status_updates_and_their_rejections(meetings: MeetingClient) -> None:
    spec = meeting(unique("steer"))
    await meetings.schedule(spec)
    status = await meetings.status(spec.meeting_id)
    assert status.phase is Phase.SCHEDULED and status.end_time == spec.end_time

    extended = await meetings.extend(spec.meeting_id, 15)
    assert extended.end_time == spec.end_time + timedelta(minutes=15)

    with pytest.raises(MeetingRejected) as rejected:
        await meetings.reschedule(spec.meeting_id, RescheduleRequest(end_time=spec.start_time))
    assert str(rejected.value).startswith("reschedule: ")
    assert "must be after start_time" in str(rejected.value)

    await meetings.cancel(spec.meeting_id, reason="not needed")
    handle = meetings.temporal.get_workflow_handle(f"meeting-{spec.meeting_id}")
    assert (await handle.result())["ended_by"] == "cancelled"
    with pytest.raises(MeetingRejected, match=r"^the meeting is already over \(cancelled\)$"):
        await meetings.extend(spec.meeting_id, 5)
    with pytest.raises(MeetingRejected, match=r"^the meeting is already over \(cancelled\)$"):
        await meetings.cancel(spec.meeting_id)


async def test_unknown_meetings_are_named(meetings: MeetingClient) -> None:
    missing = unique("nobody")
    message = rf"^no meeting '{missing}' \(no workflow 'meeting-{missing}'\)$"
    with pytest.raises(MeetingNotFound, match=message):
        await meetings.status(missing)
    with pytest.raises(MeetingNotFound, match=message):
        await meetings.extend(missing, 5)
    with pytest.raises(MeetingNotFound, match=message):
        await meetings.cancel(missing)


async def test_listing_filters_by_phase_and_start_and_pages(stack: Stack, meetings: MeetingClient) -> None:
    prefix = unique("list")
    specs = [meeting(f"{prefix}-{i}", starts_in=timedelta(days=30, hours=i)) for i in range(3)]
    for spec in specs:
        await meetings.schedule(spec)
    await meetings.cancel(specs[2].meeting_id)
    await meetings.temporal.get_workflow_handle(f"meeting-{specs[2].meeting_id}").result()

    async def listed(**query) -> list[str]:
        ids: list[str] = []
        token = None
        while True:
            page = await meetings.list_meetings(**query, page_size=1, page_token=token)
            ids += [m.meeting_id for m in page.meetings if m.meeting_id.startswith(prefix)]
            if page.next_page_token is None:
                return sorted(ids)
            token = page.next_page_token

    window: dict[str, Any] = {
        "start_from": specs[0].start_time,
        "start_to": specs[2].start_time + timedelta(seconds=1),
    }
    # Visibility is eventually consistent: wait for the cancelled phase to be indexed.
    await wait_until_async(
        lambda: listed(phase=Phase.CANCELLED, **window), lambda ids: ids == [specs[2].meeting_id]
    )
    assert await listed(phase=Phase.SCHEDULED, **window) == [specs[0].meeting_id, specs[1].meeting_id]
    assert await listed(
        start_from=specs[1].start_time, start_to=specs[2].start_time + timedelta(seconds=1)
    ) == [specs[1].meeting_id, specs[2].meeting_id]
    page = await meetings.list_meetings(phase=Phase.SCHEDULED, **window)
    first = next(m for m in page.meetings if m.meeting_id == specs[0].meeting_id)
    assert first.title == specs[0].title and first.start_time == specs[0].start_time
    for forged in ("%%%", "bm90IGEgdG9rZW4="):  # not base64; base64 of "not a token"
        with pytest.raises(ValueError, match="page_token is not one this listing returned"):
            await meetings.list_meetings(page_token=forged)


async def test_temporal_down_is_unavailable_not_a_crash() -> None:
    # Never reachable (a lazy client connects on its first call) ...
    sock = bind()
    port = sock.getsockname()[1]
    sock.close()
    never = await Client.connect(f"127.0.0.1:{port}", lazy=True, data_converter=DATA_CONVERTER)
    # ... and gone after connecting: a dev server of its own, stopped.
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI),
        data_converter=DATA_CONVERTER,
        dev_server_log_level="error",
    )
    await env.shutdown()
    for client in (never, env.client):
        meetings = MeetingClient(client, "nowhere", rpc_timeout=timedelta(seconds=0.5))
        with pytest.raises(TemporalUnavailable, match=r"^Temporal did not answer"):
            await meetings.status("x")
        with pytest.raises(TemporalUnavailable, match=r"^Temporal did not answer"):
            await meetings.schedule(meeting("x"))
        with pytest.raises(TemporalUnavailable, match=r"^Temporal did not answer"):
            await meetings.list_meetings()
        with pytest.raises(TemporalUnavailable, match=r"^Temporal did not answer"):
            await meetings.extend("x", 5)
        with pytest.raises(TemporalUnavailable, match=r"^Temporal did not answer"):
            await meetings.end("x")
        with pytest.raises(TemporalUnavailable, match=r"^Temporal did not answer"):
            await meetings.cancel("x")
