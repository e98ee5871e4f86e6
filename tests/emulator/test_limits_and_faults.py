"""Per-account rate limits and injected faults on the Twilio surface."""

from __future__ import annotations

import httpx
import pytest

from emulator.app import EmulatorConfig
from emulator.clock import ManualClock
from tests.support import RunningEmulator, running_emulator


def test_writes_beyond_20_per_second_get_429_with_retry_after() -> None:
    # A tiny write rate makes the limit deterministic however slow the machine is.
    config = EmulatorConfig(clock=ManualClock(), rate_limits=True, writes_per_second=3, reads_per_second=1000)
    with running_emulator(config) as emulator:
        api = emulator.api()
        statuses = [api.post("/v1/Rooms").status_code for _ in range(4)]
        assert statuses == [201, 201, 201, 429]
        limited = api.post("/v1/Rooms")
        assert limited.status_code == 429 and limited.json()["code"] == 20429
        assert int(limited.headers["Retry-After"]) >= 1
        assert "write requests per second" in limited.json()["message"]
        assert len(emulator.state.world.rooms) == 3  # a 429 is never processed
        assert api.get("/v1/Rooms").status_code == 200  # reads have their own budget


def test_default_limits_are_twilios_80_reads_and_20_writes() -> None:
    config = EmulatorConfig(clock=ManualClock())
    assert (config.reads_per_second, config.writes_per_second, config.rate_limits) == (80, 20, True)


def test_fault_plan_injects_statuses_on_named_operations_only(emulator: RunningEmulator) -> None:
    control, api = emulator.control(), emulator.api()
    plan = {"rate": 1.0, "statuses": [503], "operations": ["CreateRoom"], "retry_after_seconds": 2}
    assert control.post("/emulator/faults", json=plan).status_code == 200
    failed = api.post("/v1/Rooms", data={"UniqueName": "f"})
    assert failed.status_code == 503 and failed.json()["code"] == 20503
    assert failed.headers["Retry-After"] == "2"
    assert api.get("/v1/Rooms").status_code == 200  # ListRoom not targeted
    assert emulator.state.world.rooms == {}
    log = control.get("/emulator/requests", params={"operation": "CreateRoom"}).json()["requests"]
    assert [(e["status"], e["fault"], e["retry_after"]) for e in log] == [(503, "status", 2)]
    assert control.delete("/emulator/faults").status_code == 204
    assert api.post("/v1/Rooms", data={"UniqueName": "f"}).status_code == 201


@pytest.mark.slow
def test_fault_rate_and_limit(emulator: RunningEmulator) -> None:
    control, api = emulator.control(), emulator.api()
    control.post("/emulator/faults", json={"rate": 0.5, "statuses": [500, 429], "seed": 7})
    statuses = [api.get("/v1/Rooms").status_code for _ in range(200)]
    failures = sum(status != 200 for status in statuses)
    assert 60 < failures < 140  # 0.5 of 200, deterministic for the seed
    assert set(statuses) == {200, 500, 429}
    control.post("/emulator/faults", json={"rate": 1.0, "statuses": [500], "limit": 2})
    assert [api.get("/v1/Rooms").status_code for _ in range(4)] == [500, 500, 200, 200]


def test_latency_is_added_to_matching_operations(emulator: RunningEmulator) -> None:
    emulator.control().post("/emulator/faults", json={"latency_ms": 150, "operations": ["ListRoom"]})
    response = emulator.api().get("/v1/Rooms")
    assert response.status_code == 200
    assert emulator.state.requests[-1]["duration_ms"] >= 150


def test_dropped_connection_after_processing(emulator: RunningEmulator) -> None:
    emulator.control().post(
        "/emulator/faults",
        json={"rate": 1.0, "drop_connection": True, "operations": ["CreateRoom"], "limit": 1},
    )
    api = emulator.api()
    try:
        api.post("/v1/Rooms", data={"UniqueName": "lost"})
        raise AssertionError("the response should have been lost")
    except httpx.RemoteProtocolError:
        pass
    # The room exists although its creator never heard so.
    assert api.get("/v1/Rooms/lost").status_code == 200
    entry = emulator.state.requests[-2] if emulator.state.requests[-1]["operation"] == "FetchRoom" else None
    assert entry is not None and entry["fault"] == "drop" and entry["dropped_status"] == 201


def test_reset_forgets_everything(emulator: RunningEmulator) -> None:
    emulator.api().post("/v1/Rooms", data={"UniqueName": "r"})
    emulator.control().post("/emulator/faults", json={"rate": 0.1})
    assert emulator.control().post("/emulator/reset").status_code == 204
    info = emulator.control().get("/emulator").json()
    assert info["rooms_total"] == 0 and info["timers"] == 0
    assert emulator.control().get("/emulator/faults").json()["plan"] is None
