"""The gateway's ASGI app: Twilio's status callbacks, ``/healthz``, and (given a ``MeetingClient``) the
meetings API (``meetings_api.py``, behind ``ROOMKEEPER_API_TOKEN``), the Cal.com webhook and the
OpenAPI document with its ``/docs`` page, served without a CDN.

``/twilio/status/{workflow_id}`` checks ``X-Twilio-Signature`` against the URL Twilio called (the public
URL, not whatever a proxy turned it into), turns the callback into a ``RoomEvent`` and signals the
workflow named in the path. A callback for a meeting that is no longer running is acknowledged (200)
so nothing retries it.

Every other callback request gets a 4xx whose JSON body says what is wrong (``{"error": "..."}``), quickly:

- 404: the path does not name a workflow the way ``status_callback_url`` builds it;
- 413/414: a body or request target over ``max_body_bytes`` (refused by ``Content-Length`` before any
  of the body is read, or as soon as a streamed body passes the limit);
- 403: the signature is missing, repeated, not ASCII or wrong;
- 400: a correctly signed callback whose parameters are malformed (the message names the parameter).

The workflow id and the signed URL come from the raw, still percent-encoded path: the decoded path has
lost the difference between ``a%2Fb`` and ``a/b``, and Twilio signs the exact URL it was given.
"""

from __future__ import annotations

import logging
from importlib.metadata import version
from typing import Protocol
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError, RPCStatusCode

from common.lifecycle import Step, fields
from common.room_events import RoomEvent, WorkflowGone
from common.status_callback import PATH_PREFIX, BadCallbackPath, workflow_id_in_path
from roomkeeper.calendar_client import CalendarClient
from roomkeeper.gateway.bodies import Refused, bounded_body, clip
from roomkeeper.gateway.calcom import calcom_router
from roomkeeper.gateway.calendars_api import calendars_router
from roomkeeper.gateway.callbacks import BadCallback, room_event_from_callback
from roomkeeper.gateway.config import GatewayConfig
from roomkeeper.gateway.meetings_api import meetings_router
from roomkeeper.gateway.meetings_openapi import complete
from roomkeeper.meeting_client import MeetingClient
from twilio_video.signature import is_valid_signature

log = logging.getLogger(__name__)

API_DESCRIPTION = """\
roomkeeper's HTTP door. `/meetings` schedules and steers meetings (each a Temporal `MeetingWorkflow`);
every `/meetings` request needs `Authorization: Bearer <ROOMKEEPER_API_TOKEN>`. Every failure is
`{"error": "<one line>"}`, with `problems` (field and rule) when the input is invalid. Twilio's status
callbacks (`/twilio/status/…`) are signed by Twilio and not listed here.
"""


