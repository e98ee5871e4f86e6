from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from workflows.meeting_input import MeetingSpec


def meeting(
    meeting_id: str,
    *,
    starts_in: timedelta = timedelta(hours=1),
    lasts: timedelta = timedelta(minutes=30),
    **extra: Any,
) -> MeetingSpec:
    start = datetime.now(UTC).replace(microsecond=0) + starts_in
    return MeetingSpec.model_validate(
        {
            "meeting_id": meeting_id,
            "title": f"Test {meeting_id}",
            "start_time": start,
            "end_time": start + lasts,
            **extra,
        }
    )
