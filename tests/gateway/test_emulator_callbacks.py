"""End to end: the emulator signs and sends status callbacks exactly as Twilio would, to a StatusCallback
built by ``status_callback_url`` for a workflow id that needs escaping; the gateway accepts every one
and signals that workflow."""

from __future__ import annotations

import pytest

from common.status_callback import status_callback_url
from tests.gateway.harness import running_gateway
from tests.support import running_emulator, wait_until


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("workflow_id", ["meeting-a/b: c@d", "Zürich 100%/?#&=+", ".."])
def test_emulator_callbacks_reach_a_workflow_whose_id_needs_escaping(workflow_id: str, method: str) -> None:
    with running_gateway() as gateway, running_emulator() as emulator:
        callback = status_callback_url(gateway.url, workflow_id)
        api, control = emulator.api(), emulator.control()
        created = api.post(
            "/v1/Rooms",
            data={"UniqueName": "escaped", "StatusCallback": callback, "StatusCallbackMethod": method},
        )
        assert created.status_code == 201, created.text
        room = created.json()
        assert room["status_callback"] == callback
        assert (
            control.post("/emulator/Rooms/escaped/Participants", json={"Identity": "alice"}).status_code
            == 201
        )
        assert control.post("/emulator/Rooms/escaped/Participants/alice/Disconnect").status_code == 200
        assert api.post(f"/v1/Rooms/{room['sid']}", data={"Status": "completed"}).status_code == 202

        # Delivery is asynchronous by design (a pool of senders): wait for all four, in any order.
        def delivered() -> list[dict]:
            log: list[dict] = control.get("/emulator/callbacks").json()["callbacks"]
            return log if len(log) >= 4 else []

        deliveries = wait_until(delivered, what="four callback deliveries")
        assert [(d["url"].split("?")[0], d["method"]) for d in deliveries] == [(callback, method)] * 4
        assert {(d["result"], d["status_code"]) for d in deliveries} == {("delivered", 202)}, deliveries

        signals = sorted(gateway.signaller.signals, key=lambda signal: signal[1].sequence_number or 0)
        assert [workflow_id for workflow_id, _ in signals] == [workflow_id] * 4
        assert [event.kind.value for _, event in signals] == [
            "room-created",
            "participant-connected",
            "participant-disconnected",
            "room-ended",
        ]
        assert {event.room_sid for _, event in signals} == {room["sid"]}
        assert signals[1][1].participant_identity == "alice"
