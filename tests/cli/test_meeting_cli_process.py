"""The installed ``roomkeeper`` script, as a user runs it: exit statuses, stdout/stderr, never a traceback,
Ctrl-C, and a start-up that imports nothing heavy for ``--help``."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from roomkeeper.serving import bind
from tests.cli.support import ROOMKEEPER, clean_environment, on, script
from tests.workflows.stack import Stack, meeting_stack
from workflows.meeting_status import MeetingStatus, Phase


@pytest_asyncio.fixture
async def stack(temporal_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(temporal_env) as running:
        yield running


@pytest.mark.slow  # nine processes, each importing the Temporal SDK
async def test_the_script_schedules_shows_and_fails_in_one_line(stack: Stack) -> None:
    meeting_id = f"script-{uuid.uuid4().hex[:8]}"
    ran = await script(
        "meeting", "schedule", "--id", meeting_id, "--title", "From a shell", "--start", "in 10m",
        "--duration", "30m", *on(stack),
    )  # fmt: skip
    assert (ran.code, ran.err) == (0, ""), ran
    assert ran.out.startswith(f"scheduled {meeting_id} (From a shell)\n")

    ran = await script("meeting", "status", meeting_id, "--json", *on(stack))
    assert (ran.code, ran.err) == (0, ""), ran
    assert MeetingStatus.model_validate_json(ran.out).phase is Phase.SCHEDULED

    # The environment names Temporal as well as the flags do.
    ran = await script(
        "meeting", "status", meeting_id,
        TEMPORAL_ADDRESS=on(stack)[1], ROOMKEEPER_TASK_QUEUE=stack.task_queue,
    )  # fmt: skip
    assert ran.code == 0 and "phase      scheduled" in ran.out.splitlines(), ran
    # ... and the flags win over it (over Temporal's env config too, which reads the same variables).
    ran = await script(
        "meeting", "status", meeting_id, *on(stack),
        TEMPORAL_ADDRESS=f"127.0.0.1:{closed_port()}", TEMPORAL_NAMESPACE="elsewhere",
        ROOMKEEPER_TASK_QUEUE="not-this-one",
    )  # fmt: skip
    assert ran.code == 0 and "phase      scheduled" in ran.out.splitlines(), ran

    failures = {
        ("meeting", "status", "nobody-home", *on(stack)): (
            1,
            "roomkeeper meeting status: no meeting 'nobody-home' (no workflow 'meeting-nobody-home')\n",
        ),
        ("meeting", "schedule", "--start", "2031-12-01 09:00", "--duration", "1h", *on(stack)): (
            2,
            "roomkeeper meeting schedule: --start: '2031-12-01 09:00' has no time zone: add an IANA zone "
            "('2031-12-01 09:00 Europe/Berlin') or an offset ('2031-12-01T09:00+01:00'), or give "
            "--timezone\n",
        ),
        ("meeting", "schedule", "--start", "in 1h", "--duration", "1h", "--max-participants", "60"): (
            2,
            "roomkeeper meeting schedule: room.max_participants: 60 is out of range; allowed from 1 up to 50 "
            "for a 'group' room\n",
        ),
        ("meeting", "list", "--address", f"127.0.0.1:{closed_port()}"): (1, None),
        ("meeting", "cancel", meeting_id, "--reason", "done", *on(stack)): (0, ""),
    }
    for argv, (code, err) in failures.items():
        ran = await script(*argv)
        assert ran.code == code, (argv, ran)
        assert "Traceback" not in ran.err, ran
        if err is not None:
            assert ran.err == err, ran
        else:
            assert ran.err.startswith("roomkeeper meeting list: cannot reach Temporal at 127.0.0.1:"), ran
            assert ran.err.count("\n") == 1, ran

    ran = await script("meeting", "schedule", "--max-participants", "x")
    assert ran.code == 2 and "Traceback" not in ran.err
    assert ran.err.endswith("error: argument --max-participants: not a whole number: 'x'\n")


def closed_port() -> int:
    sock = bind()
    port = int(sock.getsockname()[1])
    sock.close()
    return port


async def test_ctrl_c_ends_it_quietly_with_130() -> None:
    # A port that accepts connections but never answers: the command waits there, connecting.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        silent.setblocking(False)
        port = silent.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            str(ROOMKEEPER), "meeting", "list", "--address", f"127.0.0.1:{port}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=clean_environment(),
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        connection, _ = await asyncio.wait_for(loop.sock_accept(silent), 30)
        with connection:
            process.send_signal(signal.SIGINT)
            out, err = await asyncio.wait_for(process.communicate(), 30)
    assert (process.returncode, out, err) == (130, b"", b"")


def test_help_starts_without_the_heavy_modules() -> None:
    # `roomkeeper meeting …` parses with argparse and roomkeeper.when only; Temporal's SDK, pydantic and
    # the models load once a subcommand runs (each of them costs a good part of a second to import).
    probe = (
        "import json, sys\n"
        "from roomkeeper import cli\n"
        "cli.build_parser('meeting').parse_args(['meeting', 'status', 'x'])\n"
        "heavy = {'temporalio', 'pydantic', 'uvicorn', 'fastapi', 'emulator', 'workflows', 'httpx'}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & heavy)))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(loaded.stdout) == []
    shown = subprocess.run(
        [str(ROOMKEEPER), "meeting", "--help"], capture_output=True, text=True, check=False
    )
    assert (shown.returncode, shown.stderr) == (0, "")
    for action in ("schedule", "status", "list", "extend", "reschedule", "end", "cancel"):
        assert f"    {action}" in shown.stdout
