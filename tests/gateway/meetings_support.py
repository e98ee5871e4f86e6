"""Helpers for the meetings API's tests: the token, a gateway served in the test's own loop, a meeting
client whose Temporal never answers, and specs as the JSON a client sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from temporalio.client import Client

from common.temporal import DATA_CONVERTER
from emulator.credentials import TEST_AUTH_TOKEN
from roomkeeper.calendar_client import CalendarClient
from roomkeeper.gateway.app import create_gateway
from roomkeeper.gateway.config import GatewayConfig
from roomkeeper.meeting_client import MeetingClient
from roomkeeper.serving import bind, serve
from tests.gateway.harness import RecordingSignaller
from tests.workflows.helpers import meeting

#: The API token of the tests' gateways; made of characters that do not meet in log lines.
TOKEN = "Ap|To^ke{n~4Gw"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def spec_json(meeting_id: str, **options: Any) -> dict[str, Any]:
    """A valid meeting as a client sends it (``tests.workflows.helpers.meeting``'s options)."""
    dumped: dict[str, Any] = meeting(meeting_id, **options).model_dump(mode="json", exclude_defaults=True)
    return dumped


@asynccontextmanager
async def serving(app: FastAPI, **client: Any) -> AsyncIterator[httpx.AsyncClient]:
    """``app`` under uvicorn on a free loopback port in this loop, and an httpx client on it."""
    sock = bind()
    server, task = await serve(app, sock)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=10, **client
        ) as http:
            yield http
    finally:
        server.should_exit = True
        await task


async def unreachable_meetings() -> MeetingClient:
    """A meeting client on a port nothing listens on: every call is a ``TemporalUnavailable`` within
    half a second (a lazy client connects on its first call)."""
    sock = bind()
    port = sock.getsockname()[1]
    sock.close()
    client = await Client.connect(f"127.0.0.1:{port}", lazy=True, data_converter=DATA_CONVERTER)
    return MeetingClient(client, "nowhere", rpc_timeout=timedelta(seconds=0.5))


def gateway_on(
    meetings: MeetingClient, api_token: str | None = TOKEN, calendars: CalendarClient | None = None
) -> FastAPI:
    """The whole gateway app with the meetings API on ``meetings`` (and the calendars API on
    ``calendars``)."""
    config = GatewayConfig(public_url="http://127.0.0.1", auth_token=TEST_AUTH_TOKEN, api_token=api_token)
    return create_gateway(config, RecordingSignaller(), meetings, calendars)
