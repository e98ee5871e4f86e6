"""MeetingWorkflow's live-control messages: the ``reschedule``, ``extend`` and ``end_now`` updates and
the ``cancel`` signal (their names are part of the contract; see docs/meetings.md)."""

from __future__ import annotations

from typing import Self

from pydantic import AwareDatetime, Field, model_validator

from workflows.meeting_input import FrozenModel


class RescheduleRequest(FrozenModel):
    start_time: AwareDatetime | None = None
    end_time: AwareDatetime | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.start_time is None and self.end_time is None:
            raise ValueError("give start_time, end_time or both")
        return self


class ExtendRequest(FrozenModel):
    minutes: int = Field(ge=1, le=24 * 60)


class EndRequest(FrozenModel):
    reason: str | None = Field(None, max_length=500)
