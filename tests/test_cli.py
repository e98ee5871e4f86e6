"""The ``roomkeeper`` command as a user runs it: a real subprocess on a free port."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client

from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.support import wait_until
from tests.task_failures import failed_workflow_tasks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_roomkeeper_emulator_serves_and_stops_cleanly() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "roomkeeper.cli", "emulator", "--port", str(port), "--time-scale", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/emulator", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, timeout=20, what="the emulator to answer")
        created = httpx.post(
            f"http://127.0.0.1:{port}/v1/Rooms",
            data={"UniqueName": "cli"},
            auth=(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN),
        )
        assert created.status_code == 201
        assert httpx.get(f"http://127.0.0.1:{port}/emulator").json()["time_scale"] == 60
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert f"TWILIO_VIDEO_BASE_URL=http://127.0.0.1:{port}" in out
    assert TEST_AUTH_TOKEN in out  # the public test token is printed...


def test_custom_auth_token_is_never_printed() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "roomkeeper.cli",
            "emulator",
            "--port",
            "0",
            "--auth-token",
            "s3cr3t-value",
            "--help",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "s3cr3t-value" not in result.stdout
    from emulator.app import EmulatorConfig
    from emulator.cli import describe
    from emulator.credentials import Credentials

    banner = describe(EmulatorConfig(credentials=Credentials(TEST_ACCOUNT_SID, "s3cr3t-value")), "http://x")
    assert "s3cr3t-value" not in banner and "not shown" in banner


def test_bad_flags_are_named() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "roomkeeper.cli", "emulator", "--account-sid", "nope"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "--account-sid must be AC followed by 32 hex digits" in result.stderr


OUR_VARIABLES = ("TWILIO_", "ROOMKEEPER_", "TEMPORAL_")


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples in Prometheus text that carry ``labels``."""
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


async def failed_tasks(port: int, since: datetime) -> list[str]:
    client = await Client.connect(f"127.0.0.1:{port}")
    return await failed_workflow_tasks(client, since)


@pytest.mark.slow
def test_roomkeeper_dev_demo_brings_up_the_stack_and_stops_it() -> None:
    started = datetime.now(UTC) - timedelta(seconds=1)
    # Five ports chosen free can be taken by another server of this test run before dev binds them;
    # dev then says so and exits at once, and the stack is started again on new ones.
    for _attempt in range(3):
        ports = {name: free_port() for name in ("temporal", "ui", "gateway", "emulator", "metrics")}
        process = subprocess.Popen(
            [
                sys.executable, "-m", "roomkeeper.cli", "dev", "--demo",
                "--temporal-port", str(ports["temporal"]), "--ui-port", str(ports["ui"]),
                "--gateway-port", str(ports["gateway"]), "--emulator-port", str(ports["emulator"]),
                "--metrics-port", str(ports["metrics"]),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith(OUR_VARIABLES)},
        )  # fmt: skip
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            break  # still running: its ports were free
        said = process.communicate()[0]
        assert "is taken" in said, said
    try:

        def demo_rooms() -> int:
            try:
                return int(
                    httpx.get(f"http://127.0.0.1:{ports['emulator']}/emulator", timeout=1).json()[
                        "rooms_total"
                    ]
                )
            except (httpx.TransportError, ValueError):
                return 0

        try:
            wait_until(lambda: demo_rooms() >= 1, timeout=90, what="the first demo room")
        except AssertionError as error:
            process.send_signal(signal.SIGINT)
            raise AssertionError(
                f"{error}; roomkeeper dev said:\n{process.communicate(timeout=60)[0]}"
            ) from None
        assert httpx.get(f"http://127.0.0.1:{ports['gateway']}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"http://127.0.0.1:{ports['ui']}/", timeout=5).status_code == 200
        metrics = httpx.get(f"http://127.0.0.1:{ports['metrics']}/metrics").text
        assert (
            'roomkeeper_twilio_requests_total{operation="CreateRoom",outcome="success",status="201"}'
            in metrics
        )
        assert "temporal_workflow_task_execution_latency" in metrics  # the SDK's, served alongside ours
        # The demo opens its rooms 20 s early: a negative open lead, and no workflow task failed for it.
        early = sample(metrics, "roomkeeper_room_open_lead_seconds_bucket", le="0.0")
        assert early >= 1 and sample(metrics, "roomkeeper_room_open_lead_seconds_bucket", le="-30.0") == 0

        def created_per_twilio_and_per_metrics() -> tuple[int, float]:
            log = httpx.get(f"http://127.0.0.1:{ports['emulator']}/emulator/requests").json()["requests"]
            created = sum(1 for r in log if r["operation"] == "CreateRoom" and r["status"] == 201)
            text = httpx.get(f"http://127.0.0.1:{ports['metrics']}/metrics").text
            return created, sample(text, "roomkeeper_rooms_created_total")

        wait_until(
            lambda: len(set(created_per_twilio_and_per_metrics())) == 1, what="counters = Twilio's log"
        )
        assert asyncio.run(failed_tasks(ports["temporal"], started)) == []
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    assert f"UI http://127.0.0.1:{ports['ui']}" in out
    with socket.socket() as probe:  # the Temporal dev server child is gone with it
        assert probe.connect_ex(("127.0.0.1", ports["temporal"])) != 0
