"""An async, typed client for Twilio Video v1 Rooms and Participants. Knows nothing of Temporal.

One instance per process holds one connection pool. Every request is reported to an optional
``RequestObserver`` (roomkeeper wires Prometheus there) with its operation, outcome and duration.
"""

from __future__ import annotations

import email.utils
import platform
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from twilio_video import limits
from twilio_video.errors import TransientError, TwilioError, error_class_for
from twilio_video.models import (
    Page,
    Participant,
    ParticipantPage,
    ParticipantStatus,
    Room,
    RoomPage,
    RoomStatus,
)
from twilio_video.operations import Operation
from twilio_video.params import CreateRoomParams
from twilio_video.timefmt import format_resource_datetime

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=10.0, pool=10.0)

M = TypeVar("M", bound=BaseModel)
P = TypeVar("P", bound=Page)
#: Query parameters in order (httpx's own element type, so lists of them type-check).
QueryPairs = list[tuple[str, str | int | float | bool | None]]


def _user_agent() -> str:
    try:
        ours = version("roomkeeper")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        ours = "0"
    return f"roomkeeper/{ours} httpx/{httpx.__version__} python/{platform.python_version()}"


class RequestObserver(Protocol):
    def observe(self, operation: Operation, outcome: str, status: int | None, seconds: float) -> None:
        """Called once per HTTP request; ``outcome`` is ``"success"`` or the error class name."""


@dataclass(frozen=True)
class TwilioCredentials:
    """HTTP Basic credentials: account SID + auth token, or API key SID + secret (``account_sid`` kept)."""

    account_sid: str
    username: str
    password: SecretStr

    @classmethod
    def from_auth_token(cls, account_sid: str, auth_token: str) -> TwilioCredentials:
        return cls(account_sid, account_sid, SecretStr(auth_token))

    @classmethod
    def from_api_key(cls, account_sid: str, api_key: str, api_secret: str) -> TwilioCredentials:
        return cls(account_sid, api_key, SecretStr(api_secret))

    def __repr__(self) -> str:
        return (
            f"TwilioCredentials(account_sid={self.account_sid!r}, username={self.username!r}, password=***)"
        )


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date in the future."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _segment(value: str) -> str:
    return quote(value, safe="")


def _date_param(value: datetime | str) -> str:
    return format_resource_datetime(value) if isinstance(value, datetime) else value


