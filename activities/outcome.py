"""The ``RecordMeetingOutcome`` activity: how a meeting ended, counted once.

A meeting's ending is counted here rather than in workflow code, because workflow code runs again
whenever a workflow task is retried, while an activity's completion is recorded in history once.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict
from temporalio import activity

from common.metrics import MEETINGS_ENDED

log = logging.getLogger(__name__)


class MeetingOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    meeting_id: str
    #: schedule | end_now | cancelled | room_ended | window_passed | failed
    ended_by: str
    #: For a failed meeting: what failed, in one line.
    detail: str | None = None


@activity.defn(name="RecordMeetingOutcome")
async def record_meeting_outcome(outcome: MeetingOutcome) -> None:
    MEETINGS_ENDED.labels(activity.info().task_queue, outcome.ended_by).inc()
    # The workflow logs the ending as a lifecycle line with the room and reason; this is for debugging.
    log.debug(
        "meeting %s ended: %s%s",
        ascii(outcome.meeting_id),
        outcome.ended_by,
        f" ({outcome.detail})" if outcome.detail else "",
    )
