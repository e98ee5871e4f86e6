"""Records MeetingWorkflow histories for the replay test: ``python -m tests.histories.record NAME...``.

Re-record only on purpose: a history that no longer replays means running workflows would break too.
Histories recorded by older code are kept beside the new ones (they prove ``workflow.patched`` keeps
old meetings replaying). Each scenario drives the real stack (time-skipping server, worker, gateway,
emulator).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from datetime import timedelta
from pathlib import Path

from temporalio.client import WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from common import search_attributes
from common.room_events import RoomEvent, RoomEventKind
from tests.events_receiver import events_receiver
from tests.temporal_env import TEMPORAL_CLI
from tests.workflows.helpers import meeting
from tests.workflows.stack import Stack, meeting_stack
from workflows.meeting import MeetingWorkflow
from workflows.meeting_control import CancelRequest, EndRequest, ExtendRequest, RescheduleRequest
from workflows.meeting_status import Phase

HERE = Path(__file__).parent


async def full_story(stack: Stack) -> str:
    handle = await stack.start(meeting("rec-story", room={"max_participant_duration": 600}))
    await stack.advance(handle, timedelta(minutes=59))
    await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "open")
    await stack.join("rec-story", "alice")
    await stack.join("rec-story", "bob")
    await stack.wait_for(handle, lambda s: len(s.participants) == 2, "two")
    await stack.advance(handle, timedelta(minutes=2))
    await stack.leave("rec-story", "bob")
    await stack.wait_for(handle, lambda s: len(s.participants) == 1, "one")
    await stack.advance(handle, timedelta(minutes=10))
    await stack.wait_for(handle, lambda s: not s.participants, "eviction")
    await stack.advance(handle, timedelta(hours=1))
    await handle.result()
    return handle.id


async def cancelled_before_open(stack: Stack) -> str:
    handle = await stack.start(meeting("rec-cancel"))
    await stack.advance(handle, timedelta(minutes=5))
    await handle.signal(MeetingWorkflow.cancel, EndRequest(reason="recorded"))
    await handle.result()
    return handle.id


async def rescheduled_extended_ended(stack: Stack) -> str:
    spec = meeting("rec-control", room={"unused_room_timeout": 2})
    handle = await stack.start(spec)
    await handle.execute_update(
        MeetingWorkflow.reschedule,
        RescheduleRequest(
            start_time=spec.start_time + timedelta(minutes=30), end_time=spec.end_time + timedelta(minutes=30)
        ),
    )
    await stack.advance(handle, timedelta(minutes=89))
    await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "open")
    first = (await stack.status(handle)).room_sid
    await handle.execute_update(MeetingWorkflow.extend, ExtendRequest(minutes=10))
    await stack.advance(handle, timedelta(minutes=2, seconds=5))  # unused timeout: a new room
    await stack.wait_for(handle, lambda s: s.room_sid != first and s.phase is Phase.OPEN, "new room")
    await handle.execute_update(MeetingWorkflow.end_now, EndRequest(reason="recorded"))
    await handle.result()
    return handle.id


async def story_with_patches(stack: Stack) -> str:
    """The full story on today's code: outcome recorded by its activity (patch markers in history)."""
    return await full_story(stack)


async def outage_while_closing(stack: Stack) -> str:
    """CompleteRoom fails for more than a round: trouble recorded, durable backoff, then recovery."""
    handle = await stack.start(
        meeting("rec-outage", starts_in=timedelta(minutes=2), lasts=timedelta(minutes=5))
    )
    await stack.advance(handle, timedelta(seconds=5))
    await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "open")
    await stack.join("rec-outage", "alice")
    plan = {"rate": 1.0, "statuses": [503], "operations": ["UpdateRoom"], "retry_after_seconds": 1}
    await stack.http.post(f"{stack.emulator.url}/emulator/faults", json=plan)
    await stack.advance(handle, timedelta(minutes=7))
    await stack.wait_for(handle, lambda s: s.trouble is not None, "trouble", within=60)
    await stack.http.delete(f"{stack.emulator.url}/emulator/faults")
    await stack.advance(handle, timedelta(minutes=2))
    await handle.result()
    return handle.id


async def revisions(stack: Stack) -> str:
    """A calendar's meeting: revisions on the input, a newer reschedule, a stale one rejected, a stale
    cancel ignored, then the current cancel completing the open room."""
    spec = meeting("rec-revisions", starts_in=timedelta(minutes=10), revision=0)
    handle = await stack.start(spec)
    later = timedelta(minutes=20)
    await handle.execute_update(
        MeetingWorkflow.reschedule,
        RescheduleRequest(start_time=spec.start_time + later, end_time=spec.end_time + later, revision=1),
    )
    try:
        await handle.execute_update(
            MeetingWorkflow.reschedule, RescheduleRequest(start_time=spec.start_time, revision=0)
        )
    except WorkflowUpdateFailedError:
        pass  # StaleRevision: rejected by the validator, so absent from the history
    else:
        raise AssertionError("a stale reschedule was accepted")
    await handle.signal(MeetingWorkflow.cancel, CancelRequest(reason="stale", revision=0))
    await stack.wait_for(handle, lambda s: "stale cancel" in s.history[-1].what, "the stale cancel")
    await stack.advance(handle, timedelta(minutes=29))
    await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "open")
    await handle.signal(MeetingWorkflow.cancel, CancelRequest(reason="recorded", revision=1))
    await handle.result()
    return handle.id


