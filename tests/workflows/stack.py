"""The whole stack for workflow tests: emulator (own thread), gateway (this loop), worker (as in production).

The emulator runs on a manual clock that ``sync_clock`` moves to the workflow's virtual time, so Twilio's
timestamps (connect times, room timeouts) and Temporal's skipped time tell the same story.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Interceptor

from activities.sweeper import SweepConfig
from common.room_events import MeetingSignaller
from common.sealing import Sealer
from common.settings import DEFAULT_TOKEN_GRACE_SECONDS
from emulator.app import EmulatorConfig
from emulator.clock import ManualClock
from emulator.credentials import TEST_ACCOUNT_SID, TEST_API_KEY_SECRET, TEST_API_KEY_SID, TEST_AUTH_TOKEN
from roomkeeper.calcom.event_types import EventTypes
from roomkeeper.calendar_client import CalendarClient
from roomkeeper.gateway.app import create_gateway
from roomkeeper.gateway.config import GatewayConfig
from roomkeeper.join_tokens import JoinTokenIssuer
from roomkeeper.meeting_client import MeetingClient
from roomkeeper.serving import bind, serve
from roomkeeper.worker import running_worker
from tests.support import TEST_SECRET_KEY, RunningEmulator, emulator_settings, running_emulator
from twilio_video.client import TwilioCredentials, VideoClient
from workflows.meeting import MeetingWorkflow, search_attributes_for
from workflows.meeting_input import MeetingSpec
from workflows.meeting_state import MeetingInput
from workflows.meeting_status import MeetingStatus

#: What signs the stack gateway's join tokens: the emulator's public test key, with the default grace.
TEST_TOKEN_ISSUER = JoinTokenIssuer(
    TEST_ACCOUNT_SID,
    TEST_API_KEY_SID,
    TEST_API_KEY_SECRET,
    grace=timedelta(seconds=DEFAULT_TOKEN_GRACE_SECONDS),
)


@dataclass
class Stack:
    env: WorkflowEnvironment
    emulator: RunningEmulator
    gateway_url: str
    task_queue: str
    http: httpx.AsyncClient
    #: The meetings on this stack's task queue, as the gateway's doors reach them.
    meetings: MeetingClient

    async def start(self, spec: MeetingSpec, *, skip: bool = False) -> WorkflowHandle[MeetingWorkflow, Any]:
        """Start a meeting; with ``skip=False`` its virtual time only moves through ``advance``."""

        async def start() -> WorkflowHandle[MeetingWorkflow, Any]:
            return await self.env.client.start_workflow(
                MeetingWorkflow.run,
                MeetingInput(spec),
                id=f"meeting-{spec.meeting_id}",
                task_queue=self.task_queue,
                search_attributes=search_attributes_for(spec),
                static_summary=spec.title or spec.meeting_id,
            )

        if skip:
            return await start()
        with self.env.with_time_skipping_disabled():
            return await start()

    async def now(self, handle: WorkflowHandle[Any, Any]) -> datetime:
        current: datetime = await self.env.get_current_time(handle)
        return current

    async def advance(self, handle: WorkflowHandle[Any, Any], delta: timedelta) -> None:
        await self.env.fast_forward(handle, delta)
        await self.sync_clock(handle)

    async def sync_clock(self, handle: WorkflowHandle[Any, Any]) -> None:
        """Move the emulator's clock up to the workflow's virtual now (firing Twilio's own timers)."""
        clock = self.emulator.state.clock
        assert isinstance(clock, ManualClock)
        behind = (await self.now(handle) - clock.now()).total_seconds()
        if behind > 0:
            await self.http.post(f"{self.emulator.url}/emulator/clock/advance", json={"seconds": behind})

    async def status(self, handle: WorkflowHandle[Any, Any]) -> MeetingStatus:
        return await handle.query(MeetingWorkflow.status)

    async def wait_for(
        self,
        handle: WorkflowHandle[Any, Any],
        check: Callable[[MeetingStatus], bool],
        what: str,
        within: float = 15,
    ) -> MeetingStatus:
        """Poll the status query until ``check`` holds (signals are asynchronous by design)."""
        deadline = time.monotonic() + within
        while True:
            status = await self.status(handle)
            if check(status):
                return status
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out waiting for {what}; status: {status.model_dump_json(indent=1)}"
                )
            await asyncio.sleep(0.05)

    async def join(self, room: str, identity: str) -> dict[str, Any]:
        response = await self.http.post(
            f"{self.emulator.url}/emulator/Rooms/{room}/Participants", json={"Identity": identity}
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def leave(self, room: str, identity: str) -> None:
        response = await self.http.post(
            f"{self.emulator.url}/emulator/Rooms/{room}/Participants/{identity}/Disconnect"
        )
        assert response.status_code == 200, response.text

    async def twilio(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(
            method, f"{self.emulator.url}{path}", auth=(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN), **kwargs
        )


@asynccontextmanager
async def meeting_stack(
    env: WorkflowEnvironment,
    *,
    emulator_config: EmulatorConfig | None = None,
    sweep: SweepConfig | None = None,
    public_url: str | None = None,
    interceptors: Sequence[Interceptor] = (),
    task_queue: str | None = None,
    calcom_webhook_secret: str | None = None,
    calcom_event_types: EventTypes | None = None,
    api_token: str | None = None,
    join_tokens: JoinTokenIssuer | None = TEST_TOKEN_ISSUER,
    worker_settings: dict[str, Any] | None = None,
) -> AsyncIterator[Stack]:
    """The stack on ``env``; its gateway serves every door on a ``MeetingClient`` for the stack's task
    queue: ``/meetings`` behind ``api_token`` (closed without one), Cal.com with its secret, join tokens
    signed by ``join_tokens``. ``worker_settings`` adds to the worker's settings (e.g. ``events_url``)."""
    task_queue = task_queue or f"meetings-{uuid.uuid4()}"
    sock = bind()
    gateway_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    meetings = MeetingClient(env.client, task_queue)
    gateway_config = GatewayConfig(
        public_url=gateway_url,
        auth_token=TEST_AUTH_TOKEN,
        api_token=api_token,
        calcom_webhook_secret=calcom_webhook_secret,
        calcom_event_types=calcom_event_types or EventTypes(),
        join_tokens=join_tokens,
    )
    calendars = CalendarClient(env.client, task_queue, Sealer.from_setting(TEST_SECRET_KEY))
    gateway = create_gateway(gateway_config, MeetingSignaller(env.client), meetings, calendars)
    server, serving = await serve(gateway, sock)
    config = emulator_config or EmulatorConfig(clock=ManualClock(), rate_limits=False)
    try:
        with running_emulator(config) as emulator:
            settings = emulator_settings(
                emulator.url, task_queue, public_url or gateway_url, **(worker_settings or {})
            )
            video = VideoClient(
                TwilioCredentials.from_auth_token(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN), emulator.url
            )
            async with (
                httpx.AsyncClient(timeout=10) as http,
                video,
                running_worker(
                    env.client,
                    settings,
                    video,
                    sweep=sweep,
                    graceful_shutdown=timedelta(seconds=1),
                    interceptors=interceptors,
                ),
            ):
                yield Stack(env, emulator, gateway_url, task_queue, http, meetings)
    finally:
        server.should_exit = True
        await serving
