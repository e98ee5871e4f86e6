"""The emulator as an ASGI application: Twilio's ``/v1`` surface and the ``/emulator`` control surface.

Every ``/v1`` request goes through one pipeline, in Twilio's order: authenticate, apply the account's
rate limit, apply injected faults, then the operation. Each is logged for ``GET /emulator/requests``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from emulator.callbacks import CallbackDispatcher
from emulator.clock import Clock, ManualClock, SystemClock
from emulator.credentials import Credentials
from emulator.errors import ApiError, invalid, not_found, not_implemented, token_refused
from emulator.faults import ERROR_CODE_FOR_STATUS, FaultInjector, FaultPlan
from emulator.forms import Form, parse_form
from emulator.media import FAILED_OPERATIONS
from emulator.paging import PageRequest, T, page_meta, paginate
from emulator.ratelimit import RateLimiter
from emulator.render import (
    page_json,
    render_anonymized,
    render_participant,
    render_published_track,
    render_recording,
    render_recording_rules,
    render_subscribe_rules,
    render_subscribed_track,
    render_transcription,
    room_json,
)
from emulator.room_options import parse_room_options
from emulator.state import ParticipantRecord, RoomRecord, World
from emulator.timers import Timers
from twilio_video import access_token, limits
from twilio_video.error_codes import ErrorCode
from twilio_video.models import (
    PageMeta,
    ParticipantPage,
    ParticipantStatus,
    PublishedTrackPage,
    RecordingStatus,
    RoomRecordingPage,
    RoomStatus,
    SubscribedTrackPage,
    TranscriptionPage,
)
from twilio_video.operations import Operation
from twilio_video.timefmt import format_callback_timestamp, parse_date_filter

log = logging.getLogger(__name__)

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
    "Access-Control-Allow-Credentials": "true",
    "Access-Control-Expose-Headers": "ETag",
}


@dataclass
class EmulatorConfig:
    credentials: Credentials = field(default_factory=Credentials)
    clock: Clock = field(default_factory=SystemClock)
    rate_limits: bool = True
    reads_per_second: float = limits.READS_PER_SECOND
    writes_per_second: float = limits.WRITES_PER_SECOND
    #: Base URL for ``url``, ``links`` and page URLs; by default the one each request came in on.
    public_url: str | None = None
    callback_timeout_seconds: float = 5.0
    request_log_size: int = 50_000


class Emulator:
    """One emulated Twilio account: state, timers, callbacks, limits, faults and logs."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.credentials = config.credentials
        self.clock = config.clock
        self.timers = Timers(config.clock)
        self.callbacks = CallbackDispatcher(
            lambda _account: config.credentials.auth_token, timeout_seconds=config.callback_timeout_seconds
        )
        self.world = World(config.credentials.account_sid, config.clock, self.timers, self.callbacks.enqueue)
        self.limiter = RateLimiter(config.reads_per_second, config.writes_per_second, config.rate_limits)
        self.faults = FaultInjector()
        self.requests: deque[dict[str, Any]] = deque(maxlen=config.request_log_size)
        #: Base URLs by what Starlette builds them from (scheme, server, root path, Host header).
        self._base_urls: dict[tuple[Any, ...], str] = {}

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await self.callbacks.start()
        timer_task = asyncio.create_task(self.timers.run())
        try:
            yield
        finally:
            timer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer_task
            await self.callbacks.stop()

    def base_url(self, request: Request) -> str:
        if self.config.public_url:
            return self.config.public_url.rstrip("/")
        # ``request.base_url`` builds a URL (and parses the Host header) each time; nearly every
        # request of a client arrives with the same inputs, so each answer is kept (a few at most).
        scope = request.scope
        key = (
            scope.get("scheme"),
            scope.get("server"),
            scope.get("app_root_path", scope.get("root_path")),
            request.headers.get("host"),
        )
        found = self._base_urls.get(key)
        if found is None:
            found = str(request.base_url).rstrip("/")
            if len(self._base_urls) >= 64:
                self._base_urls.clear()
            self._base_urls[key] = found
        return found


# ------------------------------------------------------------------------------------- responses


def model_response(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        model.model_dump_json(exclude_none=False),
        status_code=status,
        media_type="application/json",
        headers={**CORS_HEADERS, **(headers or {})} if status < 300 else headers,
    )


