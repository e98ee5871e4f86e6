"""``roomkeeper dev`` runs on its own parts, whatever the shell exports.

A shell set up for production (``TEMPORAL_ADDRESS``, Twilio credentials and base URL, a public URL)
must not redirect dev's worker or gateway: dev connects to the Temporal dev server it started, talks to
its embedded emulator with the emulator's test account, and names each variable it ignored in one line,
never with its value.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from roomkeeper.devstack import DevPorts, configured_names, ignored_variables
from tests.cli.support import script
from tests.task_failures import failed_workflow_tasks
from tests.test_cli import free_port
from tests.workflows.helpers import meeting
from workflows.meeting import MeetingWorkflow, search_attributes_for
from workflows.meeting_state import MeetingInput
from workflows.meeting_status import MeetingStatus, Phase

OUR_PREFIXES = ("TWILIO_", "ROOMKEEPER_", "TEMPORAL_", "CALCOM_")
UP = "roomkeeper dev is up"

#: Production-looking values a shell might export; none may reach dev's parts or its output.
AUTH_TOKEN = "Zq}Tok^en|Wv~8Xy"
API_SECRET = "Ap{Sec|re^tJ~3Kq"
TEMPORAL_API_KEY = "Tk|Ap^iK{ey~7Mz"
#: dev takes the meetings API's token from the shell (it is dev's to take) and never prints it.
API_TOKEN = "Mt|Ap^iT{ok~2Rd"
EXPORTED = {
    "TEMPORAL_ADDRESS": "127.0.0.1:1",
    "TEMPORAL_NAMESPACE": "production",
    "TEMPORAL_API_KEY": TEMPORAL_API_KEY,
    "TWILIO_VIDEO_BASE_URL": "http://127.0.0.1:1",
    "TWILIO_ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "TWILIO_API_KEY": "SK" + "fedcba9876543210" * 2,
    "TWILIO_API_SECRET": API_SECRET,
    "ROOMKEEPER_PUBLIC_URL": "https://rooms.example.com",
}


def clean_environment(**extra: str) -> dict[str, str]:
    """The test runner's environment without any roomkeeper, Twilio or Temporal setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OUR_PREFIXES)}
    env.update(extra)
    return env


