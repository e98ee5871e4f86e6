"""MeetingWorkflow's live-control messages: the ``reschedule``, ``extend`` and ``end_now`` updates and
the ``cancel`` signal (their names are part of the contract; see docs/meetings.md)."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from common.extend_policy import MAX_EXTENSION_MINUTES
from workflows.meeting_input import FrozenModel, Revision

#: Who asked for a change, as the history and `status` show it (e.g. `alice`, `cli:bob`, `api`).
Actor = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class RescheduleRequest(FrozenModel):
    """The `reschedule` update: a new window. Give either time or both; once the room is open only
    `end_time` may change. The new window obeys the input's rules, and its end is in the future.

    With a `revision`, the change must be newer than the meeting's: one carrying a revision not higher
    than the meeting's current one is rejected (error type `StaleRevision`), so a repeated or late
    change from a calendar moves nothing."""

    start_time: AwareDatetime | None = Field(None, description="The new start (before the room opens).")
    end_time: AwareDatetime | None = Field(None, description="The new end.")
    revision: Revision | None = Field(
        None,
        description="The source's revision of this change (e.g. iCalendar SEQUENCE); must be higher than "
        "the meeting's `revision`, which it then becomes. Without it, the meeting's revision stays.",
    )
    actor: Actor | None = Field(None, description="Who asks (shown in the history and `status`).")

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.start_time is None and self.end_time is None:
            raise ValueError("give start_time, end_time or both")
        return self


class ExtendRequest(FrozenModel):
    """The `extend` update: move the end later."""

    minutes: int = Field(ge=1, le=MAX_EXTENSION_MINUTES, description="Minutes to add to `end_time`.")
    actor: Actor | None = Field(None, description="Who asks (shown in the history and `status`).")


class EndRequest(FrozenModel):
    """The `end_now` update (it may be sent without it)."""

    reason: str | None = Field(None, max_length=500, description="Recorded in the history and the result.")


class CancelRequest(EndRequest):
    """The `cancel` signal (it may be sent without it). A cancel carrying a `revision` lower than the
    meeting's is stale (it cancels a version of the meeting that has since changed): it is ignored and
    noted in the history."""

    revision: Revision | None = Field(
        None,
        description="The revision of the meeting this cancels (e.g. iCalendar SEQUENCE); ignored if lower "
        "than the meeting's `revision`.",
    )
