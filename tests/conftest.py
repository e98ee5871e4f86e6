from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from common import search_attributes
from tests.calendar_feeds.feeds_http import FeedServer, served_feed
from tests.support import CallbackSink, RunningEmulator, callback_sink, running_emulator
from tests.task_failures import BENIGN_TASK_FAILURE_CAUSES, failed_workflow_tasks
from tests.temporal_env import TEMPORAL_CLI


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every test its own node id, and refuse to run if two share one.

    Since pytest 9.2 a test's node id is built from its function's name and its ``parametrize`` ids;
    schemathesis makes one test per API operation without either, so all of them got the same id
    (``test_emulator_conforms_to_twilios_openapi``). pytest-xdist's file and group schedulers key tests
    by node id and silently ran only one operation of 22 (caught by the success-path guard). Each
    such test gets back its name (``...[GET /v1/Rooms/{Sid}]``) as its id, as before pytest 9.2.
    """
    shared = Counter(item.nodeid for item in items)
    for item in items:
        if shared[item.nodeid] > 1 and isinstance(item, pytest.Function) and item.name != item.originalname:
            assert item.parent is not None
            item._id = item._id.parse(f"{item.parent.nodeid}::{item.name}")
    duplicated = sorted(nodeid for nodeid, n in Counter(item.nodeid for item in items).items() if n > 1)
    if duplicated:
        raise pytest.UsageError(f"tests sharing a node id would run once under xdist: {duplicated}")


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    """A fresh emulator over real HTTP: manual clock, rate limits off."""
    with running_emulator() as running:
        yield running


@pytest.fixture
def feed_server() -> Iterator[tuple[FeedServer, str]]:
    """A calendar feed over real HTTP (``tests.calendar_feeds.feeds_http``) and its address."""
    with served_feed() as served:
        yield served


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


# ------------------------------------------------------------------ no failed workflow task, anywhere


@pytest_asyncio.fixture(autouse=True)
async def _no_failed_workflow_tasks(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Fail any test whose workflows had a failed (or timed-out) workflow task.

    A retried workflow task is how a crash hides: the workflow "eventually recovers" and the test goes
    green. Every workflow started on the suite's Temporal servers while the test ran is checked. A test
    that provokes failures on purpose lists the causes with ``@pytest.mark.task_failures(...)``
    (``"timed_out"`` for a WorkflowTaskTimedOut after a deliberate worker kill).
    """
    envs = [
        request.getfixturevalue(name)
        for name in ("temporal_env", "skipping_env")
        if name in request.fixturenames
    ]
    since = datetime.now(UTC) - timedelta(seconds=1)
    yield
    if not envs:
        return
    marker = request.node.get_closest_marker("task_failures")
    allowed = BENIGN_TASK_FAILURE_CAUSES | set(marker.args if marker else ())
    problems = []
    for env in envs:
        problems += await failed_workflow_tasks(env.client, since, allowed)
    assert not problems, "workflow tasks failed:\n" + "\n".join(problems)
