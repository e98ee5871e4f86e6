"""The meetings API: ``/meetings`` routes that start, read, list, change, end and cancel meetings through
``MeetingClient``. docs/api.md describes it for users; ``/openapi.json`` and ``/docs`` describe every
route and model.

Every request passes one gate (``_Gate``) before FastAPI sees it: the bearer token
(``ROOMKEEPER_API_TOKEN``, compared in constant time), then a bounded body that must be JSON. Every answer
that is not a success is ``{"error": "<one line>"}``, with ``problems`` (field and rule) for invalid
input: the gate turns FastAPI's validation errors, ``MeetingClient``'s errors and anything unexpected
into that shape, so no request meets FastAPI's own error bodies.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from annotated_types import Ge, Le, MaxLen
from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message

from roomkeeper.gateway.bodies import Refused, bounded_body, clip
from roomkeeper.gateway.config import GatewayConfig
from roomkeeper.gateway.meetings_openapi import (
    BODY_ERRORS,
    SPEC_EXAMPLES,
    error_responses,
)
from roomkeeper.meeting_client import (
    MAX_PAGE_SIZE,
    MEMO_SPEC,
    MeetingClient,
    MeetingError,
    MeetingNotFound,
    MeetingPage,
    MeetingRejected,
    SpecConflict,
    TemporalUnavailable,
    canonical,
    workflow_id,
)
from twilio_video import room_rules
from twilio_video.models import RoomType
from workflows.meeting_control import EndRequest, ExtendRequest, RescheduleRequest
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


class Problem(BaseModel):
    """One thing wrong with the request."""

    field: str = Field(
        description="Where: a body field as a dotted path (`room.max_participants`), a query or path "
        "parameter's name (`from`, `meeting_id`), or `body` for the body as a whole.",
        examples=["room.max_participants"],
    )
    message: str = Field(
        description="The rule it breaks and, for a single value, the value given.",
        examples=["60 is out of range; allowed from 1 up to 50 for a 'group' room"],
    )


class ErrorBody(BaseModel):
    """Every answer that is not a success: one readable line."""

    error: str = Field(
        description="What is wrong, in one line.",
        examples=["no meeting 'standup-2030-06-03' (no workflow 'meeting-standup-2030-06-03')"],
    )


class InvalidRequestBody(ErrorBody):
    """A request whose body or parameters break a rule (422): every problem, each with its field."""

    problems: list[Problem] = Field(description="Each problem found, in the order the fields are checked.")


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
        "`GET /meetings/{meeting_id}` asks again)."
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
        # The extend update's own limits, restated so a bad value is a 422 here, not a local error.
        ge=next(c.ge for c in ExtendRequest.model_fields["minutes"].metadata if isinstance(c, Ge)),
        le=next(c.le for c in ExtendRequest.model_fields["minutes"].metadata if isinstance(c, Le)),
        description="Extend: minutes to add to the current `end_time`.",
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


# ---------------------------------------------------------------------------------- errors in words


class _Answer(Exception):
    """A refusal answered as ``{"error": ...}`` (plus ``problems``, headers) from anywhere in a route."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        problems: list[Problem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.problems = problems
        self.headers = headers

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"error": self.message}
        if self.problems is not None:
            body["problems"] = [problem.model_dump() for problem in self.problems]
        return JSONResponse(body, status_code=self.status_code, headers=self.headers)


def _invalid(problems: list[Problem]) -> _Answer:
    listed = "; ".join(p.message if p.field == "body" else f"{p.field}: {p.message}" for p in problems)
    return _Answer(422, f"invalid request: {listed}", problems=problems)


#: RPC statuses with which Temporal refuses the gateway itself (credentials, a server fault): the
#: gateway's deployment is at fault, not the request, so they are a 502.
_TEMPORAL_AT_FAULT = {"PERMISSION_DENIED", "UNAUTHENTICATED", "INTERNAL", "UNIMPLEMENTED", "DATA_LOSS"}


def _answer_for(error: MeetingError) -> _Answer:
    message = str(error)
    if isinstance(error, MeetingNotFound):
        return _Answer(404, message)
    if isinstance(error, SpecConflict):
        return _Answer(409, message)
    if isinstance(error, TemporalUnavailable):
        return _Answer(503, message, headers={"Retry-After": str(error.retry_after)})
    if isinstance(error, MeetingRejected) and error.kind in _TEMPORAL_AT_FAULT:
        return _Answer(502, message)
    return _Answer(409, message)


