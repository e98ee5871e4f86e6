from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from tests.support import CallbackSink, RunningEmulator, callback_sink, running_emulator
from tests.temporal_env import TEMPORAL_CLI
from workflows import search_attributes


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    """A fresh emulator over real HTTP: manual clock, rate limits off."""
    with running_emulator() as running:
        yield running


@pytest.fixture
def sink() -> Iterator[CallbackSink]:
    with callback_sink() as running:
        yield running


@pytest_asyncio.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """A local Temporal dev server (in-memory) on a free port, shared by the session."""
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI),
        data_converter=pydantic_data_converter,
        search_attributes=list(search_attributes.ALL),
        dev_server_log_level="error",
    ) as env:
        yield env


@pytest_asyncio.fixture(scope="session")
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server with per-workflow time skipping (hours pass in milliseconds).

    Continue-as-new is suggested after 1,000 history events instead of the default, so long meetings
    exercise it.
    """
    async with await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=str(TEMPORAL_CLI),
        data_converter=pydantic_data_converter,
        search_attributes=list(search_attributes.ALL),
        dev_server_log_level="error",
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.WorkflowTimeSkippingEnabled=true",
            "--dynamic-config-value",
            "limit.historyCount.suggestContinueAsNew=1000",
        ],
    ) as env:
        yield env


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4()}"