class _AnyText(Convertor[str]):
    """Like Starlette's ``path`` convertor, but across newlines too: ``.`` does not match one, so an id
    holding a newline (sent as ``%0A``, decoded before routing) would otherwise be a 404."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("roomkeeper_any_text", _AnyText())


class Signaller(Protocol):
    """Delivers a room event to the workflow with the given id (``MeetingSignaller`` in production).

    Raises ``WorkflowGone`` when that workflow is not running, ``RPCError`` when Temporal fails.
    """

    async def room_event(self, workflow_id: str, event: RoomEvent) -> None: ...


def _form_pairs(text: str, what: str) -> list[tuple[str, str]]:
    try:
        # Strict: the default would turn bad %-escapes into U+FFFD and sign something nobody sent.
        return parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise Refused(400, f"the {what}'s percent-escapes are not UTF-8") from None


def _request_target(request: Request, limit: int) -> tuple[str, str]:
    """The raw path and query, percent-escapes intact, refusing oversized or undecodable ones."""
    # ASGI servers (uvicorn included) give raw_path; without it the decoded path is the best there is.
    raw_path: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    raw_query: bytes = request.scope.get("query_string", b"")
    if len(raw_path) + len(raw_query) > limit:
        raise Refused(
            414, f"the request target is {len(raw_path) + len(raw_query)} bytes; the limit is {limit} bytes"
        )
    try:
        return raw_path.decode("utf-8"), raw_query.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the request target is not UTF-8") from None


def create_gateway(
    config: GatewayConfig,
    signaller: Signaller,
    meetings: MeetingClient | None = None,
    calendars: CalendarClient | None = None,
) -> FastAPI:
    """The gateway app: ``/healthz`` and the status callback endpoint, signalling through ``signaller``;
    with ``meetings``, also the meetings API and the Cal.com webhook; with ``calendars``, the calendars
    API."""
    # FastAPIOffline: /docs serves Swagger UI's assets itself instead of from a CDN, so it works offline.
    app = FastAPIOffline(
        title="roomkeeper gateway",
        description=API_DESCRIPTION,
        version=version("roomkeeper"),
        docs_url="/docs",
        redoc_url=None,
        openapi_tags=[
            {"name": "meetings", "description": "Schedule, read, change, end and cancel meetings."},
            {"name": "health", "description": "Whether the gateway is up."},
        ],
        swagger_ui_parameters={"validatorUrl": None},  # Swagger UI would otherwise call a public validator
    )
    public_url = config.public_url.rstrip("/")
    limit = config.max_body_bytes

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Unknown paths and methods get the same {"error": ...} body as every other refusal.
        return JSONResponse(
            {"error": f"{exc.detail}: {request.method} {clip(request.url.path)}"},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.get("/healthz", tags=["health"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        """`{"status": "ok"}` while the gateway serves; it asks nothing of Temporal."""
        return {"status": "ok"}

    # Any text after the prefix, so ids whose "/" or newline arrived as %2F or %0A (decoded before
    # routing) still land here; the handler reads the id from the raw path itself.
    @app.api_route(
        PATH_PREFIX + "{tail:roomkeeper_any_text}", methods=["GET", "POST"], include_in_schema=False
    )
    async def status_callback(request: Request) -> JSONResponse:
        workflow_id: str | None = None
        try:
            raw_path, raw_query = _request_target(request, limit)
            if not raw_path.startswith(PATH_PREFIX):
                raise Refused(404, f"the path must start with {PATH_PREFIX} literally, without escapes")
            try:
                workflow_id = workflow_id_in_path(raw_path)
            except BadCallbackPath as exc:
                raise Refused(404, f"no workflow named in the path: {exc}") from None
            return await _callback(request, workflow_id, raw_path, raw_query)
        except Refused as refusal:
            # %r throughout: the id and message come from the request and may hold CR/LF or escapes.
            log.warning(
                "refused status callback %s for workflow %r: %d %r",
                request.method,
                None if workflow_id is None else clip(workflow_id),
                refusal.status_code,
                clip(refusal.message),
                extra=fields(
                    Step.CALLBACK_REJECTED,
                    workflow_id=None if workflow_id is None else clip(workflow_id),
                    status=refusal.status_code,
                ),
            )
            return refusal.response()

    async def _callback(request: Request, workflow_id: str, raw_path: str, raw_query: str) -> JSONResponse:
        signed_url = public_url + raw_path + (f"?{raw_query}" if raw_query else "")
        if request.method == "POST":
            try:
                body = (await bounded_body(request, limit)).decode("utf-8")
            except UnicodeDecodeError:
                raise Refused(400, "the body is not UTF-8") from None
            form = _form_pairs(body, "body")
            signed_params = form
        else:  # GET: the parameters are in the query, which the signature covers as part of the URL
            form = _form_pairs(raw_query, "query")
            signed_params = []
        signatures = request.headers.getlist("x-twilio-signature")
        if not signatures:
            raise Refused(403, "the X-Twilio-Signature header is missing")
        if len(signatures) > 1:
            raise Refused(403, "the X-Twilio-Signature header is repeated")
        if not signatures[0].isascii():
            raise Refused(403, "X-Twilio-Signature is not ASCII, so it is no signature Twilio made")
        if not is_valid_signature(config.auth_token, signed_url, signed_params, signatures[0]):
            raise Refused(
                403,
                f"X-Twilio-Signature does not match a signature of {clip(signed_url)} and the parameters "
                "with the account's auth token",
            )
        try:
            event = room_event_from_callback(form)
        except BadCallback as exc:
            raise Refused(400, f"malformed status callback: {exc}") from None
        if event is None:
            return JSONResponse({"ignored": dict(form).get("StatusCallbackEvent")}, status_code=200)
        try:
            await signaller.room_event(workflow_id, event)
        except WorkflowGone:
            return JSONResponse({"ignored": f"workflow {workflow_id} is not running"}, status_code=200)
        except RPCError as error:
            if error.status is RPCStatusCode.INVALID_ARGUMENT:
                # Temporal refuses the id itself (too long, say): asking again would not help.
                raise Refused(400, f"Temporal refused the signal: {error}") from None
            log.error("could not signal %r: %r", clip(workflow_id), clip(str(error)))
            return JSONResponse({"error": "Temporal is unavailable; try again"}, status_code=503)
        return JSONResponse({"signalled": workflow_id, "event": event.kind.value}, status_code=202)

    if meetings is not None:
        app.include_router(meetings_router(config, meetings))
        app.include_router(calcom_router(config, meetings))
    if calendars is not None:
        app.include_router(calendars_router(config, calendars))
    # FastAPI's documented way to extend the document (it is built once and cached by app.openapi).
    generate = app.openapi
    app.openapi = lambda: complete(generate())  # type: ignore[method-assign]
    return app
