"""A meeting's whole life on a time-skipping Temporal server, the real worker, gateway and emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest_asyncio
from prometheus_client import REGISTRY
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.testing import WorkflowEnvironment

from common.search_attributes import MEETING_STATUS, ROOM_SID
from tests.workflows.helpers import meeting as make_meeting
from tests.workflows.stack import Stack, meeting_stack
from workflows.meeting_status import Phase


def metric(name: str, stack: Stack, **labels: str) -> float:
    """A sample of the worker's Prometheus registry, for this test's task queue (0 when absent)."""
    value = REGISTRY.get_sample_value(name, {"task_queue": stack.task_queue, **labels})
    return value or 0.0


@pytest_asyncio.fixture
async def stack(skipping_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(skipping_env) as running:
        yield running


async def test_full_story_with_an_overstayer_evicted_on_time(stack: Stack) -> None:
    # The defaults a user gets: the room opens open_before_seconds=120 before the start.
    meeting = make_meeting("story", room={"max_participant_duration": 600})
    assert meeting.open_before_seconds == 120
    handle = await stack.start(meeting)
    assert (await stack.status(handle)).phase is Phase.SCHEDULED
    assert stack.emulator.state.world.rooms == {}

    # Two minutes before the start, the room opens.
    await stack.advance(handle, timedelta(minutes=58) - timedelta(seconds=5))
    assert (await stack.status(handle)).phase is Phase.SCHEDULED
    await stack.advance(handle, timedelta(seconds=10))
    status = await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")
    room_sid = status.room_sid
    assert room_sid is not None
    room = (await stack.twilio("GET", f"/v1/Rooms/{room_sid}")).json()
    assert (
        room["unique_name"] == "story"
        and room["status_callback"] == f"{stack.gateway_url}/twilio/status/meeting-story"
    )
    # Under `recreate` Twilio keeps an idle room until the end: 32 minutes from opening to end.
    assert room["max_participants"] == 10 and room["empty_room_timeout"] == room["unused_room_timeout"] == 32

    # Opened early, and recorded as early: a negative open lead, when the room really was ready.
    assert status.opened_at is not None and status.opened_at < meeting.start_time
    assert meeting.start_time - status.opened_at > timedelta(seconds=100)
    # (a histogram with negative buckets has no _sum, by the exposition format's rules: buckets tell)
    assert metric("roomkeeper_room_open_lead_seconds_count", stack) == 1
    assert metric("roomkeeper_room_open_lead_seconds_bucket", stack, le="-90.0") == 1
    assert metric("roomkeeper_room_open_lead_seconds_bucket", stack, le="-150.0") == 0

    description = await handle.describe()
    assert description.typed_search_attributes.get(MEETING_STATUS) == "open"
    assert description.typed_search_attributes.get(ROOM_SID) == room_sid

    alice = await stack.join("story", "alice")
    await stack.join("story", "bob")
    status = await stack.wait_for(handle, lambda s: len(s.participants) == 2, "alice and bob")
    # What the Temporal UI shows as the workflow's current details.
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    details = metadata.current_details
    assert "open" in details and room_sid in details and "connected: alice, bob" in details
    deadline = {p.identity: p.eviction_deadline for p in status.participants}["alice"]
    assert deadline is not None
    joined = datetime.fromisoformat(
        alice["start_time"].replace("Z", "+00:00")
    )  # whole seconds on the resource
    assert timedelta(0) <= deadline - (joined + timedelta(seconds=600)) < timedelta(seconds=1)

    await stack.advance(handle, timedelta(minutes=3))
    await stack.leave("story", "bob")
    await stack.wait_for(handle, lambda s: [p.identity for p in s.participants] == ["alice"], "bob to leave")

    # Alice overstays: at connect time + 600 s she is disconnected, not a moment before.
    await stack.advance(handle, timedelta(minutes=7) - timedelta(seconds=30))
    assert [p.identity for p in (await stack.status(handle)).participants] == ["alice"]
    await stack.advance(handle, timedelta(seconds=40))
    await stack.wait_for(handle, lambda s: s.participants == [], "alice's eviction")
    kicked = (await stack.twilio("GET", f"/v1/Rooms/{room_sid}/Participants/{alice['sid']}")).json()
    assert kicked["status"] == "disconnected"

    # At the end time the room is completed and the summary tells the story.
    await stack.advance(handle, timedelta(hours=1))
    result = await handle.result()
    assert result.ended_by == "schedule"
    assert result.room_sid == room_sid and result.room_sids == [room_sid]
    # In order of arrival: alice joined first, but the emulator (like Twilio) sends callbacks in parallel,
    # so bob's may arrive first.
    assert result.participants_seen == 2 and sorted(result.identities_seen) == ["alice", "bob"]
    assert [e.identity for e in result.participants_evicted] == ["alice"]
    eviction = result.participants_evicted[0]
    # Not a moment early; late only by the dev server's timer granularity (about a second).
    assert timedelta(seconds=600) <= eviction.evicted_at - eviction.connected_at < timedelta(seconds=602)
    assert result.end_lag_seconds is not None and 0 <= result.end_lag_seconds < 5
    assert result.opened_at == status.opened_at
    assert result.opened_at is not None and result.opened_at <= meeting.open_at + timedelta(seconds=10)
    assert metric("roomkeeper_rooms_created_total", stack, adopted="false") == 1
    assert metric("roomkeeper_rooms_completed_total", stack, ended_by="schedule") == 1
    assert metric("roomkeeper_participants_evicted_total", stack, reason="max_participant_duration") == 1
    assert metric("roomkeeper_meetings_ended_total", stack, ended_by="schedule") == 1
    assert 0 <= metric("roomkeeper_room_end_lag_seconds_sum", stack) < 5
    room = (await stack.twilio("GET", f"/v1/Rooms/{room_sid}")).json()
    assert room["status"] == "completed"
    assert (await handle.describe()).typed_search_attributes.get(MEETING_STATUS) == "completed"

    # Summaries the UI shows on each activity and timer (user metadata in history).
    history = await handle.fetch_history()
    converter = stack.env.client.data_converter.payload_converter
    summaries = [
        converter.from_payload(event.user_metadata.summary, str)
        for event in history.events
        if event.HasField("user_metadata") and event.user_metadata.HasField("summary")
    ]
    assert "create room story" in summaries
    assert "evict alice (max participant duration)" in summaries
    assert any(s.startswith("open room at ") for s in summaries)
    assert any(s.startswith("meeting end ") for s in summaries)
