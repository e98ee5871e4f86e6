"""The meetings API: ``/meetings`` routes that start, read, list, change, end and cancel meetings through
``MeetingClient``. docs/api.md describes it for users; ``/openapi.json`` and ``/docs`` describe every
route and model.

Every request passes one gate (``ApiGate``) before FastAPI sees it: the bearer token
(``ROOMKEEPER_API_TOKEN``, compared in constant time), then a bounded body that must be JSON. Every answer
that is not a success is ``{"error": "<one line>"}``, with ``problems`` (field and rule) for invalid
input: the gate turns FastAPI's validation errors, ``MeetingClient``'s errors and anything unexpected
into that shape, so no request meets FastAPI's own error bodies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from annotated_types import Ge, Le, MaxLen
from fastapi import APIRouter, Body, Header, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from roomkeeper.gateway.api_gate import (
    ApiAnswer,
    ErrorBody,
    InvalidRequestBody,
    Problem,
    gated_router,
    invalid_request,
)
from roomkeeper.gateway.config import GatewayConfig
from roomkeeper.gateway.meetings_openapi import (
    BODY_ERRORS,
    SPEC_EXAMPLES,
    error_responses,
)
from roomkeeper.join_tokens import JoinToken, TokenRequest, issue_join_token
from roomkeeper.meeting_client import (
    MAX_PAGE_SIZE,
    MEMO_SPEC,
    MeetingClient,
    MeetingNotFound,
    MeetingPage,
    TemporalUnavailable,
    canonical,
    workflow_id,
)
from workflows.meeting_control import Actor, EndRequest, ExtendRequest, RescheduleRequest
from workflows.meeting_input import MeetingId, MeetingSpec
from workflows.meeting_status import MeetingStatus, MeetingSummary, Phase

log = logging.getLogger(__name__)

#: How long ``POST /meetings/{id}/end`` waits for the room to close before answering 202.
END_WAIT = timedelta(seconds=20)
#: How long a create waits for the new meeting's first status before answering without one.
STATUS_AFTER_START_WAIT = timedelta(seconds=2)

T = TypeVar("T")


def utc_now() -> datetime:
    """The gateway's clock, which decides whether a meeting's end has passed (tests move it)."""
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------- models


class MeetingCreated(BaseModel):
    """The answer to a create: the meeting, whether this request started it, and its status."""

    meeting_id: str = Field(description="The spec's `meeting_id`.", examples=["standup-2030-06-03"])
    workflow_id: str = Field(
        description="Its workflow id in Temporal, `meeting-<meeting_id>`.",
        examples=["meeting-standup-2030-06-03"],
    )
    created: bool = Field(
        description="True when this request started the meeting (201); false when it already existed "
        "with this same spec (200), so nothing was started."
    )
    status: MeetingStatus | None = Field(
        description="The `status` query's answer, or null when no worker answered within "
        f"{STATUS_AFTER_START_WAIT.total_seconds():g} s (the meeting is started all the same; "
        "`GET /meetings/{meeting_id}` asks again), or when the request said `Prefer: return=minimal`."
    )


class MeetingChange(BaseModel):
    """A change to a meeting's window: a reschedule (`start_time`, `end_time` or both) **or** an
    extension (`extend_minutes`), not both in one request."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"extend_minutes": 15},
                {"start_time": "2030-06-03T10:00:00Z", "end_time": "2030-06-03T10:15:00Z"},
                {"end_time": "2030-06-03T09:30:00+00:00"},
            ]
        },
    )

    start_time: AwareDatetime | None = Field(
        None, description="Reschedule: the new start (only before the room opens), ISO 8601 with an offset."
    )
    end_time: AwareDatetime | None = Field(
        None, description="Reschedule: the new end, ISO 8601 with an offset; it must be in the future."
    )
    extend_minutes: int | None = Field(
        None,
        strict=True,  # `true` is not 1 minute, nor "5" five
        # The extend update's own limits, restated so a bad value is a 422 here, not a local error.
        ge=next(c.ge for c in ExtendRequest.model_fields["minutes"].metadata if isinstance(c, Ge)),
        le=next(c.le for c in ExtendRequest.model_fields["minutes"].metadata if isinstance(c, Le)),
        description="Extend: minutes to add to the current `end_time`.",
    )
    actor: Actor | None = Field(
        None,
        description="Who asks, shown in the meeting's history and `extensions` (default `api`): your "
        "user's name, say.",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> MeetingChange:
        reschedule = self.start_time is not None or self.end_time is not None
        if reschedule == (self.extend_minutes is not None):
            raise ValueError(
                "give start_time and/or end_time (a reschedule) or extend_minutes (an extension)"
                + (", not both" if reschedule else "")
            )
        return self


class Accepted(BaseModel):
    """A request the meeting has taken and is still carrying out (202)."""

    meeting_id: str = Field(description="The meeting's id.", examples=["standup-2030-06-03"])
    workflow_id: str = Field(description="Its workflow id.", examples=["meeting-standup-2030-06-03"])
    detail: str = Field(
        description="What happens next, in words.",
        examples=["cancel signal sent; GET /meetings/standup-2030-06-03 shows the meeting's phase"],
    )


def _in_utc(moment: datetime, field: str) -> datetime:
    # A time near year 1 or 9999 with an offset has no UTC equivalent, and Temporal stores UTC.
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise invalid_request(
            [Problem(field=field, message=f"{moment.isoformat()} is out of range in UTC")]
        ) from None


# ------------------------------------------------------------------------------------------ the gate

# ------------------------------------------------------------------------------------------ routes


def _errors(*statuses: int) -> dict[int | str, Any]:
    return error_responses(ErrorBody, InvalidRequestBody, *statuses)


PathMeetingId = Annotated[
    MeetingId,
    Path(description="The meeting's id (its workflow is `meeting-<meeting_id>`).", examples=["standup"]),
]


def meetings_router(
    config: GatewayConfig, meetings: MeetingClient, *, end_wait: timedelta = END_WAIT
) -> APIRouter:
    """The ``/meetings`` routes on ``meetings``, behind ``config.api_token``; ``end_wait`` bounds how long
    ``POST /meetings/{id}/end`` waits for the room to close."""
    router = gated_router(config, "/meetings")

    @router.post(
        "",
        status_code=201,
        response_model=MeetingCreated,
        summary="Schedule a meeting (idempotent)",
        responses={
            200: {"model": MeetingCreated, "description": "The meeting already existed with this spec."},
            201: {
                "description": "Started. `Location` names the meeting.",
                "headers": {
                    "Location": {"description": "`/meetings/{meeting_id}`", "schema": {"type": "string"}}
                },
            },
            **_errors(*BODY_ERRORS, 409),
        },
    )
    async def create(
        response: Response,
        spec: Annotated[MeetingSpec, Body(openapi_examples=SPEC_EXAMPLES)],
        prefer: Annotated[
            list[str] | None,
            Header(
                description="`return=minimal` (RFC 7240): answer as soon as the meeting is started, with "
                "`status` null, instead of asking the new meeting for its status first (which waits for "
                "a worker to run it). For bulk imports: the start is the same.",
                examples=["return=minimal"],
            ),
        ] = None,
    ) -> MeetingCreated:
        """Start the meeting's workflow. The same request again answers 200 (`created: false`) and starts
        nothing; the same `meeting_id` with a different spec is a 409 naming each difference. A meeting
        whose `end_time` has already passed (by the gateway's clock) is a 422. With
        `Prefer: return=minimal` the answer's `status` is null (and says so in `Preference-Applied`)."""
        _in_utc(spec.start_time, "start_time")
        now = utc_now()
        if _in_utc(spec.end_time, "end_time") <= now:
            if await _started_with(meetings, spec):
                scheduled_id, created = spec.meeting_id, False  # a retry of a request that was answered
            else:
                raise invalid_request(
                    [
                        Problem(
                            field="end_time",
                            message=f"{spec.end_time.isoformat()} has already passed (it is "
                            f"{now.isoformat(timespec='seconds')}): there is no window left to open a room "
                            "in",
                        )
                    ]
                )
        else:
            scheduled = await meetings.schedule(spec, memo={"source": "api"})
            scheduled_id, created = scheduled.meeting_id, scheduled.created
        response.status_code = 201 if created else 200
        response.headers["Location"] = f"/meetings/{quote(scheduled_id, safe='')}"
        minimal = prefers_minimal(prefer or [])
        if minimal:
            response.headers["Preference-Applied"] = "return=minimal"
        return MeetingCreated(
            meeting_id=scheduled_id,
            workflow_id=workflow_id(scheduled_id),
            created=created,
            status=None if minimal else await _status_if_quick(meetings, scheduled_id),
        )

    @router.get(
        "",
        response_model=MeetingPage,
        summary="List meetings",
        responses=_errors(),
    )
    async def list_meetings(
        phase: Annotated[Phase | None, Query(description="Only meetings in this phase.")] = None,
        start_from: Annotated[
            AwareDatetime | None,
            Query(
                alias="from",
                description="Only meetings scheduled to start at or after this time (ISO 8601 with an "
                "offset; write `+` as `%2B`).",
                examples=["2030-06-03T00:00:00Z"],
            ),
        ] = None,
        start_to: Annotated[
            AwareDatetime | None,
            Query(
                alias="to",
                description="Only meetings scheduled to start before this time (ISO 8601 with an offset).",
                examples=["2030-06-04T00:00:00Z"],
            ),
        ] = None,
        page_size: Annotated[
            int, Query(ge=1, le=MAX_PAGE_SIZE, description="How many meetings a page holds at most.")
        ] = 50,
        page_token: Annotated[
            str | None,
            Query(description="The `next_page_token` of the previous page; omit for the first page."),
        ] = None,
    ) -> MeetingPage:
        """One page of meetings from Temporal's visibility store, by phase and scheduled start. Visibility
        is eventually consistent: a change shows here within a second or so."""
        if start_from is not None:
            start_from = _in_utc(start_from, "from")
        if start_to is not None:
            start_to = _in_utc(start_to, "to")
        try:
            return await meetings.list_meetings(
                phase=phase,
                start_from=start_from,
                start_to=start_to,
                page_size=page_size,
                page_token=page_token,
            )
        except ValueError as error:
            raise invalid_request([Problem(field="page_token", message=str(error))]) from None

    @router.get(
        "/{meeting_id}",
        response_model=MeetingStatus,
        summary="A meeting's status",
        responses=_errors(404, 409),
    )
    async def status(meeting_id: PathMeetingId) -> MeetingStatus:
        """The meeting's `status` query: phase, room, who is connected, its window and story."""
        return await meetings.status(meeting_id)

    @router.patch(
        "/{meeting_id}",
        response_model=MeetingStatus,
        summary="Reschedule or extend a meeting",
        responses=_errors(*BODY_ERRORS, 404, 409),
    )
    async def change(meeting_id: PathMeetingId, change: MeetingChange) -> MeetingStatus:
        """`{"start_time": …, "end_time": …}` (either or both) runs the `reschedule` update;
        `{"extend_minutes": N}` runs `extend`. Answers the new status; a change the meeting refuses (an end
        in the past, a start once the room is open, a meeting that is over) is a 409 with its reason."""
        actor = change.actor or "api"
        if change.extend_minutes is not None:
            return await meetings.extend(meeting_id, change.extend_minutes, actor=actor)
        return await meetings.reschedule(
            meeting_id,
            RescheduleRequest(start_time=change.start_time, end_time=change.end_time, actor=actor),
        )

    @router.post(
        "/{meeting_id}/end",
        response_model=MeetingSummary,
        summary="End a meeting now",
        responses={
            202: {"model": Accepted, "description": "Accepted; the room was still closing after the wait."},
            **_errors(*BODY_ERRORS, 404, 409),
        },
    )
    async def end(
        meeting_id: PathMeetingId, request: Annotated[EndRequest | None, Body()] = None
    ) -> MeetingSummary | JSONResponse:
        """The `end_now` update: completes the room now and answers the meeting's summary once it is
        over, or 202 when the room is still closing after the gateway's wait (20 s; it goes on
        closing)."""
        summary = await meetings.end(meeting_id, request.reason if request else None, wait=end_wait)
        if summary is None:
            return JSONResponse(
                Accepted(
                    meeting_id=meeting_id,
                    workflow_id=workflow_id(meeting_id),
                    detail=f"ending; the room was still closing after {end_wait.total_seconds():g} s. "
                    f"GET /meetings/{meeting_id} shows the meeting's phase",
                ).model_dump(),
                status_code=202,
            )
        return summary

    @router.delete(
        "/{meeting_id}",
        status_code=202,
        response_model=Accepted,
        summary="Cancel a meeting",
        responses=_errors(404, 409),
    )
    async def cancel(
        meeting_id: PathMeetingId,
        reason: Annotated[
            str | None,
            Query(
                max_length=next(
                    c.max_length for c in EndRequest.model_fields["reason"].metadata if isinstance(c, MaxLen)
                ),
                description="Recorded in the meeting's history and result.",
            ),
        ] = None,
    ) -> Accepted:
        """The `cancel` signal: before the room opens, no room is ever created; after, the room is
        completed. Answers once the signal is sent; a meeting that is already over is a 409."""
        await meetings.cancel(meeting_id, reason)
        return Accepted(
            meeting_id=meeting_id,
            workflow_id=workflow_id(meeting_id),
            detail=f"cancel signal sent; GET /meetings/{meeting_id} shows the meeting's phase",
        )

    @router.post(
        "/{meeting_id}/tokens",
        response_model=JoinToken,
        summary="Issue a join token",
        responses=_errors(*BODY_ERRORS, 404, 409),
    )
    async def token(meeting_id: PathMeetingId, request: TokenRequest) -> JoinToken:
        """A Twilio Video access token for one participant (`identity`), valid only in this meeting's room
        and only from the room's opening to the meeting's end plus a grace (`grace_seconds`, default
        the gateway's `ROOMKEEPER_TOKEN_GRACE_SECONDS`), so Twilio itself refuses an early or late client.
        Twilio limits a token to 24 hours: a longer window gives a token `capped` at 24 hours. A meeting
        that is over or closing is a 409 with the reason; a gateway without an API key
        (`TWILIO_API_KEY`, `TWILIO_API_SECRET`) answers 503. The answer is a credential: keep it out of
        logs and URLs. After an extension, ask again: a token keeps the expiry it was issued with."""
        if config.join_tokens is None:
            raise ApiAnswer(503, JOIN_TOKENS_OFF)
        return await issue_join_token(meetings, config.join_tokens, meeting_id, request, now=utc_now())

    return router


#: The 503 of a gateway that cannot sign join tokens.
JOIN_TOKENS_OFF = (
    "join tokens are off: the gateway has no API key to sign them with (set TWILIO_ACCOUNT_SID, "
    "TWILIO_API_KEY and TWILIO_API_SECRET; Twilio accepts access tokens signed only with an API key)"
)


async def _started_with(meetings: MeetingClient, spec: MeetingSpec) -> bool:
    """Whether the meeting exists, started with exactly ``spec`` (False when Temporal cannot say: the
    request cannot start anything either way)."""
    try:
        memo = await meetings.memo(spec.meeting_id)
    except (MeetingNotFound, TemporalUnavailable):
        return False
    return bool(memo.get(MEMO_SPEC) == canonical(spec))


def prefers_minimal(prefer: list[str]) -> bool:
    """Whether the ``Prefer`` headers (RFC 7240: comma-separated preferences, each maybe with
    ``;`` parameters) ask for ``return=minimal``."""
    for header in prefer:
        for preference in header.split(","):
            name, _, value = preference.split(";", 1)[0].partition("=")
            if name.strip().lower() == "return" and value.strip().strip('"').lower() == "minimal":
                return True
    return False


async def _status_if_quick(meetings: MeetingClient, meeting_id: str) -> MeetingStatus | None:
    try:
        return await _within(meetings.status(meeting_id), STATUS_AFTER_START_WAIT)
    except (TimeoutError, TemporalUnavailable):
        return None


async def _within(call: Awaitable[T], limit: timedelta) -> T:
    return await asyncio.wait_for(call, limit.total_seconds())
