"""The calendars API: ``/calendars`` routes that add, list, show, sync and remove iCalendar feeds through
``CalendarClient`` (docs/calendars.md; the same as ``roomkeeper calendar``). Behind the same gate as the
meetings API (``api_gate``): the bearer token, a bounded JSON body, one error shape.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from calendar_feeds.models import FeedOptions
from roomkeeper.calendar_client import CalendarClient, CalendarRefused
from roomkeeper.gateway.api_gate import (
    ErrorBody,
    InvalidRequestBody,
    Problem,
    gated_router,
    invalid_request,
)
from roomkeeper.gateway.config import GatewayConfig
from roomkeeper.gateway.meetings_openapi import BODY_ERRORS, error_responses
from workflows.calendar_models import FeedName, FeedStatus, MeetingTemplate, SyncReport

#: How long an add waits for the feed's first sync before answering without its status.
FIRST_SYNC_WAIT = timedelta(seconds=10)


class CalendarCreate(BaseModel):
    """A feed to keep in sync."""

    model_config = ConfigDict(extra="forbid")

    name: FeedName = Field(description="1-40 lower-case letters, digits and `-`; `calcom` is reserved.")
    ics: str = Field(
        min_length=1,
        max_length=2048,
        description="The feed: an http(s):// or webcal:// address (sealed before it reaches Temporal), "
        "a file:// URL or an absolute path on the workers' disk.",
        examples=["https://calendar.google.com/calendar/ical/team%40example.com/private-0123/basic.ics"],
    )
    every: timedelta = Field(
        timedelta(minutes=5),
        ge=timedelta(minutes=1),
        le=timedelta(days=1),
        description="How often the feed is fetched (ISO 8601 duration such as `PT5M`, or seconds).",
    )
    options: FeedOptions = Field(default_factory=FeedOptions, description="How events become meetings.")
    meetings: MeetingTemplate = Field(
        default_factory=MeetingTemplate, description="Every meeting's options (room, opening lead)."
    )


class CalendarAdded(BaseModel):
    name: str = Field(description="The calendar's name (its workflow is `calendar-<name>`).")
    status: FeedStatus | None = Field(
        description="After its first sync, or null when that is still running (ask `GET /calendars/{name}`)."
    )


class CalendarEntry(BaseModel):
    name: str
    status: FeedStatus | None = Field(description="Null when the calendar did not answer (see `problem`).")
    problem: str | None = None


PathName = Annotated[str, Path(description="The calendar's name.", examples=["team"])]


def _errors(*statuses: int) -> dict[int | str, Any]:
    return error_responses(ErrorBody, InvalidRequestBody, *statuses)


def calendars_router(config: GatewayConfig, calendars: CalendarClient) -> APIRouter:
    router = gated_router(config, "/calendars")

    @router.post(
        "",
        status_code=201,
        response_model=CalendarAdded,
        summary="Keep an iCalendar feed's events as meetings",
        responses=_errors(*BODY_ERRORS, 409),
    )
    async def add(request: CalendarCreate, response: Response) -> CalendarAdded:
        if not request.ics.lower().startswith(("http://", "https://", "webcal://")):
            # The API faces the network: it must not let a token holder make the workers read their own
            # disks. Local files are for whoever runs `roomkeeper calendar add` on the machine.
            raise invalid_request(
                [
                    Problem(
                        field="ics",
                        message="the API takes http(s):// and webcal:// addresses only; a local file is "
                        "added with `roomkeeper calendar add` on the machine",
                    )
                ]
            )
        try:
            await calendars.add(
                request.name,
                request.ics,
                every=request.every,
                options=request.options,
                template=request.meetings,
            )
        except CalendarRefused as refused:
            raise invalid_request([Problem(field="ics", message=str(refused))]) from None
        response.headers["Location"] = f"/calendars/{request.name}"
        return CalendarAdded(
            name=request.name, status=await calendars.first_sync(request.name, FIRST_SYNC_WAIT)
        )

    @router.get(
        "", response_model=list[CalendarEntry], summary="The calendars being synced", responses=_errors()
    )
    async def list_calendars() -> list[CalendarEntry]:
        return [
            CalendarEntry(name=s.name, status=s.status, problem=s.problem) for s in await calendars.list()
        ]

    @router.get(
        "/{name}", response_model=FeedStatus, summary="A calendar's last sync and upcoming meetings",
        responses=_errors(404),
    )  # fmt: skip
    async def show(name: PathName) -> FeedStatus:
        return await calendars.status(name)

    @router.post(
        "/{name}/sync", response_model=SyncReport, summary="Sync a calendar now", responses=_errors(404, 409)
    )
    async def sync_now(name: PathName) -> SyncReport:
        return await calendars.sync_now(name)

    @router.delete(
        "/{name}",
        response_model=FeedStatus,
        summary="Stop syncing a calendar",
        responses=_errors(404, 409),
    )
    async def remove(
        name: PathName,
        cancel_meetings: Annotated[
            bool, Query(description="Also cancel every meeting it started that has not ended.")
        ] = False,
    ) -> FeedStatus:
        return await calendars.remove(name, cancel_meetings=cancel_meetings)

    return router
