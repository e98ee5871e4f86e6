"""Fixtures of the meetings API's tests: the stack behind the meetings API's test token, and a client
carrying it. (A module defining its own ``stack`` or ``api`` uses its own.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.gateway.meetings_support import AUTH, TOKEN
from tests.workflows.stack import Stack, meeting_stack


@pytest_asyncio.fixture
async def stack(temporal_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(temporal_env, api_token=TOKEN) as running:
        yield running


@pytest_asyncio.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers=AUTH, timeout=30) as http:
        yield http
