"""docs/api.md's walkthrough, run as written against the real stack: its shell blocks in one bash (as in
one terminal), with three substitutions only: the gateway's URL, the token, and a fresh meeting id (the
suite's Temporal server is shared, and ``meeting-standup`` is the README's)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.support import wait_until_async
from tests.workflows.stack import Stack, meeting_stack

ROOT = Path(__file__).resolve().parents[2]
#: Shaped like the tokens dev makes (``secrets.token_urlsafe``), which a shell takes unquoted.
TOKEN = "dG9rZW4tZm9yLXRoZS13YWxrdGhyb3Vn"

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="the walkthrough uses curl")


def walkthrough_blocks() -> list[str]:
    page = (ROOT / "docs" / "api.md").read_text()
    section = page.split("## Walkthrough", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


@pytest_asyncio.fixture
async def stack(temporal_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(temporal_env, api_token=TOKEN) as running:
        yield running


async def bash(script: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "bash", "-euo", "pipefail", "-c", script,
        cwd=ROOT, env=dict(os.environ), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    text = out.decode()
    assert process.returncode == 0, text
    return text


def documents(text: str) -> list[dict]:
    """The JSON documents curl printed one after another (it adds no newline of its own)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := text.find("{", at)) != -1:
        document, at = decoder.raw_decode(text, at)
        found.append(document)
    return found


async def test_the_walkthrough_runs_as_written(stack: Stack) -> None:
    meeting_id = f"standup-{uuid.uuid4().hex[:8]}"

    def as_here(block: str) -> str:
        return (
            block.replace("http://127.0.0.1:8000", stack.gateway_url)
            .replace("paste-the-token-dev-printed", TOKEN)
            .replace("standup", meeting_id)
        )

    schedule, steer = (as_here(block) for block in walkthrough_blocks())
    # The block, then its last line again (same $meeting), as the text after it says.
    resend = schedule.strip().splitlines()[-1]
    first, again = (await bash(f"{schedule}\necho\necho ====\n{resend}")).split("\n====\n")
    head, _, body = first.replace("\r\n", "\n").partition("\n\n")
    assert head.startswith("HTTP/1.1 201 Created"), first
    assert f"location: /meetings/{meeting_id}" in head.lower(), first
    created = json.loads(body)
    assert created["created"] is True and created["status"]["phase"] == "scheduled"
    assert again.startswith("HTTP/1.1 200 OK") and '"created":false' in again, again

    # The listing below reads visibility, which lags a start by a moment.
    meetings = stack.meetings
    assert meetings is not None
    await wait_until_async(
        lambda: meetings.list_meetings(page_size=500),
        lambda page: meeting_id in [m.meeting_id for m in page.meetings],
        what="the meeting in the listing",
    )
    # The second block needs what the first one set up (token, URL, header), as in the same terminal.
    setup = schedule.split("\nstart=", 1)[0]
    status, listing, extended, token, cancelled = documents(await bash(f"{setup}\n{steer}"))
    assert status["meeting_id"] == meeting_id and status["phase"] == "scheduled"
    assert meeting_id in [m["meeting_id"] for m in listing["meetings"]]
    assert extended["end_time"] > status["end_time"]
    # The token is alice's, from the opening to the extended end plus the default five minutes.
    assert (token["identity"], token["room"], token["capped"]) == ("alice", meeting_id, False)
    assert datetime.fromisoformat(token["not_before"]) == datetime.fromisoformat(status["open_at"])
    assert datetime.fromisoformat(token["expires_at"]) == datetime.fromisoformat(
        extended["end_time"]
    ) + timedelta(minutes=5)
    assert cancelled["detail"].startswith("cancel signal sent")
    result = await stack.env.client.get_workflow_handle(f"meeting-{meeting_id}").result()
    assert result["ended_by"] == "cancelled" and result["reason"] == "host ill"