class JsonBytes(Response):
    """A success whose JSON is already rendered: the headers ``model_response`` gives a success, in the
    same order, without building them from ``CORS_HEADERS`` again for every response."""

    media_type = "application/json"
    _HEADERS: tuple[tuple[bytes, bytes], ...] = tuple(
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in CORS_HEADERS.items()
    )

    def __init__(self, body: bytes, status_code: int = 200) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = [
            *self._HEADERS,
            (b"content-length", str(len(body)).encode("latin-1")),
            (b"content-type", b"application/json"),
        ]


def json_response(body: bytes, status: int = 200) -> Response:
    """A success whose JSON is already rendered (``model_response`` for bytes)."""
    return JsonBytes(body, status)


def error_response(error: ApiError) -> Response:
    return Response(
        error.body().model_dump_json(exclude_none=True),
        status_code=error.status,
        media_type="application/json",
        headers=error.headers,
    )


class DroppedResponse(Response):
    """Starts a response and abandons it half-way, so the server closes the connection.

    ASGI has no 'abort'; an app that returns before finishing its body makes uvicorn close the socket.
    The client sees the connection drop after the request was processed.
    """

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b"{", "more_body": True})


# ----------------------------------------------------------------------------------- /v1 surface

Handler = Callable[[Request], Awaitable[Response]]


def _query(request: Request) -> Form:
    return parse_form(request.scope["query_string"])


def _form(request: Request) -> Form:
    """The POST body, as the pipeline parsed it (once, for the handler and the request log)."""
    form: Form = request.state.form
    return form


def _date_filter(query: Form, name: str) -> Any:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        return parse_date_filter(raw)
    except ValueError as exc:
        raise invalid(ErrorCode.INVALID_PARAMETER, f"{name}: {exc}") from None


def _enum_filter(query: Form, name: str, enum: type[Any]) -> Any:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        return enum(raw)
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise invalid(ErrorCode.INVALID_PARAMETER, f"{name}={raw!r} is not one of {choices}") from None


def _echo_filters(query: Form, names: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(name, value) for name in names if (value := query.get(name)) is not None]


