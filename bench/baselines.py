"""What a user would run instead of roomkeeper, written plainly, for the same harness.

- ``PollingMeeting``: a Temporal workflow that creates the room at the opening, lists its participants
  every ``poll_seconds`` (10 s) to watch it, and completes it at the end. No callbacks, no reconciler.
- ``cron_poller``: a script run every 60 s (here: a loop) that creates the rooms whose opening passed
  and completes the rooms whose end passed, from a schedule file.
- Twilio alone (rooms left to ``EmptyRoomTimeout``) needs no code: see ``bench/scenarios.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from pydantic import AwareDatetime, BaseModel
from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from twilio_video.client import TwilioCredentials, VideoClient
    from twilio_video.errors import RateLimited, RoomNotInProgress
    from twilio_video.models import ParticipantStatus
    from twilio_video.params import CreateRoomParams

POLLING_QUEUE_SUFFIX = "/polling-baseline"
T = TypeVar("T")


class PolledMeeting(BaseModel):
    name: str
    open_at: AwareDatetime
    end_time: AwareDatetime
    poll_seconds: float = 10.0


class PollingActivities:
    def __init__(self, video: VideoClient) -> None:
        self._video = video

    @activity.defn(name="BaselineCreateRoom")
    async def create(self, name: str) -> str:
        return (await self._video.create_room(CreateRoomParams(unique_name=name))).sid

    @activity.defn(name="BaselineListParticipants")
    async def list_connected(self, sid: str) -> int:
        return len([p async for p in self._video.list_participants(sid, status=ParticipantStatus.CONNECTED)])

    @activity.defn(name="BaselineCompleteRoom")
    async def complete(self, sid: str) -> None:
        with contextlib.suppress(RoomNotInProgress):
            await self._video.complete_room(sid)


@workflow.defn(name="PollingMeeting")
class PollingMeeting:
    @workflow.run
    async def run(self, meeting: PolledMeeting) -> str:
        limit = timedelta(seconds=30)
        await workflow.sleep(max(timedelta(0), meeting.open_at - workflow.now()))
        sid = await workflow.execute_activity_method(
            PollingActivities.create, meeting.name, start_to_close_timeout=limit
        )
        while workflow.now() < meeting.end_time:
            left = meeting.end_time - workflow.now()
            await workflow.sleep(min(left, timedelta(seconds=meeting.poll_seconds)))
            if workflow.now() < meeting.end_time:
                await workflow.execute_activity_method(
                    PollingActivities.list_connected, sid, start_to_close_timeout=limit
                )
        await workflow.execute_activity_method(PollingActivities.complete, sid, start_to_close_timeout=limit)
        return sid


def baseline_client(base_url: str) -> VideoClient:
    from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN

    return VideoClient(TwilioCredentials.from_auth_token(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN), base_url)


# ----------------------------------------------------------------------------- the cron script


async def _patiently(call: Callable[[], Awaitable[T]]) -> T:
    """What any script against Twilio ends up doing: wait out a 429 for its Retry-After, then again."""
    while True:
        try:
            return await call()
        except RateLimited as error:
            await asyncio.sleep(error.retry_after or 1)


async def cron_poller(schedule_file: Path, base_url: str, every: float = 60.0, until: float = 600.0) -> None:
    """Every ``every`` seconds: create the rooms whose opening passed, complete those whose end passed.

    The schedule is a JSON list of ``{"name", "open_at", "end_time"}``. The first run happens at once
    (a cron job started with the schedule), then every ``every`` seconds, as cron would.
    """
    meetings = json.loads(schedule_file.read_text())  # noqa: ASYNC240 - once, before the loop
    created: dict[str, str] = {}
    done: set[str] = set()
    stop_at = time.monotonic() + until
    async with baseline_client(base_url) as video:
        while time.monotonic() < stop_at and len(done) < len(meetings):
            started = time.monotonic()
            now = datetime.now(UTC)
            for meeting in meetings:
                name = meeting["name"]
                if name in done:
                    continue
                if name not in created and datetime.fromisoformat(meeting["open_at"]) <= now:
                    params = CreateRoomParams(unique_name=name)
                    created[name] = (await _patiently(lambda: video.create_room(params))).sid  # noqa: B023
                if name in created and datetime.fromisoformat(meeting["end_time"]) <= now:
                    sid = created[name]
                    with contextlib.suppress(RoomNotInProgress):
                        await _patiently(lambda: video.complete_room(sid))  # noqa: B023 - awaited at once
                    done.add(name)
            await asyncio.sleep(max(0.0, every - (time.monotonic() - started)))


if __name__ == "__main__":
    asyncio.run(cron_poller(Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4])))
