"""What every JSON API route of the gateway shares (``/meetings``, ``/calendars``): the gate each request
passes first (the bearer token ``ROOMKEEPER_API_TOKEN`` in constant time, then a bounded JSON body) and
the one shape of every refusal, ``{"error": "<one line>"}`` plus ``problems`` (field and rule) for
invalid input, whatever raised it: FastAPI's validation, the meeting and calendar clients, or a bug.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from types import SimpleNamespace
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field
from pydantic_core import to_jsonable_python
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message

from roomkeeper.gateway.bodies import Refused, bounded_body, clip
from roomkeeper.gateway.config import GatewayConfig
from roomkeeper.meeting_client import (
    MeetingError,
    MeetingRejected,
    NotFoundError,
    SpecConflict,
    TemporalUnavailable,
)
from twilio_video import room_rules
from twilio_video.models import RoomType

log = logging.getLogger(__name__)


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


# ---------------------------------------------------------------------------------- errors in words


class ApiAnswer(Exception):
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


def invalid_request(problems: list[Problem]) -> ApiAnswer:
    listed = "; ".join(p.message if p.field == "body" else f"{p.field}: {p.message}" for p in problems)
    return ApiAnswer(422, f"invalid request: {listed}", problems=problems)


#: RPC statuses with which Temporal refuses the gateway itself (credentials, a server fault): the
#: gateway's deployment is at fault, not the request, so they are a 502.
_TEMPORAL_AT_FAULT = {"PERMISSION_DENIED", "UNAUTHENTICATED", "INTERNAL", "UNIMPLEMENTED", "DATA_LOSS"}


def answer_for(error: MeetingError) -> ApiAnswer:
    message = str(error)
    if isinstance(error, NotFoundError):
        return ApiAnswer(404, message)
    if isinstance(error, SpecConflict):
        return ApiAnswer(409, message)
    if isinstance(error, TemporalUnavailable):
        return ApiAnswer(503, message, headers={"Retry-After": str(error.retry_after)})
    if isinstance(error, MeetingRejected) and error.kind in _TEMPORAL_AT_FAULT:
        return ApiAnswer(502, message)
    return ApiAnswer(409, message)


_RULED = frozenset(rule.parameter for rule in room_rules.RULES)
# Room rules are reported by the spec's validator as one ``room`` error "param: message; param: ...".
_ROOM_RULE_START = re.compile("; (?=(?:" + "|".join(map(re.escape, _RULED)) + "): )")
_RANGES = {rule.parameter: rule for rule in room_rules.RULES if isinstance(rule, room_rules.Range)}
_BOUND_ERRORS = {"less_than_equal", "greater_than_equal", "less_than", "greater_than"}


def problems_of(error: RequestValidationError) -> list[Problem]:
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
                # As JSON would write it: a duration given as "PT10S" is shown so, not as a timedelta.
                message=message + (f" (got {to_jsonable_python(value)!r})" if shown else ""),
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


#: The methods whose routes take a body (a DELETE's reason is a query parameter).
_WITH_BODY = frozenset({"POST", "PATCH"})
#: Documents the scheme in OpenAPI (and lets /docs send the token); ``ApiGate`` does the checking.
BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="ApiToken",
    description="`Authorization: Bearer <ROOMKEEPER_API_TOKEN>` on every `/meetings` request.",
)


class ApiGate:
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
        except ApiAnswer as answer:
            return answer.response()
        except Refused as refusal:
            return refusal.response()
        except RequestValidationError as error:
            return invalid_request(problems_of(error)).response()
        except MeetingError as error:
            return answer_for(error).response()
        except StarletteHTTPException:
            raise  # the app's handler answers these in the same shape
        except Exception:
            # A bug: logged whole, answered without detail (the message could hold request data).
            log.error(
                "API: %s %r failed unexpectedly",
                request.method,
                clip(request.url.path),
                exc_info=True,
            )
            return JSONResponse(
                {"error": "internal error; the gateway's log has the details"}, status_code=500
            )

    def _authorize(self, request: Request) -> None:
        if self._token is None:
            raise ApiAnswer(
                503,
                "the meetings API is closed: ROOMKEEPER_API_TOKEN is not set on the gateway, and without "
                "it anyone who reaches the gateway could start and read meetings",
            )
        given = request.headers.getlist("authorization")
        challenge = 'Bearer realm="roomkeeper"'
        if not any(value.strip() for value in given):
            raise ApiAnswer(
                401, "the Authorization header is missing: send Authorization: Bearer <token>",
                headers={"WWW-Authenticate": challenge},
            )  # fmt: skip
        scheme, _, token = given[0].partition(" ")
        # Latin-1 gives back the bytes as sent (the ASGI server decoded them so); compared whatever the
        # scheme, so how long the answer takes does not tell which check failed.
        matches = hmac.compare_digest(token.strip().encode("latin-1"), self._token)
        if len(given) > 1 or scheme.lower() != "bearer" or not matches:
            raise ApiAnswer(
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
                raise ApiAnswer(
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
        raise ApiAnswer(
            400, f"the body is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except UnicodeDecodeError:
        raise ApiAnswer(400, "the body is not valid JSON: it is not UTF-8") from None
    except RecursionError:
        raise ApiAnswer(400, "the body is not valid JSON that can be read: it is nested too deeply") from None
    except ValueError as error:  # e.g. an integer of more digits than Python converts
        raise ApiAnswer(400, f"the body is not valid JSON that can be read: {clip(str(error))}") from None


def gated_route_class(gate: ApiGate) -> type[APIRoute]:
    class MeetingsRoute(APIRoute):
        """A route whose requests pass ``gate`` first and whose failures it answers."""

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            route = super().get_route_handler()

            async def gated(request: Request) -> Response:
                return await gate.serve(request, route)

            return gated

    return MeetingsRoute


def gated_router(config: GatewayConfig, prefix: str) -> APIRouter:
    """An ``APIRouter`` for ``prefix`` (tagged with its name) whose every route passes the gate."""
    return APIRouter(
        prefix=prefix,
        tags=[prefix.strip("/")],
        route_class=gated_route_class(ApiGate(config)),
        dependencies=[Depends(BEARER)],
    )