_RULED = frozenset(rule.parameter for rule in room_rules.RULES)
# Room rules are reported by the spec's validator as one ``room`` error "param: message; param: ...".
_ROOM_RULE_START = re.compile("; (?=(?:" + "|".join(map(re.escape, _RULED)) + "): )")
_RANGES = {rule.parameter: rule for rule in room_rules.RULES if isinstance(rule, room_rules.Range)}
_BOUND_ERRORS = {"less_than_equal", "greater_than_equal", "less_than", "greater_than"}


def _problems(error: RequestValidationError) -> list[Problem]:
    """FastAPI's validation errors as problems, in the words of ``workflows.meeting_input.explain``;
    room rules in the words of ``twilio_video.room_rules``, whichever check caught them."""
    problems: list[Problem] = []
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ())][1:]  # drop "body", "query" or "path"
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        value = item.get("input")
        if location == ["room"] and item.get("type") == "value_error":
            for rule in _ROOM_RULE_START.split(message):
                parameter, _, broken = rule.partition(": ")
                known = broken and parameter in _RULED
                problems.append(
                    Problem(field=f"room.{parameter}", message=broken)
                    if known
                    else Problem(field="room", message=rule)
                )
            continue
        if item.get("type") == "missing" and not location:
            problems.append(Problem(field="body", message="a JSON body is required"))
            continue
        rephrased = _room_range(location, item.get("type"), value, error.body)
        if rephrased is not None:
            problems.append(Problem(field=".".join(location), message=rephrased))
            continue
        shown = location and item.get("type") != "missing" and not isinstance(value, dict | list)
        problems.append(
            Problem(
                field=".".join(location) or "body",
                message=message + (f" (got {value!r})" if shown else ""),
            )
        )
    return problems


def _room_range(location: list[str], kind: Any, value: Any, body: Any) -> str | None:
    """A room number outside every type's range, judged as the room rules judge it for the body's type
    (``60 is out of range; allowed from 1 up to 50 for a 'group' room``)."""
    if len(location) != 2 or location[0] != "room" or kind not in _BOUND_ERRORS:
        return None
    rule = _RANGES.get(location[1])
    if rule is None or not isinstance(value, int) or isinstance(value, bool):
        return None
    room = body.get("room") if isinstance(body, dict) else None
    try:
        room_type = RoomType(room.get("type", RoomType.GROUP)) if isinstance(room, dict) else RoomType.GROUP
    except ValueError:
        return None  # the type's own error says what is wrong with it
    violation = rule.judge(
        SimpleNamespace(type=room_type, **{rule.parameter: value}), room_rules.Wording.PROSE
    )
    return None if violation is None else violation.message


def _in_utc(moment: datetime, field: str) -> datetime:
    # A time near year 1 or 9999 with an offset has no UTC equivalent, and Temporal stores UTC.
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise _invalid(
            [Problem(field=field, message=f"{moment.isoformat()} is out of range in UTC")]
        ) from None


# ------------------------------------------------------------------------------------------ the gate

#: The methods whose routes take a body (a DELETE's reason is a query parameter).
_WITH_BODY = frozenset({"POST", "PATCH"})
#: Documents the scheme in OpenAPI (and lets /docs send the token); ``_Gate`` does the checking.
_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="ApiToken",
    description="`Authorization: Bearer <ROOMKEEPER_API_TOKEN>` on every `/meetings` request.",
)


