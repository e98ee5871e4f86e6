"""MeetingWorkflow's live-control messages: the ``reschedule``, ``extend`` and ``end_now`` updates and
the ``cancel`` signal (their names are part of the contract; see docs/meetings.md)."""

from __future__ import annotations

from typing import Self

from pydantic import AwareDatetime, Field, model_validator

from workflows.meeting_input import FrozenModel, Revision


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

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.start_time is None and self.end_time is None:
            raise ValueError("give start_time, end_time or both")
        return self


class ExtendRequest(FrozenModel):
    """The `extend` update: move the end later."""

    minutes: int = Field(ge=1, le=24 * 60, description="Minutes to add to `end_time`.")


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
