"""The worker's one /metrics endpoint: SDK metrics, MeetingWorkflow's own, Twilio requests, the census."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from common.metrics import PrometheusRequestObserver
from common.settings import Settings
from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from roomkeeper.census import count_once
from roomkeeper.metrics_server import free_loopback_port, start_observability
from roomkeeper.worker import running_worker
from tests.support import running_emulator
from twilio_video.client import TwilioCredentials, VideoClient
from workflows.meeting import MeetingWorkflow, search_attributes_for
from workflows.meeting_input import MeetingSpec
from workflows.meeting_state import MeetingInput
from workflows.meeting_status import Phase


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_one_endpoint_serves_sdk_workflow_and_twilio_metrics(temporal_env: WorkflowEnvironment) -> None:
    port = free_loopback_port()
    runtime, server = start_observability(port, host="127.0.0.1")
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
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    finally:
        server.stop()
    found = samples(text)
    names = {name for name, _ in found}
    created = [value for (name, labels), value in found.items() if name == "roomkeeper_rooms_created_total"
               and ("task_queue", task_queue) in labels and ("adopted", "false") in labels]  # fmt: skip
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
    assert "temporal_workflow_completed_total" in names  # the SDK's own
    assert any(
        n == "roomkeeper_twilio_requests_total" and ("operation", "CreateRoom") in labels
        for n, labels in found
    )
    assert counts[Phase.COMPLETED] >= 1
    assert found[("roomkeeper_meetings", (("phase", "completed"),))] == counts[Phase.COMPLETED]