class TwilioSurface:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.world = emulator.world

    async def create_room(self, request: Request) -> Response:
        options = parse_room_options(_form(request))
        room = self.world.create_room(options)
        return json_response(room_json(room, self.emulator.base_url(request)), 201)

    async def fetch_room(self, request: Request) -> Response:
        room = self.world.find_room(request.path_params["room"])
        return json_response(room_json(room, self.emulator.base_url(request)))

    async def update_room(self, request: Request) -> Response:
        room = self.world.complete_room(request.path_params["room"], _form(request).get("Status"))
        # 202, as Twilio's OpenAPI file documents UpdateRoom (its docs show no other status).
        return json_response(room_json(room, self.emulator.base_url(request)), 202)

    async def list_rooms(self, request: Request) -> Response:
        query = _query(request)
        rooms = self.world.list_rooms(
            _enum_filter(query, "Status", RoomStatus) or RoomStatus.IN_PROGRESS,
            query.get("UniqueName"),
            _date_filter(query, "DateCreatedAfter"),
            _date_filter(query, "DateCreatedBefore"),
        )
        page, base_url, meta = self._page(
            request, query, rooms, "/v1/Rooms", key="rooms", filters=("Status", "UniqueName", *_DATES)
        )
        return json_response(page_json(meta, [room_json(room, base_url) for room in page]))

    async def list_participants(self, request: Request) -> Response:
        query = _query(request)
        room_ref = request.path_params["room"]
        participants = self.world.list_participants(
            room_ref,
            _enum_filter(query, "Status", ParticipantStatus),
            query.get("Identity"),
            _date_filter(query, "DateCreatedAfter"),
            _date_filter(query, "DateCreatedBefore"),
        )
        path = f"/v1/Rooms/{room_ref}/Participants"
        page, base_url, meta = self._page(
            request, query, participants, path, key="participants", filters=("Status", "Identity", *_DATES)
        )
        items = [render_participant(p, base_url) for p in page]
        return model_response(ParticipantPage(participants=items, meta=meta))

    def _page(
        self,
        request: Request,
        query: Form,
        items: Sequence[T],
        path: str,
        *,
        key: str,
        filters: tuple[str, ...] = (),
    ) -> tuple[Sequence[T], str, PageMeta]:
        """One page of ``items`` and its ``meta``, echoing the filters the caller gave."""
        page_request = PageRequest.from_query(query)
        page, next_token, previous_token = paginate(items, page_request)
        base_url = self.emulator.base_url(request)
        meta = page_meta(
            base_url=base_url,
            path=path,
            key=key,
            filters=_echo_filters(query, filters),
            request=page_request,
            next_token=next_token,
            previous_token=previous_token,
        )
        return page, base_url, meta

    async def fetch_participant(self, request: Request) -> Response:
        _, participant = self.world.find_participant(
            request.path_params["room"], request.path_params["participant"]
        )
        return model_response(render_participant(participant, self.emulator.base_url(request)))

    async def update_participant(self, request: Request) -> Response:
        participant = self.world.update_participant(
            request.path_params["room"], request.path_params["participant"], _form(request).get("Status")
        )
        return model_response(render_participant(participant, self.emulator.base_url(request)), 202)

    # -------------------------------------------------------------------- participant sub-resources

    def _participant(self, request: Request) -> tuple[RoomRecord, ParticipantRecord]:
        return self.world.find_participant(request.path_params["room"], request.path_params["participant"])

    async def anonymize_participant(self, request: Request) -> Response:
        participant = self.world.anonymize(request.path_params["room"], request.path_params["participant"])
        return model_response(render_anonymized(participant, self.emulator.base_url(request)))

    async def list_published_tracks(self, request: Request) -> Response:
        _, participant = self._participant(request)
        tracks = self.world.media.published_tracks(participant)
        page, base_url, meta = self._page(
            request, _query(request), tracks, _v1_path(request), key="published_tracks"
        )
        items = [render_published_track(track, base_url) for track in page]
        return model_response(PublishedTrackPage(published_tracks=items, meta=meta))

    async def fetch_published_track(self, request: Request) -> Response:
        _, participant = self._participant(request)
        track = self.world.media.find_track(participant, request.path_params["track"], _v1_path(request)[3:])
        return model_response(render_published_track(track, self.emulator.base_url(request)))

    async def list_subscribed_tracks(self, request: Request) -> Response:
        room, participant = self._participant(request)
        tracks = self.world.media.subscribed_tracks(room, participant)
        page, base_url, meta = self._page(
            request, _query(request), tracks, _v1_path(request), key="subscribed_tracks"
        )
        items = [render_subscribed_track(track, participant, base_url) for track in page]
        return model_response(SubscribedTrackPage(subscribed_tracks=items, meta=meta))

    async def fetch_subscribed_track(self, request: Request) -> Response:
        room, participant = self._participant(request)
        wanted = request.path_params["track"]
        for track in self.world.media.subscribed_tracks(room, participant):
            if track.sid == wanted:
                return model_response(
                    render_subscribed_track(track, participant, self.emulator.base_url(request))
                )
        raise not_found(_v1_path(request)[3:])

    async def fetch_subscribe_rules(self, request: Request) -> Response:
        _, participant = self._participant(request)
        return model_response(render_subscribe_rules(participant))

    async def update_subscribe_rules(self, request: Request) -> Response:
        _, participant = self._participant(request)
        self.world.media.update_subscribe_rules(participant, _form(request).get("Rules"))
        return model_response(render_subscribe_rules(participant))

    # --------------------------------------------------------------------------- room sub-resources

    async def fetch_recording_rules(self, request: Request) -> Response:
        room = self.world.find_room(request.path_params["room"])
        return model_response(render_recording_rules(room))

    async def update_recording_rules(self, request: Request) -> Response:
        room = self.world.find_room(request.path_params["room"])
        self.world.media.update_recording_rules(room, _form(request).get("Rules"))
        return model_response(render_recording_rules(room))

    async def list_recordings(self, request: Request) -> Response:
        query = _query(request)
        room = self.world.find_room(request.path_params["room"])
        recordings = self.world.media.list_recordings(
            room,
            _enum_filter(query, "Status", RecordingStatus),
            query.get("SourceSid"),
            _date_filter(query, "DateCreatedAfter"),
            _date_filter(query, "DateCreatedBefore"),
        )
        page, base_url, meta = self._page(
            request,
            query,
            recordings,
            _v1_path(request),
            key="recordings",
            filters=("Status", "SourceSid", *_DATES),
        )
        return model_response(
            RoomRecordingPage(recordings=[render_recording(r, base_url) for r in page], meta=meta)
        )

    async def fetch_recording(self, request: Request) -> Response:
        room = self.world.find_room(request.path_params["room"])
        recording = self.world.media.find_recording(
            room, request.path_params["recording"], _v1_path(request)[3:]
        )
        return model_response(render_recording(recording, self.emulator.base_url(request)))

    async def delete_recording(self, request: Request) -> Response:
        room = self.world.find_room(request.path_params["room"])
        recording = self.world.media.find_recording(
            room, request.path_params["recording"], _v1_path(request)[3:]
        )
        self.world.media.delete_recording(recording)
        return Response(status_code=204, headers=CORS_HEADERS)

    async def list_transcriptions(self, request: Request) -> Response:
        room = self.world.find_room(request.path_params["room"])
        transcriptions = list(room.media.transcriptions.values())
        page, base_url, meta = self._page(
            request, _query(request), transcriptions, _v1_path(request), key="transcriptions"
        )
        items = [render_transcription(t, base_url) for t in page]
        return model_response(TranscriptionPage(transcriptions=items, meta=meta))

    async def create_transcription(self, request: Request) -> Response:
        room = self.world.find_room(request.path_params["room"])
        configuration = _json_object_param(_form(request), "Configuration")
        transcription = self.world.media.create_transcription(room, configuration)
        return model_response(render_transcription(transcription, self.emulator.base_url(request)), 202)

    async def fetch_transcription(self, request: Request) -> Response:
        room = self.world.find_room(request.path_params["room"])
        found = self.world.media.find_transcription(room, request.path_params["ttid"], _v1_path(request)[3:])
        return model_response(render_transcription(found, self.emulator.base_url(request)))

    async def update_transcription(self, request: Request) -> Response:
        room = self.world.find_room(request.path_params["room"])
        found = self.world.media.find_transcription(room, request.path_params["ttid"], _v1_path(request)[3:])
        form = _form(request)
        self.world.media.update_transcription(
            room, found, form.get("Status"), _json_object_param(form, "Configuration")
        )
        return model_response(render_transcription(found, self.emulator.base_url(request)), 202)


