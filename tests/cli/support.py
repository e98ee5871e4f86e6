"""Running ``roomkeeper meeting`` from the tests: in-process (``main_async``) and as the installed script."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roomkeeper import meeting_cli
from tests.workflows.stack import Stack

#: The console script pip installed (``[project.scripts]``), as a user runs it.
ROOMKEEPER = Path(sys.executable).parent / "roomkeeper"
#: Our settings' variables, kept out of subprocesses so only the flags say where Temporal is.
OUR_VARIABLES = ("TWILIO_", "ROOMKEEPER_", "TEMPORAL_")


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}--- stderr\n{self.err}"


def address(stack: Stack) -> str:
    return stack.env.client.service_client.config.target_host


def on(stack: Stack) -> list[str]:
    """The flags that point a subcommand at the stack's Temporal and task queue."""
    return ["--address", address(stack), "--namespace", "default", "--task-queue", stack.task_queue]


async def meeting(*argv: str) -> Ran:
    """``roomkeeper meeting ARGV`` in this process and event loop."""
    out, err = io.StringIO(), io.StringIO()
    code = await meeting_cli.main_async(list(argv), stdout=out, stderr=err)
    return Ran(code, out.getvalue(), err.getvalue())


def clean_environment(**extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(OUR_VARIABLES)}
    return environment | extra


async def script(*argv: str, **env: str) -> Ran:
    """The installed ``roomkeeper`` script as a subprocess (given a minute at most)."""
    process = await asyncio.create_subprocess_exec(
        str(ROOMKEEPER),
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_environment(**env),
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())