class VideoClient:
    def __init__(
        self,
        credentials: TwilioCredentials,
        base_url: str = limits.PRODUCTION_BASE_URL,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        observer: RequestObserver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 100,
    ) -> None:
        self.credentials = credentials
        self.base_url = base_url.rstrip("/")
        self._observer = observer
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=httpx.BasicAuth(credentials.username, credentials.password.get_secret_value()),
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"User-Agent": _user_agent(), "Accept": "application/json"},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"VideoClient(base_url={self.base_url!r}, account_sid={self.credentials.account_sid!r})"

    async def __aenter__(self) -> VideoClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------------------------ rooms

    async def create_room(self, params: CreateRoomParams) -> Room:
        return await self._call(
            Operation.CREATE_ROOM,
            "POST",
            "/v1/Rooms",
            Room,
            resource=params.unique_name,
            form=params.to_form(),
        )

    async def fetch_room(self, name_or_sid: str) -> Room:
        return await self._call(
            Operation.FETCH_ROOM, "GET", f"/v1/Rooms/{_segment(name_or_sid)}", Room, resource=name_or_sid
        )

    async def complete_room(self, name_or_sid: str) -> Room:
        return await self._call(
            Operation.UPDATE_ROOM,
            "POST",
            f"/v1/Rooms/{_segment(name_or_sid)}",
            Room,
            resource=name_or_sid,
            form=[("Status", RoomStatus.COMPLETED.value)],
        )

    async def list_rooms(
        self,
        *,
        status: RoomStatus | None = None,
        unique_name: str | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        page_size: int = limits.DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[Room]:
        """Every matching room, following ``next_page_url`` (Twilio's default: in-progress only)."""
        query = self._list_query(
            [("Status", status.value if status else None), ("UniqueName", unique_name)],
            created_after,
            created_before,
            page_size,
        )
        async for page in self._pages(Operation.LIST_ROOM, "/v1/Rooms", query, RoomPage, None):
            for room in page.rooms:
                yield room

    # ----------------------------------------------------------------------------- participants

    async def list_participants(
        self,
        room: str,
        *,
        status: ParticipantStatus | None = None,
        identity: str | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        page_size: int = limits.DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[Participant]:
        """Participants of ``room`` (Twilio's default: connected ones for an in-progress room)."""
        query = self._list_query(
            [("Status", status.value if status else None), ("Identity", identity)],
            created_after,
            created_before,
            page_size,
        )
        path = f"/v1/Rooms/{_segment(room)}/Participants"
        async for page in self._pages(Operation.LIST_ROOM_PARTICIPANT, path, query, ParticipantPage, room):
            for participant in page.participants:
                yield participant

    async def fetch_participant(self, room: str, identity_or_sid: str) -> Participant:
        return await self._call(
            Operation.FETCH_ROOM_PARTICIPANT,
            "GET",
            f"/v1/Rooms/{_segment(room)}/Participants/{_segment(identity_or_sid)}",
            Participant,
            resource=f"{room}/{identity_or_sid}",
        )

    async def disconnect_participant(self, room: str, identity_or_sid: str) -> Participant:
        return await self._call(
            Operation.UPDATE_ROOM_PARTICIPANT,
            "POST",
            f"/v1/Rooms/{_segment(room)}/Participants/{_segment(identity_or_sid)}",
            Participant,
            resource=f"{room}/{identity_or_sid}",
            form=[("Status", ParticipantStatus.DISCONNECTED.value)],
        )

    # ---------------------------------------------------------------------------------- plumbing

    @staticmethod
    def _list_query(
        filters: Sequence[tuple[str, str | None]],
        created_after: datetime | str | None,
        created_before: datetime | str | None,
        page_size: int,
    ) -> QueryPairs:
        query: QueryPairs = [(name, value) for name, value in filters if value is not None]
        if created_after is not None:
            query.append(("DateCreatedAfter", _date_param(created_after)))
        if created_before is not None:
            query.append(("DateCreatedBefore", _date_param(created_before)))
        query.append(("PageSize", str(page_size)))
        return query

    async def _pages(
        self, operation: Operation, path: str, query: QueryPairs, model: type[P], resource: str | None
    ) -> AsyncIterator[P]:
        url: str | None = path
        params: QueryPairs | None = query
        while url is not None:
            page = await self._call(operation, "GET", url, model, resource=resource, params=params)
            yield page
            # Twilio's next_page_url is absolute and complete: follow it verbatim, as its libraries do.
            url = page.meta.next_page_url
            params = None

    async def _call(
        self,
        operation: Operation,
        method: str,
        url: str,
        model: type[M],
        *,
        resource: str | None,
        form: list[tuple[str, str]] | None = None,
        params: QueryPairs | None = None,
    ) -> M:
        started = time.perf_counter()
        status: int | None = None
        try:
            try:
                response = await self._http.request(
                    method,
                    url,
                    data=dict_or_pairs(form),
                    params=httpx.QueryParams(params) if params else None,
                )
            except httpx.TimeoutException as exc:
                raise TransientError(operation, resource, f"timed out ({type(exc).__name__})") from exc
            except httpx.TransportError as exc:
                raise TransientError(
                    operation, resource, f"connection failed ({type(exc).__name__}: {exc})"
                ) from exc
            status = response.status_code
            if status >= 400:
                raise self._error(operation, resource, response)
            try:
                result = model.model_validate_json(response.content)
            except ValidationError as exc:
                # A truncated or garbled body from a proxy is worth another try; say what we got.
                raise TransientError(
                    operation,
                    resource,
                    f"unexpected response body: {exc.error_count()} problems",
                    status=status,
                ) from exc
        except TwilioError as error:
            self._observe(operation, type(error).__name__, status, started)
            raise
        self._observe(operation, "success", status, started)
        return result

    def _observe(self, operation: Operation, outcome: str, status: int | None, started: float) -> None:
        if self._observer is not None:
            self._observer.observe(operation, outcome, status, time.perf_counter() - started)

    @staticmethod
    def _error(operation: Operation, resource: str | None, response: httpx.Response) -> TwilioError:
        body: dict[str, Any] = {}
        try:
            parsed = response.json()
            if isinstance(parsed, dict):
                body = parsed
        except ValueError:
            pass
        code = body.get("code") if isinstance(body.get("code"), int) else None
        message = str(body.get("message") or response.reason_phrase or "error")
        cls = error_class_for(response.status_code, code)
        return cls(
            operation,
            resource,
            message,
            status=response.status_code,
            code=code,
            more_info=body.get("more_info"),
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )


def dict_or_pairs(form: list[tuple[str, str]] | None) -> Any:
    """httpx wants a mapping for form data; repeated names become a list value."""
    if form is None:
        return None
    data: dict[str, str | list[str]] = {}
    for name, value in form:
        existing = data.get(name)
        if existing is None:
            data[name] = value
        elif isinstance(existing, list):
            existing.append(value)
        else:
            data[name] = [existing, value]
    return data
