"""The structured fields of roomkeeper's log lines, named once.

Every step of a meeting's life is logged as one line whose ``extra`` carries ``step`` (a ``Step``) and
the ids an operator searches by: ``meeting_id``, ``room_sid`` and (added from Temporal's own logger
context, see ``roomkeeper.logs``) ``workflow_id``. Workflow code logs through ``workflow.logger``
(replay-safe: nothing is logged again while history is replayed), activities through
``activity.logger``, the gateway through ``logging``; ``roomkeeper.logs`` renders the fields as text or
JSON.
"""

from __future__ import annotations

from enum import StrEnum


class Step(StrEnum):
    """What happened, as the ``step`` field of a log line."""

    MEETING_SCHEDULED = "meeting_scheduled"
    ROOM_OPENED = "room_opened"
    ROOM_ADOPTED = "room_adopted"
    ROOM_RECREATED = "room_recreated"
    ROOM_ENDED_EARLY = "room_ended_early"
    PARTICIPANT_EVICTED = "participant_evicted"
    ROOM_COMPLETED = "room_completed"
    MEETING_COMPLETED = "meeting_completed"
    MEETING_CANCELLED = "meeting_cancelled"
    MEETING_FAILED = "meeting_failed"
    TWILIO_FAILING = "twilio_failing"
    TWILIO_RECOVERED = "twilio_recovered"
    CALLBACK_REJECTED = "callback_rejected"
    CALENDAR_SYNCED = "calendar_synced"


#: The ids every lifecycle line may carry, in the order the text format shows them.
MEETING_ID = "meeting_id"
ROOM_SID = "room_sid"
WORKFLOW_ID = "workflow_id"
IDS = (MEETING_ID, ROOM_SID, WORKFLOW_ID)


def fields(step: Step, **values: str | int | float | None) -> dict[str, object]:
    """``extra`` for a lifecycle line: the step and the given fields, leaving out those that are None."""
    return {"step": step.value} | {name: value for name, value in values.items() if value is not None}