class _Gate:
    """What every ``/meetings`` request passes before its route, and how every failure is answered."""

    def __init__(self, config: GatewayConfig) -> None:
        # An empty token would let "Bearer " in: it counts as no token.
        self._token = config.api_token.encode() if config.api_token else None
        self._limit = config.max_body_bytes

    async def serve(self, request: Request, route: Callable[[Request], Awaitable[Response]]) -> Response:
        try:
            self._authorize(request)
            if request.method in _WITH_BODY:
                request = await self._with_checked_body(request)
            return await route(request)
        except _Answer as answer:
            return answer.response()
        except Refused as refusal:
            return refusal.response()
        except RequestValidationError as error:
            return _invalid(_problems(error)).response()
        except MeetingError as error:
            return _answer_for(error).response()
        except StarletteHTTPException:
            raise  # the app's handler answers these in the same shape
        except Exception:
            # A bug: logged whole, answered without detail (the message could hold request data).
            log.error(
                "meetings API: %s %r failed unexpectedly",
                request.method,
                clip(request.url.path),
                exc_info=True,
            )
            return JSONResponse(
                {"error": "internal error; the gateway's log has the details"}, status_code=500
            )

    def _authorize(self, request: Request) -> None:
        if self._token is None:
            raise _Answer(
                503,
                "the meetings API is closed: ROOMKEEPER_API_TOKEN is not set on the gateway, and without "
                "it anyone who reaches the gateway could start and read meetings",
            )
        given = request.headers.getlist("authorization")
        challenge = 'Bearer realm="roomkeeper"'
        if not any(value.strip() for value in given):
            raise _Answer(
                401, "the Authorization header is missing: send Authorization: Bearer <token>",
                headers={"WWW-Authenticate": challenge},
            )  # fmt: skip
        scheme, _, token = given[0].partition(" ")
        # Latin-1 gives back the bytes as sent (the ASGI server decoded them so); compared whatever the
        # scheme, so how long the answer takes does not tell which check failed.
        matches = hmac.compare_digest(token.strip().encode("latin-1"), self._token)
        if len(given) > 1 or scheme.lower() != "bearer" or not matches:
            raise _Answer(
                401,
                "the bearer token is not the gateway's ROOMKEEPER_API_TOKEN",
                headers={"WWW-Authenticate": challenge + ', error="invalid_token"'},
            )

    async def _with_checked_body(self, request: Request) -> Request:
        """The request with its body read (bounded), checked to be JSON, and ready to be read again."""
        body = await bounded_body(request, self._limit)
        if body:
            content_type = request.headers.get("content-type", "")
            media_type = content_type.partition(";")[0].strip().lower()
            if media_type != "application/json" and not media_type.endswith("+json"):
                raise _Answer(
                    415,
                    f"the body must be JSON with Content-Type: application/json, not {clip(content_type)!r}"
                    if content_type
                    else "the body must be JSON, sent with Content-Type: application/json",
                )
            _parse_json(body)
        replayed = False
        receive = request.receive

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return Request(request.scope, replay)


def _parse_json(body: bytes) -> None:
    # FastAPI parses the body again; this first parse is only to say precisely what is wrong with it.
    try:
        json.loads(body)
    except json.JSONDecodeError as error:
        raise _Answer(
            400, f"the body is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except UnicodeDecodeError:
        raise _Answer(400, "the body is not valid JSON: it is not UTF-8") from None
    except RecursionError:
        raise _Answer(400, "the body is not valid JSON that can be read: it is nested too deeply") from None
    except ValueError as error:  # e.g. an integer of more digits than Python converts
        raise _Answer(400, f"the body is not valid JSON that can be read: {clip(str(error))}") from None


def _route_class(gate: _Gate) -> type[APIRoute]:
    class MeetingsRoute(APIRoute):
        """A route whose requests pass ``gate`` first and whose failures it answers."""

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            route = super().get_route_handler()

            async def gated(request: Request) -> Response:
                return await gate.serve(request, route)

            return gated

    return MeetingsRoute


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
    router = APIRouter(
        prefix="/meetings",
        tags=["meetings"],
        route_class=_route_class(_Gate(config)),
        dependencies=[Depends(_BEARER)],
    )

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
    ) -> MeetingCreated:
        """Start the meeting's workflow. The same request again answers 200 (`created: false`) and starts
        nothing; the same `meeting_id` with a different spec is a 409 naming each difference. A meeting
        whose `end_time` has already passed (by the gateway's clock) is a 422."""
        _in_utc(spec.start_time, "start_time")
        now = utc_now()
        if _in_utc(spec.end_time, "end_time") <= now:
            if await _started_with(meetings, spec):
                scheduled_id, created = spec.meeting_id, False  # a retry of a request that was answered
            else:
                raise _invalid(
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
        return MeetingCreated(
            meeting_id=scheduled_id,
            workflow_id=workflow_id(scheduled_id),
            created=created,
            status=await _status_if_quick(meetings, scheduled_id),
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
            raise _invalid([Problem(field="page_token", message=str(error))]) from None

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
        if change.extend_minutes is not None:
            return await meetings.extend(meeting_id, change.extend_minutes)
        return await meetings.reschedule(
            meeting_id, RescheduleRequest(start_time=change.start_time, end_time=change.end_time)
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

    return router


async def _started_with(meetings: MeetingClient, spec: MeetingSpec) -> bool:
    """Whether the meeting exists, started with exactly ``spec`` (False when Temporal cannot say: the
    request cannot start anything either way)."""
    try:
        memo = await meetings.memo(spec.meeting_id)
    except (MeetingNotFound, TemporalUnavailable):
        return False
    return bool(memo.get(MEMO_SPEC) == canonical(spec))


async def _status_if_quick(meetings: MeetingClient, meeting_id: str) -> MeetingStatus | None:
    try:
        return await _within(meetings.status(meeting_id), STATUS_AFTER_START_WAIT)
    except (TimeoutError, TemporalUnavailable):
        return None


async def _within(call: Awaitable[T], limit: timedelta) -> T:
    return await asyncio.wait_for(call, limit.total_seconds())