_DATES = ("DateCreatedAfter", "DateCreatedBefore")


def _v1_path(request: Request) -> str:
    """The request's path as Twilio's page URLs and 404 messages carry it (without the query)."""
    path: str = request.url.path
    return path


def _json_object_param(form: Form, name: str) -> dict[str, Any] | None:
    raw = form.get(name)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise invalid(ErrorCode.INVALID_PARAMETER, f"{name} must be a JSON object, got {raw[:40]!r}")
    return value


#: Every path the emulator serves under ``/v1`` (another method on one of them is a 405).
_KNOWN_RESOURCE = re.compile(
    r"^/v1/Rooms(/[^/]+(/(Participants(/[^/]+(/Anonymize|/SubscribeRules"
    r"|/(PublishedTracks|SubscribedTracks)(/[^/]+)?)?)?|RecordingRules|(Recordings|Transcriptions)(/[^/]+)?))?)?$"
)
#: Twilio Video resources the emulator does not imitate: a 501 naming the feature, never a 404.
_NOT_IMITATED: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/v1/Rooms/[^/]+/Recordings/[^/]+/Media$"), "recording media (no media is recorded)"),
    (re.compile(r"^/v1/Compositions(/.*)?$"), "Compositions"),
    (re.compile(r"^/v1/CompositionHooks(/.*)?$"), "Composition Hooks"),
    (re.compile(r"^/v1/CompositionSettings(/.*)?$"), "Composition Settings"),
    (re.compile(r"^/v1/RecordingSettings(/.*)?$"), "Recording Settings"),
    (re.compile(r"^/v1/Recordings(/.*)?$"), "the account's Recordings list (use a room's Recordings)"),
)


