"""``roomkeeper dev --demo``: a few meetings and simulated participants, so there is something to see.

Three meetings open within a minute; simulated people join and leave through the emulator's control
surface, one overstays a 10-minute limit and is evicted, one meeting is extended and one cancelled.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from common.settings import Settings
from workflows.meeting import MeetingWorkflow, search_attributes_for
from workflows.meeting_control import EndRequest, ExtendRequest
from workflows.meeting_input import MeetingSpec
from workflows.meeting_state import MeetingInput

log = logging.getLogger("roomkeeper.demo")

PEOPLE = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]


def _spec(meeting_id: str, title: str, starts_in: timedelta, lasts: timedelta, **room: object) -> MeetingSpec:
    start = datetime.now(UTC).replace(microsecond=0) + starts_in
    return MeetingSpec.model_validate(
        {
            "meeting_id": meeting_id,
            "title": title,
            "start_time": start,
            "end_time": start + lasts,
            "open_before_seconds": 20,
            "room": room,
        }
    )


#: Scheduled departures; kept so the tasks are not garbage-collected before they run.
pending: set[asyncio.Task[None]] = set()


async def _later(delay: float, action: Callable[[], Awaitable[object]]) -> None:
    await asyncio.sleep(delay)
    await action()


async def _people(
    http: httpx.AsyncClient, emulator_url: str, room: str, who: list[str], stay: tuple[float, float]
) -> None:
    """Simulated participants join one by one and leave after a while."""
    for identity in who:
        await asyncio.sleep(random.uniform(2, 8))
        response = await http.post(
            f"{emulator_url}/emulator/Rooms/{room}/Participants", json={"Identity": identity}
        )
        if response.status_code != 201:
            log.info("demo: %s could not join %s yet (%s)", identity, room, response.json().get("message"))
            continue
        leave_url = f"{emulator_url}/emulator/Rooms/{room}/Participants/{identity}/Disconnect"
        pending.add(
            asyncio.create_task(_later(random.uniform(*stay), functools.partial(http.post, leave_url)))
        )


async def run_demo(client: Client, settings: Settings, emulator_url: str) -> None:
    stamp = datetime.now(UTC).strftime("%H%M%S")
    meetings = [
        _spec(f"demo-standup-{stamp}", "Daily standup (demo)", timedelta(seconds=30), timedelta(minutes=5)),
        _spec(
            f"demo-workshop-{stamp}",
            "Workshop with a 10-minute limit (demo)",
            timedelta(seconds=45),
            timedelta(minutes=20),
            max_participant_duration=600,
        ),
        _spec(
            f"demo-cancelled-{stamp}",
            "Cancelled before it opens (demo)",
            timedelta(minutes=10),
            timedelta(minutes=30),
        ),
    ]
    handles = []
    for spec in meetings:
        handles.append(
            await client.start_workflow(
                MeetingWorkflow.run,
                MeetingInput(spec),
                id=f"meeting-{spec.meeting_id}",
                task_queue=settings.task_queue,
                search_attributes=search_attributes_for(spec),
                static_summary=spec.title,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
        )
        log.info("demo: scheduled %s (%s)", spec.meeting_id, spec.title)
    await handles[2].signal(MeetingWorkflow.cancel, EndRequest(reason="demo: cancelled"))
    async with httpx.AsyncClient(timeout=10) as http:
        await asyncio.sleep(15)
        await asyncio.gather(
            _people(http, emulator_url, meetings[0].unique_name, PEOPLE[:5], (30, 120)),
            _people(http, emulator_url, meetings[1].unique_name, PEOPLE[5:], (60, 1200)),
        )
        await handles[0].execute_update(MeetingWorkflow.extend, ExtendRequest(minutes=2))
        log.info("demo: extended %s by 2 minutes", meetings[0].meeting_id)
        await asyncio.Event().wait()  # keep the timers above alive until dev stops