async def calendar_feed(stack: Stack) -> str:
    """A feed from a file: the first sync starts two meetings, a change moves one and removes the other,
    an unchanged sync, then removal with its meetings cancelled."""
    import tempfile
    from datetime import UTC, datetime

    from calendar_feeds.fetch import redacted
    from tests.calendar_feeds.feeds_http import Event, FeedServer
    from workflows.calendar_feed import CalendarFeedWorkflow
    from workflows.calendar_models import CalendarFeed, FeedInput, RemoveRequest

    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)
    server = FeedServer(events=[Event("a@rec", start, title="A"), Event("b@rec", start + timedelta(hours=2))])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "feed.ics"
        path.write_bytes(server.body())
        feed = CalendarFeed(name="rec-feed", source=str(path), source_shown=redacted(str(path)))
        handle = await stack.env.client.start_workflow(
            CalendarFeedWorkflow.run, FeedInput(feed), id="calendar-rec-feed", task_queue=stack.task_queue
        )
        await handle.execute_update(CalendarFeedWorkflow.sync_now)
        server.events = [Event("a@rec", start + timedelta(hours=1), title="A", sequence=1)]
        path.write_bytes(server.body())
        await handle.execute_update(CalendarFeedWorkflow.sync_now)
        await handle.execute_update(CalendarFeedWorkflow.sync_now)
        await handle.execute_update(CalendarFeedWorkflow.remove, RemoveRequest(cancel_meetings=True))
        await handle.result()
    return handle.id


async def lean_story(stack: Stack) -> str:
    """The cost and default patches (one timer per deadline, the room memo, no eviction by default,
    idle timeouts covering the window, paced writes): callbacks arrive while one timer runs, a
    reconciler snapshot brings news, an evictee is set by hand, the end moves (so the timer does too)."""
    handle = await stack.start(
        meeting("rec-lean", starts_in=timedelta(minutes=2), lasts=timedelta(minutes=20))
    )
    await stack.advance(handle, timedelta(seconds=5))
    status = await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "open")
    await stack.join("rec-lean", "alice")
    await stack.join("rec-lean", "bob")
    await stack.wait_for(handle, lambda s: len(s.participants) == 2, "two")
    await stack.leave("rec-lean", "bob")
    await stack.wait_for(handle, lambda s: len(s.participants) == 1, "one")
    snapshot = RoomEvent(
        kind=RoomEventKind.SNAPSHOT,
        source="reconcile",
        room_sid=status.room_sid or "",
        timestamp=await stack.now(handle),
    )
    await handle.signal(MeetingWorkflow.room_event, snapshot)  # alice left, and no callback said so
    await stack.wait_for(handle, lambda s: not s.participants, "the snapshot")
    await handle.execute_update(MeetingWorkflow.extend, ExtendRequest(minutes=5))
    await stack.advance(handle, timedelta(minutes=30))
    await handle.result()
    return handle.id


async def events_story(stack: Stack) -> str:
    """Lifecycle events and extend caps (patch ``lifecycle-events``): a receiver that fails once, an
    eviction warned of, an extension by an actor that re-times the warnings, a refused one."""
    with events_receiver() as receiver:
        settings = {"events_url": receiver.url, "events_secret": receiver.secret, "extend_max_count": 1}
        async with meeting_stack(stack.env, worker_settings=settings) as events_stack:
            receiver.fail("meeting.scheduled", 503)
            room = {"max_participant_duration": 600, "empty_room_timeout": 60}
            handle = await events_stack.start(meeting("rec-events", lasts=timedelta(minutes=30), room=room))
            await receiver.wait_for("meeting.scheduled")
            await events_stack.advance(handle, timedelta(minutes=58) - timedelta(seconds=5))
            await events_stack.advance(handle, timedelta(seconds=10))
            await receiver.wait_for("meeting.room_opened")
            await events_stack.join("rec-events", "alice")
            await events_stack.wait_for(handle, lambda s: len(s.participants) == 1, "alice")
            await events_stack.advance(handle, timedelta(minutes=11))
            await receiver.wait_for("participant.evicted")
            await handle.execute_update(MeetingWorkflow.extend, ExtendRequest(minutes=10, actor="rec:host"))
            with contextlib.suppress(WorkflowUpdateFailedError):  # the cap: rejected, nothing in history
                await handle.execute_update(MeetingWorkflow.extend, ExtendRequest(minutes=5))
            await events_stack.advance(handle, timedelta(minutes=40))
            await handle.result()
            await receiver.wait_for("meeting.ended")
            return handle.id


SCENARIOS = {
    scenario.__name__: scenario
    for scenario in (
        full_story,
        cancelled_before_open,
        rescheduled_extended_ended,
        story_with_patches,
        outage_while_closing,
        revisions,
        calendar_feed,
        lean_story,
        events_story,
    )
}


async def main(names: list[str]) -> None:
    async with await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=str(TEMPORAL_CLI),
        data_converter=pydantic_data_converter,
        search_attributes=list(search_attributes.ALL),
        dev_server_log_level="error",
        dev_server_extra_args=["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"],
    ) as env:
        for name in names:
            scenario = SCENARIOS[name]
            async with meeting_stack(env) as stack:
                workflow_id = await scenario(stack)
                history = await env.client.get_workflow_handle(workflow_id).fetch_history()
                path = HERE / f"{scenario.__name__}.json"
                path.write_text(history.to_json())
                print(f"{path.name}: {len(history.events)} events")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:] or list(SCENARIOS)))