class Pipeline:
    """Auth → rate limit → faults → operation, logged; shared by every ``/v1`` route."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        #: Authorization headers accepted before -> the account each proved (a few at most).
        self._accepted: dict[str, str] = {}
        self._accepted_by = emulator.credentials

    def authenticate(self, authorization: str | None) -> str:
        """``Credentials.authenticate``, remembering the headers it accepted: the credentials never
        change, so a header once accepted always proves the same account, and clients resend theirs."""
        credentials = self.emulator.credentials
        if credentials is not self._accepted_by:
            self._accepted, self._accepted_by = {}, credentials
        if authorization is not None and (account_sid := self._accepted.get(authorization)) is not None:
            return account_sid
        account_sid = credentials.authenticate(authorization)
        if authorization is not None:
            if len(self._accepted) >= 64:
                self._accepted.clear()
            self._accepted[authorization] = account_sid
        return account_sid

    def route(self, path: str, method: str, operation: Operation, handler: Handler) -> Route:
        kind = "read" if method == "GET" else "write"

        async def endpoint(request: Request) -> Response:
            return await self.handle(request, operation, kind, handler)

        return Route(path, endpoint, methods=[method], name=operation)

    def fallback(self) -> Route:
        """Any other ``/v1`` path or method: 404 or 405, after authentication as Twilio does."""

        async def endpoint(request: Request) -> Response:
            async def answer(_: Request) -> Response:
                path = request.url.path
                for pattern, feature in _NOT_IMITATED:
                    if pattern.match(path):
                        raise not_implemented(f"{feature}: {request.method} {path[3:]}")
                if _KNOWN_RESOURCE.match(path):
                    raise ApiError(405, ErrorCode.METHOD_NOT_ALLOWED, f"{request.method} {path[3:]}")
                raise not_found(path[3:] or "/")

            return await self.handle(request, None, "read", answer, limited=False)

        return Route(
            "/v1/{rest:path}", endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        )

    async def handle(
        self,
        request: Request,
        operation: Operation | None,
        kind: str,
        handler: Handler,
        *,
        limited: bool = True,
    ) -> Response:
        emulator = self.emulator
        started = time.perf_counter()
        entry: dict[str, Any] = {
            "time": format_callback_timestamp(emulator.clock.now()),
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "operation": operation,
            "account_sid": None,
            "fault": None,
            "retry_after": None,
        }
        if request.method == "POST":
            body = await request.body()
            # Twilio reads form bodies only: a JSON body is ignored (reference §8.6), not misread.
            is_json = request.headers.get("content-type", "").startswith("application/json")
            request.state.form = Form() if is_json else parse_form(body)
            entry["form"] = request.state.form.values
        try:
            entry["account_sid"] = self.authenticate(request.headers.get("authorization"))
            if limited:
                retry_after = emulator.limiter.check(kind)
                if retry_after is not None:
                    rate = (
                        emulator.config.reads_per_second
                        if kind == "read"
                        else emulator.config.writes_per_second
                    )
                    raise ApiError(
                        429,
                        ErrorCode.TOO_MANY_REQUESTS,
                        f"more than {rate:g} {kind} requests per second for this account",
                        headers={"Retry-After": str(retry_after)},
                    )
            decision = None
            if operation is not None:
                latency = emulator.faults.latency_seconds(operation)
                if latency:
                    await asyncio.sleep(latency)
                decision = emulator.faults.decide(operation)
                if decision is not None and decision[0] == "status":
                    entry["fault"] = "status"
                    raise _injected_error(decision[1], emulator.faults)
            response = await handler(request)
            if decision is not None and decision[0] == "drop":
                entry["fault"] = "drop"
                entry["dropped_status"] = response.status_code
                response = DroppedResponse()
        except ApiError as error:
            response = error_response(error)
            entry["code"] = int(error.code)
            entry["retry_after"] = (
                int(error.headers["Retry-After"]) if "Retry-After" in error.headers else None
            )
        entry["status"] = response.status_code
        entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        emulator.requests.append(entry)
        return response


def _injected_error(status: int, faults: FaultInjector) -> ApiError:
    code = ERROR_CODE_FOR_STATUS.get(
        status, ErrorCode.INTERNAL_ERROR if status >= 500 else ErrorCode.INVALID_PARAMETER
    )
    headers = {}
    if status in (429, 503) and faults.plan is not None:
        headers["Retry-After"] = str(faults.plan.retry_after_seconds)
    return ApiError(status, code, "injected by the emulator's fault plan", headers=headers)


# ------------------------------------------------------------------------------ control surface


async def _json_or_form(request: Request) -> dict[str, Any]:
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            value = json.loads(body or b"{}")
        except json.JSONDecodeError as exc:
            raise invalid(ErrorCode.INVALID_PARAMETER, f"body is not valid JSON: {exc.msg}") from None
        if not isinstance(value, dict):
            raise invalid(ErrorCode.INVALID_PARAMETER, "body must be a JSON object")
        return value
    form = parse_form(body)
    return {name: values[-1] for name, values in form.values.items()}


def _control(handler: Handler) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as error:
            return error_response(error)

    return endpoint


class ControlSurface:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def routes(self) -> list[Route]:
        room = "/emulator/Rooms/{room}/Participants"
        return [
            Route("/emulator", _control(self.info), methods=["GET"]),
            Route(room, _control(self.join), methods=["POST"]),
            Route(room + "/{identity}/Disconnect", _control(self.disconnect), methods=["POST"]),
            Route(room + "/{identity}/Tracks", _control(self.publish), methods=["POST"]),
            Route(
                room + "/{identity}/Tracks/{track}/{action}", _control(self.track_action), methods=["POST"]
            ),
            Route(
                "/emulator/Rooms/{room}/Recordings/{recording}/Fail",
                _control(self.fail_recording),
                methods=["POST"],
            ),
            Route("/emulator/faults", _control(self.get_faults), methods=["GET"]),
            Route("/emulator/faults", _control(self.set_faults), methods=["POST"]),
            Route("/emulator/faults", _control(self.clear_faults), methods=["DELETE"]),
            Route("/emulator/requests", _control(self.get_requests), methods=["GET"]),
            Route("/emulator/requests", _control(self.clear_requests), methods=["DELETE"]),
            Route("/emulator/callbacks", _control(self.get_callbacks), methods=["GET"]),
            Route("/emulator/callbacks", _control(self.clear_callbacks), methods=["DELETE"]),
            Route("/emulator/clock/advance", _control(self.advance_clock), methods=["POST"]),
            Route("/emulator/reset", _control(self.reset), methods=["POST"]),
        ]

    async def info(self, request: Request) -> Response:
        emulator = self.emulator
        clock = emulator.clock
        return JSONResponse(
            {
                "account_sid": emulator.credentials.account_sid,
                "api_key_sids": sorted(emulator.credentials.keys),
                "base_url": emulator.base_url(request),
                "clock": "manual" if isinstance(clock, ManualClock) else "system",
                "time_scale": getattr(clock, "time_scale", None),
                "now": format_callback_timestamp(clock.now()),
                "rate_limits": emulator.limiter.enabled,
                "rooms_in_progress": len(emulator.world.rooms_by_status[RoomStatus.IN_PROGRESS]),
                "rooms_total": len(emulator.world.rooms),
                "connected_participants": emulator.world.connected_participants,
                "callbacks_pending": emulator.callbacks.pending,
                "timers": len(emulator.timers),
            }
        )

    async def join(self, request: Request) -> Response:
        """A simulated client connects: ``Identity``, or an access token (``Token``) that names it."""
        data = await _json_or_form(request)
        identity = data.get("Identity", data.get("identity"))
        token = data.get("Token", data.get("token"))
        room_ref = request.path_params["room"]
        if token is not None:
            identity = self._admitted(token, room_ref, identity)
        if not isinstance(identity, str):
            raise invalid(ErrorCode.PARTICIPANT_IDENTITY_INVALID, "Identity is required and must be a string")
        participant = self.emulator.world.join(room_ref, identity)
        return model_response(render_participant(participant, self.emulator.base_url(request)), 201)

    def _admitted(self, token: Any, room_ref: str, identity: Any) -> str:
        """The identity ``token`` lets into the room, checked as Twilio checks a connecting client's token
        (``twilio_video.access_token``), on the emulator's clock; otherwise Twilio's 201xx refusal.

        The token is checked before the room is looked up, as credentials come before resources: an
        early client is told its token is not yet valid whether or not the room exists yet.
        """
        emulator = self.emulator
        credentials = emulator.credentials
        try:
            if not isinstance(token, str):
                raise access_token.TokenRejected(ErrorCode.ACCESS_TOKEN_INVALID, "Token must be a string")
            claims = access_token.read(token, account_sid=credentials.account_sid, api_keys=credentials.keys)
            access_token.check_window(claims, emulator.clock.now())
            room = emulator.world.find_room(room_ref)
            granted = access_token.check_video_grant(claims, room.unique_name, room.sid)
        except access_token.TokenRejected as rejected:
            raise token_refused(rejected) from None
        # Twilio takes the identity from the token alone; the simulated join may also say one, which
        # must then be the token's, or a test could join as someone its token does not name.
        if identity is not None and identity != granted:
            raise token_refused(
                access_token.TokenRejected(
                    ErrorCode.ACCESS_TOKEN_GRANTS_INVALID,
                    f"the token's identity grant is {granted!r}, not Identity={identity!r}",
                )
            )
        return granted

    async def disconnect(self, request: Request) -> Response:
        participant = self.emulator.world.leave(request.path_params["room"], request.path_params["identity"])
        return model_response(render_participant(participant, self.emulator.base_url(request)))

    def _connected(self, request: Request) -> tuple[RoomRecord, ParticipantRecord]:
        """The participant named by identity (or SID) in the path, which must be connected."""
        world = self.emulator.world
        room, participant = world.find_participant(
            request.path_params["room"], request.path_params["identity"]
        )
        if participant.status is not ParticipantStatus.CONNECTED:
            raise invalid(
                ErrorCode.PARTICIPANT_NOT_FOUND,
                f"participant {participant.sid} is {participant.status.value}; "
                "only a connected one has tracks",
            )
        return room, participant

    async def publish(self, request: Request) -> Response:
        """A simulated participant publishes a track: ``Kind`` (audio, video, data), ``Name``."""
        data = await _json_or_form(request)
        kind = data.get("Kind", data.get("kind"))
        name = data.get("Name", data.get("name"))
        if not isinstance(kind, str) or not (name is None or isinstance(name, str)):
            raise invalid(
                ErrorCode.INVALID_PARAMETER, "Kind is required (audio, video or data); Name is a string"
            )
        room, participant = self._connected(request)
        track = self.emulator.world.media.publish(room, participant, kind, name)
        return model_response(render_published_track(track, self.emulator.base_url(request)), 201)

    #: What a track can be told to do, and whether the action is "enabled" (None: unpublish).
    TRACK_ACTIONS = {"Enable": True, "Disable": False, "Unpublish": None}

    async def track_action(self, request: Request) -> Response:
        action = request.path_params["action"]
        if action not in self.TRACK_ACTIONS:
            raise not_found(request.url.path)
        room, participant = self._connected(request)
        media = self.emulator.world.media
        track = media.find_track(participant, request.path_params["track"], request.url.path)
        enabled = self.TRACK_ACTIONS[action]
        if enabled is None:
            media.unpublish(room, participant, track)
        else:
            media.set_enabled(room, participant, track, enabled)
        return model_response(render_published_track(track, self.emulator.base_url(request)))

    async def fail_recording(self, request: Request) -> Response:
        """A processing recording fails (``FailedOperation``, default ``RecordingUpload``)."""
        data = await _json_or_form(request)
        operation = data.get("FailedOperation", FAILED_OPERATIONS[-1])
        world = self.emulator.world
        room = world.find_room(request.path_params["room"])
        recording = world.media.find_recording(room, request.path_params["recording"], request.url.path)
        world.media.fail_recording(room, recording, str(operation))
        return model_response(render_recording(recording, self.emulator.base_url(request)))

    async def get_faults(self, request: Request) -> Response:
        plan = self.emulator.faults.plan
        return JSONResponse(
            {"plan": plan.model_dump() if plan else None, "injected": self.emulator.faults.injected}
        )

    async def set_faults(self, request: Request) -> Response:
        data = await _json_or_form(request)
        try:
            plan = FaultPlan.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in exc.errors()
            )
            raise invalid(ErrorCode.INVALID_PARAMETER, f"fault plan rejected: {problems}") from None
        self.emulator.faults.set(plan)
        return JSONResponse({"plan": plan.model_dump(), "injected": 0})

    async def clear_faults(self, request: Request) -> Response:
        self.emulator.faults.clear()
        return Response(status_code=204)

    async def get_requests(self, request: Request) -> Response:
        wanted_operation = request.query_params.get("operation")
        entries = [
            entry
            for entry in self.emulator.requests
            if wanted_operation is None or entry["operation"] == wanted_operation
        ]
        return JSONResponse({"requests": entries})

    async def clear_requests(self, request: Request) -> Response:
        self.emulator.requests.clear()
        return Response(status_code=204)

    async def get_callbacks(self, request: Request) -> Response:
        return JSONResponse(
            {"callbacks": list(self.emulator.callbacks.log), "pending": self.emulator.callbacks.pending}
        )

    async def clear_callbacks(self, request: Request) -> Response:
        self.emulator.callbacks.log.clear()
        return Response(status_code=204)

    async def advance_clock(self, request: Request) -> Response:
        clock = self.emulator.clock
        if not isinstance(clock, ManualClock):
            raise ApiError(
                409,
                ErrorCode.INVALID_PARAMETER,
                "the clock is only advanceable when started with --manual-clock",
            )
        data = await _json_or_form(request)
        try:
            seconds = float(data.get("seconds", "x"))
        except (TypeError, ValueError):
            raise invalid(ErrorCode.INVALID_PARAMETER, "seconds must be a number") from None
        if seconds < 0:
            raise invalid(ErrorCode.INVALID_PARAMETER, "seconds must not be negative")
        clock.advance(seconds)
        fired = self.emulator.timers.fire_due()
        return JSONResponse({"now": format_callback_timestamp(clock.now()), "timers_fired": fired})

    async def reset(self, request: Request) -> Response:
        emulator = self.emulator
        emulator.world.reset()
        emulator.faults.clear()
        emulator.requests.clear()
        emulator.callbacks.log.clear()
        return Response(status_code=204)


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    """The emulator's ASGI app; ``app.state.emulator`` is the ``Emulator`` behind it."""
    emulator = Emulator(config or EmulatorConfig())
    surface = TwilioSurface(emulator)
    pipeline = Pipeline(emulator)
    room = "/v1/Rooms/{room}"
    participant = room + "/Participants/{participant}"
    routes = [
        pipeline.route("/v1/Rooms", "POST", Operation.CREATE_ROOM, surface.create_room),
        pipeline.route("/v1/Rooms", "GET", Operation.LIST_ROOM, surface.list_rooms),
        pipeline.route(room, "GET", Operation.FETCH_ROOM, surface.fetch_room),
        pipeline.route(room, "POST", Operation.UPDATE_ROOM, surface.update_room),
        pipeline.route(
            room + "/Participants", "GET", Operation.LIST_ROOM_PARTICIPANT, surface.list_participants
        ),
        pipeline.route(participant, "GET", Operation.FETCH_ROOM_PARTICIPANT, surface.fetch_participant),
        pipeline.route(participant, "POST", Operation.UPDATE_ROOM_PARTICIPANT, surface.update_participant),
        pipeline.route(
            participant + "/Anonymize",
            "POST",
            Operation.UPDATE_ROOM_PARTICIPANT_ANONYMIZE,
            surface.anonymize_participant,
        ),
        pipeline.route(
            participant + "/PublishedTracks",
            "GET",
            Operation.LIST_ROOM_PARTICIPANT_PUBLISHED_TRACK,
            surface.list_published_tracks,
        ),
        pipeline.route(
            participant + "/PublishedTracks/{track}",
            "GET",
            Operation.FETCH_ROOM_PARTICIPANT_PUBLISHED_TRACK,
            surface.fetch_published_track,
        ),
        pipeline.route(
            participant + "/SubscribedTracks",
            "GET",
            Operation.LIST_ROOM_PARTICIPANT_SUBSCRIBED_TRACK,
            surface.list_subscribed_tracks,
        ),
        pipeline.route(
            participant + "/SubscribedTracks/{track}",
            "GET",
            Operation.FETCH_ROOM_PARTICIPANT_SUBSCRIBED_TRACK,
            surface.fetch_subscribed_track,
        ),
        pipeline.route(
            participant + "/SubscribeRules",
            "GET",
            Operation.FETCH_ROOM_PARTICIPANT_SUBSCRIBE_RULE,
            surface.fetch_subscribe_rules,
        ),
        pipeline.route(
            participant + "/SubscribeRules",
            "POST",
            Operation.UPDATE_ROOM_PARTICIPANT_SUBSCRIBE_RULE,
            surface.update_subscribe_rules,
        ),
        pipeline.route(
            room + "/RecordingRules",
            "GET",
            Operation.FETCH_ROOM_RECORDING_RULE,
            surface.fetch_recording_rules,
        ),
        pipeline.route(
            room + "/RecordingRules",
            "POST",
            Operation.UPDATE_ROOM_RECORDING_RULE,
            surface.update_recording_rules,
        ),
        pipeline.route(room + "/Recordings", "GET", Operation.LIST_ROOM_RECORDING, surface.list_recordings),
        pipeline.route(
            room + "/Recordings/{recording}", "GET", Operation.FETCH_ROOM_RECORDING, surface.fetch_recording
        ),
        pipeline.route(
            room + "/Recordings/{recording}",
            "DELETE",
            Operation.DELETE_ROOM_RECORDING,
            surface.delete_recording,
        ),
        pipeline.route(
            room + "/Transcriptions", "GET", Operation.LIST_ROOM_TRANSCRIPTIONS, surface.list_transcriptions
        ),
        pipeline.route(
            room + "/Transcriptions",
            "POST",
            Operation.CREATE_ROOM_TRANSCRIPTIONS,
            surface.create_transcription,
        ),
        pipeline.route(
            room + "/Transcriptions/{ttid}",
            "GET",
            Operation.FETCH_ROOM_TRANSCRIPTIONS,
            surface.fetch_transcription,
        ),
        pipeline.route(
            room + "/Transcriptions/{ttid}",
            "POST",
            Operation.UPDATE_ROOM_TRANSCRIPTIONS,
            surface.update_transcription,
        ),
        pipeline.fallback(),
        *ControlSurface(emulator).routes(),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with emulator.running():
            yield

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.emulator = emulator
    return app
