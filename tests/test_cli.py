"""The ``roomkeeper`` command as a user runs it: a real subprocess on a free port."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import httpx

from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.support import wait_until


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
