"""Status callbacks that never arrive, or arrive twice, out of order, forged or malformed."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.sweeper import SweepConfig
from emulator.app import EmulatorConfig
from emulator.clock import SystemClock
from emulator.credentials import TEST_AUTH_TOKEN
from tests.support import callback_sink
from tests.workflows.helpers import meeting
from tests.workflows.stack import Stack, meeting_stack
from twilio_video.signature import compute_signature
from workflows.meeting import MeetingWorkflow
from workflows.meeting_control import EndRequest
from workflows.meeting_status import Phase

#: Detection bound the product promises with every callback lost.
NOTICE_WITHIN = 30.0


@pytest.mark.slow
async def test_with_every_callback_lost_the_reconciler_notices_each_change(
    temporal_env: WorkflowEnvironment,
) -> None:
    # Real time here: the sweep is a real loop. Callbacks go to a closed port and are all lost.
    sweep = SweepConfig(sweep_period_seconds=1.0, max_reads_per_second=20, run_for_seconds=300)
    async with meeting_stack(
        temporal_env,
        emulator_config=EmulatorConfig(clock=SystemClock(), rate_limits=True),
        sweep=sweep,
        public_url="http://127.0.0.1:9",
    ) as stack:
        handle = await stack.start(meeting("lost-callbacks", starts_in=timedelta(seconds=30)), skip=True)
        first = await stack.wait_for(
            handle, lambda s: s.phase is Phase.OPEN, "the room to open", within=NOTICE_WITHIN
        )

        started = time.monotonic()
        await stack.join("lost-callbacks", "alice")
        await stack.wait_for(
            handle, lambda s: [p.identity for p in s.participants] == ["alice"], "alice", within=NOTICE_WITHIN
        )
        await stack.join("lost-callbacks", "bob")
        await stack.wait_for(handle, lambda s: len(s.participants) == 2, "bob", within=NOTICE_WITHIN)
        await stack.leave("lost-callbacks", "alice")
        await stack.wait_for(
            handle,
            lambda s: [p.identity for p in s.participants] == ["bob"],
            "alice leaving",
            within=NOTICE_WITHIN,
        )

        # Someone completes the room behind roomkeeper's back: noticed, and a fresh room opened.
        assert (
            await stack.twilio("POST", f"/v1/Rooms/{first.room_sid}", data={"Status": "completed"})
        ).status_code == 202
        second = await stack.wait_for(
            handle,
            lambda s: s.room_sid != first.room_sid and s.phase is Phase.OPEN,
            "a new room",
            within=NOTICE_WITHIN,
        )
        assert second.participants == []
        elapsed = time.monotonic() - started

        delivered = (await stack.http.get(f"{stack.emulator.url}/emulator/callbacks")).json()["callbacks"]
        assert delivered and {c["result"] for c in delivered} == {"error"}, (
            "every callback must have been lost"
        )
        statuses = {e["status"] for e in stack.emulator.state.requests}
        assert 429 not in statuses, "the sweep stayed inside the account's read budget"
        summary = await handle.execute_update(MeetingWorkflow.end_now, EndRequest())
        assert summary.room_sids == [first.room_sid, second.room_sid]
        assert summary.identities_seen == ["alice", "bob"]
        print(f"four changes noticed without callbacks in {elapsed:.1f}s")


@pytest_asyncio.fixture
async def stack(skipping_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(skipping_env) as running:
        yield running


def signed_post(stack: Stack, workflow_id: str, params: dict[str, str], token: str = TEST_AUTH_TOKEN):
    url = f"{stack.gateway_url}/twilio/status/{workflow_id}"
    headers = {
        "X-Twilio-Signature": compute_signature(token, url, params),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return stack.http.post(url, content=urlencode(params), headers=headers)


async def test_duplicated_and_reordered_callbacks_are_harmless(skipping_env: WorkflowEnvironment) -> None:
    with callback_sink() as sink:
        # Callbacks go to a recorder first; the test then replays them to the gateway scrambled.
        async with meeting_stack(skipping_env, public_url=sink.server.url) as stack:
            handle = await stack.start(meeting("scrambled", starts_in=timedelta(minutes=1)))
            status = await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")
            await stack.join("scrambled", "alice")
            await stack.join("scrambled", "bob")
            await stack.leave("scrambled", "alice")
            await stack.join("scrambled", "carol")
            captured = [c.params for c in sink.wait_for(5)]
            assert [c["StatusCallbackEvent"] for c in captured][:1] == ["room-created"]

            replay = captured + captured[1:4]  # duplicates
            random.Random(7).shuffle(replay)
            # And the worst order for alice: her disconnect before her connect.
            alice = [c for c in captured if c.get("ParticipantIdentity") == "alice"]
            replay = [alice[1], alice[0], *replay]
            for params in replay:
                response = await signed_post(stack, "meeting-scrambled", params)
                assert response.status_code == 202, response.text
            status = await stack.wait_for(
                handle,
                lambda s: sorted(p.identity for p in s.participants) == ["bob", "carol"],
                "bob and carol",
            )
            assert status.room_sid == captured[0]["RoomSid"]
            summary = await handle.execute_update(MeetingWorkflow.end_now, EndRequest())
            assert summary.participants_seen == 3


async def test_forged_and_malformed_callbacks_are_refused(stack: Stack) -> None:
    handle = await stack.start(meeting("guarded", starts_in=timedelta(minutes=1)))
    status = await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")
    params = {
        "StatusCallbackEvent": "participant-connected",
        "RoomSid": status.room_sid or "",
        "ParticipantSid": "PA" + "e" * 32,
        "ParticipantIdentity": "mallory",
        "Timestamp": "2026-11-25T09:00:00.000Z",
        "SequenceNumber": "9",
    }
    forged = await signed_post(stack, "meeting-guarded", params, token="not-the-token")
    assert forged.status_code == 403
    unsigned = await stack.http.post(f"{stack.gateway_url}/twilio/status/meeting-guarded", data=params)
    assert unsigned.status_code == 403
    malformed = await signed_post(stack, "meeting-guarded", {**params, "Timestamp": "yesterday"})
    assert malformed.status_code == 400 and "Timestamp" in malformed.json()["error"]
    missing = await signed_post(
        stack, "meeting-guarded", {k: v for k, v in params.items() if k != "ParticipantSid"}
    )
    assert missing.status_code == 400 and "ParticipantSid" in missing.json()["error"]
    ignored = await signed_post(stack, "meeting-guarded", {**params, "StatusCallbackEvent": "track-added"})
    assert ignored.status_code == 200
    gone = await signed_post(stack, "meeting-nobody", params)
    assert gone.status_code == 200 and "not running" in gone.json()["ignored"]
    assert (await stack.status(handle)).participants == []  # mallory never got in
    await handle.execute_update(MeetingWorkflow.end_now, EndRequest())
