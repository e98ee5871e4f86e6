"""Fault injection on the Twilio surface (``POST /emulator/faults``).

A plan applies to the operations it names (all when none): each matching request first waits
``latency_ms``; then, with probability ``rate``, it fails. A failure either answers with one of
``statuses`` in Twilio's error shape without touching state (as Twilio's 429s are "never processed"),
or, with ``drop_connection``, processes the request and then drops the connection before the response
is complete: the "lost response" case a client must survive without doing the work twice.
"""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from twilio_video.error_codes import ErrorCode
from twilio_video.operations import Operation

ERROR_CODE_FOR_STATUS = {
    429: ErrorCode.TOO_MANY_REQUESTS,
    500: ErrorCode.INTERNAL_ERROR,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}


class FaultPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rate: float = Field(0.0, ge=0.0, le=1.0, description="probability that a matching request fails")
    statuses: list[int] = Field(default_factory=lambda: [500])
    latency_ms: int = Field(0, ge=0, le=60_000)
    #: Operation ids as strings, so a plan reads back exactly as it was posted.
    operations: list[str] | None = None
    drop_connection: bool = False
    retry_after_seconds: int = Field(1, ge=0, le=3600, description="Retry-After on injected 429/503")
    limit: int | None = Field(None, ge=1, description="stop failing after this many injected failures")
    seed: int | None = None

    @field_validator("statuses")
    @classmethod
    def _statuses_are_errors(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("statuses must name at least one HTTP status")
        for status in value:
            if not 400 <= status <= 599:
                raise ValueError(f"status {status} is not an HTTP error status (400-599)")
        return value

    @field_validator("operations")
    @classmethod
    def _known_operations(cls, value: list[str] | None) -> list[str] | None:
        known = [operation.value for operation in Operation]
        for name in value or ():
            if name not in known:
                raise ValueError(f"unknown operation {name!r}; known: {', '.join(known)}")
        return value


Decision = tuple[Literal["status"], int] | tuple[Literal["drop"], None] | None


class FaultInjector:
    def __init__(self) -> None:
        self.plan: FaultPlan | None = None
        self.injected = 0
        self._random = random.Random()

    def set(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.injected = 0
        self._random = random.Random(plan.seed)

    def clear(self) -> None:
        self.plan = None
        self.injected = 0

    def latency_seconds(self, operation: Operation) -> float:
        plan = self.plan
        if plan is None or not self._applies(plan, operation):
            return 0.0
        return plan.latency_ms / 1000

    def decide(self, operation: Operation) -> Decision:
        plan = self.plan
        if plan is None or not self._applies(plan, operation) or plan.rate == 0:
            return None
        if plan.limit is not None and self.injected >= plan.limit:
            return None
        if self._random.random() >= plan.rate:
            return None
        self.injected += 1
        if plan.drop_connection:
            return ("drop", None)
        return ("status", self._random.choice(plan.statuses))

    @staticmethod
    def _applies(plan: FaultPlan, operation: Operation) -> bool:
        return plan.operations is None or operation in plan.operations
