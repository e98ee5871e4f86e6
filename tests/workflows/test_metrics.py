"""The worker's one /metrics endpoint, against the real thing: a worker runtime with the SDK's exporter,
a real MeetingWorkflow run on the emulator, and both the SDK's own exporter and the endpoint fetched.

Every SDK metric must reach the endpoint exactly as the SDK exports it (the same names, no suffix
added, no ``_created`` sample invented), beside roomkeeper's own metrics and the census.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from common.metrics import PrometheusRequestObserver
from common.settings import Settings
from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from roomkeeper.census import count_once
from roomkeeper.metrics_server import CONTENT_TYPE, start_observability
from roomkeeper.worker import running_worker
from tests.support import running_emulator
from tests.task_failures import failed_workflow_tasks
from twilio_video.client import TwilioCredentials, VideoClient
from workflows.meeting import MeetingWorkflow, search_attributes_for
from workflows.meeting_input import MeetingSpec
from workflows.meeting_state import MeetingInput
from workflows.meeting_status import Phase


@dataclass
class Scrape:
    """What one worker served after one real meeting."""

    sdk: str  # the SDK exporter's own text, fetched directly
    endpoint: str  # the worker's /metrics
    content_type: str
    counts: dict[Phase, int]
    task_queue: str


def type_lines(text: str) -> dict[str, str]:
    """Family name -> type, from the ``# TYPE`` lines, exactly as written."""
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))


def sample_names(text: str) -> set[str]:
    """Every sample's metric name, exactly as written (no parser's normalisation)."""
    return {re.split(r"[{ ]", line, maxsplit=1)[0] for line in text.splitlines() if line and line[0] != "#"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest_asyncio.fixture(scope="module")
async def scrape(temporal_env: WorkflowEnvironment) -> AsyncIterator[Scrape]:
    started = datetime.now(UTC) - timedelta(seconds=1)
    runtime, server = start_observability(0, host="127.0.0.1")
    task_queue = f"metrics-{uuid.uuid4()}"
    try:
        client = await Client.connect(
            temporal_env.client.service_client.config.target_host,
            data_converter=pydantic_data_converter,
            runtime=runtime,
        )
        with running_emulator() as emulator:
            settings = Settings(_env_file=None, task_queue=task_queue, public_url="http://127.0.0.1:9")
            credentials = TwilioCredentials.from_auth_token(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)
            async with (
                VideoClient(credentials, emulator.url, observer=PrometheusRequestObserver()) as video,
                running_worker(client, settings, video, sweep=None, graceful_shutdown=timedelta(seconds=1)),
            ):
                start = datetime.now(UTC)
                spec = MeetingSpec(
                    meeting_id=f"m-{uuid.uuid4().hex[:8]}",
                    start_time=start,
                    end_time=start + timedelta(seconds=2),
                )
                result = await client.execute_workflow(
                    MeetingWorkflow.run,
                    MeetingInput(spec),
                    id=f"meeting-{spec.meeting_id}",
                    task_queue=task_queue,
                    search_attributes=search_attributes_for(spec),
                )
                assert result.ended_by == "schedule"
                counts = await count_once(client, task_queue)
        # Started here, so the autouse check (which starts after module fixtures) would not see it.
        assert await failed_workflow_tasks(temporal_env.client, started) == []
        assert server.sdk_metrics_url is not None
        async with httpx.AsyncClient() as http:
            sdk = (await http.get(server.sdk_metrics_url)).text
            response = await http.get(f"http://127.0.0.1:{server.port}/metrics")
        yield Scrape(sdk, response.text, response.headers["content-type"], counts, task_queue)
    finally:
        server.stop()


def test_sdk_metrics_are_served_exactly_as_the_sdk_exports_them(scrape: Scrape) -> None:
    sdk_families = type_lines(scrape.sdk)
    served_families = type_lines(scrape.endpoint)
    assert sdk_families, "the SDK exported nothing"
    # Byte-identical names and types: every SDK family is served as it is declared, and nothing else
    # is served under the SDK's prefix (no renamed copy, no invented _created family).
    assert {n: t for n, t in served_families.items() if n.startswith("temporal_")} == sdk_families
    assert {n for n in sample_names(scrape.endpoint) if n.startswith("temporal_")} == sample_names(scrape.sdk)
    # The SDK itself names its counters with _total (counters_total_suffix): the names users had.
    assert sdk_families["temporal_workflow_completed_total"] == "counter"
    assert sdk_families["temporal_request_total"] == "counter"
    assert "temporal_workflow_task_execution_latency" in sdk_families  # histograms keep their names
    assert scrape.content_type == CONTENT_TYPE


def test_no_family_is_declared_twice(scrape: Scrape) -> None:
    declared = re.findall(r"^# TYPE (\S+) ", scrape.endpoint, re.MULTILINE)
    assert len(declared) == len(set(declared)), sorted(n for n in declared if declared.count(n) > 1)


def test_roomkeeper_metrics_are_served_beside_them(scrape: Scrape) -> None:
    found = samples(scrape.endpoint)
    names = {name for name, _ in found}
    ours = ("task_queue", scrape.task_queue)
    created = [value for (name, labels), value in found.items() if name == "roomkeeper_rooms_created_total"
               and ours in labels and ("adopted", "false") in labels]  # fmt: skip
    assert created == [1]
    assert any(
        name == "roomkeeper_meetings_ended_total" and ("ended_by", "schedule") in labels
        for name, labels in found
    )
    assert (
        "roomkeeper_room_end_lag_seconds_bucket" in names
        and "roomkeeper_room_open_lead_seconds_count" in names
    )
    assert any(
        n == "roomkeeper_room_end_lag_seconds_bucket" and ("le", "0.5") in labels for n, labels in found
    )
    assert any(
        n == "roomkeeper_twilio_requests_total" and ("operation", "CreateRoom") in labels
        for n, labels in found
    )
    assert scrape.counts[Phase.COMPLETED] >= 1
    census = ("roomkeeper_meetings", (("phase", "completed"), ours))
    assert found[census] == scrape.counts[Phase.COMPLETED]


def test_promtool_accepts_the_endpoint(scrape: Scrape) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=scrape.endpoint, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