class DevProcess:
    """``roomkeeper dev`` as a subprocess on free ports; its output is collected as it comes."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.ports = {name: free_port() for name in ("temporal", "ui", "gateway", "emulator", "metrics")}
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "roomkeeper.cli", "dev",
                "--temporal-port", str(self.ports["temporal"]), "--ui-port", str(self.ports["ui"]),
                "--gateway-port", str(self.ports["gateway"]), "--emulator-port", str(self.ports["emulator"]),
                "--metrics-port", str(self.ports["metrics"]),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=cwd,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_until_up_or_exited(self, within: float = 90.0) -> bool:
        """True once the stack is up; False if dev exited first (a configuration error, say)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if UP in self.output:
                return True
            if self.process.poll() is not None:
                self._reader.join(10)
                return False
            time.sleep(0.05)
        raise AssertionError(f"roomkeeper dev neither came up nor exited within {within}s:\n{self.output}")

    def stop(self, within: float = 60.0) -> int:
        """SIGINT (Ctrl-C), wait for the exit and the last line of output; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(within)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"roomkeeper dev did not stop within {within}s:\n{self.output}") from None
        finally:
            self._reader.join(10)
        return self.process.returncode


def assert_never_printed(output: str, *secrets: str) -> None:
    """No piece of four or more characters of any secret appears anywhere in ``output``."""
    for secret in secrets:
        for start in range(len(secret) - 3):
            piece = secret[start : start + 4]
            assert piece not in output, f"{piece!r}, part of a secret, was printed:\n{output}"


async def test_dev_ignores_exported_production_settings_and_says_so(tmp_path: Path) -> None:
    started = datetime.now(UTC) - timedelta(seconds=1)
    dev = DevProcess(clean_environment(**EXPORTED, ROOMKEEPER_API_TOKEN=API_TOKEN), cwd=tmp_path)
    try:
        assert dev.wait_until_up_or_exited(), dev.output
        async with asyncio.timeout(120):
            client = await Client.connect(
                f"127.0.0.1:{dev.ports['temporal']}", data_converter=pydantic_data_converter
            )
            # The defaults a user gets: the room opens 120 s before a start a minute away.
            spec = meeting("dev-own-parts", starts_in=timedelta(minutes=1))
            handle = await client.start_workflow(
                MeetingWorkflow.run,
                MeetingInput(spec),
                id="meeting-dev-own-parts",
                task_queue="room-lifecycle",
                search_attributes=search_attributes_for(spec),
            )
            emulator = f"http://127.0.0.1:{dev.ports['emulator']}"

            async def until(check: Callable[[MeetingStatus], bool]) -> None:
                """Poll the status query: the meeting hears of Twilio asynchronously, by design."""
                while True:
                    if check(await handle.query(MeetingWorkflow.status)):
                        return
                    await asyncio.sleep(0.1)

            async with httpx.AsyncClient(timeout=10) as http:
                # The room opens in dev's emulator: the worker used it, with the emulator's account.
                await until(lambda s: s.phase is Phase.OPEN)
                # The meetings API answers with the exported token, and only with it.
                meetings = f"http://127.0.0.1:{dev.ports['gateway']}/meetings/dev-own-parts"
                status = await http.get(meetings, headers={"Authorization": f"Bearer {API_TOKEN}"})
                assert status.status_code == 200 and status.json()["phase"] == "open", status.text
                assert (await http.get(meetings, headers={"Authorization": "Bearer x"})).status_code == 401
                joined = await http.post(
                    f"{emulator}/emulator/Rooms/dev-own-parts/Participants", json={"Identity": "alice"}
                )
                assert joined.status_code == 201, joined.text
                # Join tokens work out of the box: dev's gateway signs them with the emulator's public
                # API key, and so does `roomkeeper meeting token` in a second terminal with nothing set.
                issued = await http.post(
                    f"{meetings}/tokens",
                    json={"identity": "bob"},
                    headers={"Authorization": f"Bearer {API_TOKEN}"},
                )
                assert issued.status_code == 200, issued.text
                ran = await script(
                    "meeting", "token", "dev-own-parts", "--identity", "carol",
                    "--address", f"127.0.0.1:{dev.ports['temporal']}",
                )  # fmt: skip
                assert ran.code == 0, ran
                for token in (issued.json()["token"], ran.out.strip()):
                    with_token = await http.post(
                        f"{emulator}/emulator/Rooms/dev-own-parts/Participants", json={"Token": token}
                    )
                    assert with_token.status_code == 201, with_token.text
                # Twilio's callback reaches dev's gateway (not the exported public URL), signed with
                # the token the gateway checks.
                await until(lambda s: bool(s.participants))
                callbacks = (await http.get(f"{emulator}/emulator/callbacks")).json()["callbacks"]
            assert await failed_workflow_tasks(client, started) == []
            gateway = f"http://127.0.0.1:{dev.ports['gateway']}/twilio/status/"
            assert callbacks and all(c["url"].startswith(gateway) for c in callbacks), callbacks
            assert {c["result"] for c in callbacks} == {"delivered"}, callbacks
    finally:
        returncode = dev.stop()
    output = dev.output
    assert returncode == 0, output
    for name in EXPORTED:
        named = [line for line in output.splitlines() if f"roomkeeper dev: ignoring {name} from" in line]
        assert len(named) == 1, f"one line must name {name}:\n{output}"
    assert_never_printed(output, AUTH_TOKEN, API_SECRET, TEMPORAL_API_KEY, API_TOKEN)
    assert '-H "Authorization: Bearer $ROOMKEEPER_API_TOKEN"' in output
    for value in ("127.0.0.1:1", "production", "rooms.example.com", EXPORTED["TWILIO_ACCOUNT_SID"]):
        assert value not in output, f"dev printed the ignored value {value!r}"


def test_variables_from_env_file_and_secrets_dir_are_named_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"TWILIO_AUTH_TOKEN={AUTH_TOKEN}\nROOMKEEPER_TASK_QUEUE=mine\nEMPTY=\n")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "twilio_api_secret").write_text(API_SECRET)
    (secrets / "calcom_webhook_secret").write_text("dev may use this one")
    ports = DevPorts(temporal=1, emulator=2, gateway=3, metrics=4)
    environ = {"TEMPORAL_PROFILE": "prod", "TEMPORAL_ADDRESS": "", "ROOMKEEPER_SECRETS_DIR": str(secrets)}
    lines = ignored_variables(configured_names(environ), ports)
    assert lines == [
        "roomkeeper dev: ignoring TEMPORAL_PROFILE from the environment: "
        "dev uses only the Temporal dev server it starts, 127.0.0.1:1",
        "roomkeeper dev: ignoring TWILIO_AUTH_TOKEN from .env: "
        "dev uses only its embedded Twilio emulator, http://127.0.0.1:2, with the emulator's test account",
        "roomkeeper dev: ignoring TWILIO_API_SECRET from ROOMKEEPER_SECRETS_DIR: "
        "dev uses only its embedded Twilio emulator, http://127.0.0.1:2, with the emulator's test account",
    ]
