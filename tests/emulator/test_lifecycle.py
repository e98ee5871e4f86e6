"""Room and participant lifecycle rules, end to end over HTTP, with their signed status callbacks.

The emulator runs on a manual clock advanced over its control surface, so timeouts of minutes or hours
are checked exactly and instantly; one test runs the real timer loop with a time scale instead.
"""

from __future__ import annotations

import httpx
from twilio.request_validator import RequestValidator

from emulator.app import EmulatorConfig
from emulator.clock import SystemClock
from emulator.credentials import TEST_AUTH_TOKEN
from tests.support import CallbackSink, ReceivedCallback, RunningEmulator, running_emulator, wait_until

validator = RequestValidator(TEST_AUTH_TOKEN)


def assert_signed(callback: ReceivedCallback) -> None:
    signature = callback.headers["x-twilio-signature"]
    if callback.method == "POST":
        assert validator.validate(callback.url, callback.params, signature), callback
    else:
        assert validator.validate(callback.url, {}, signature), callback


def create(emulator: RunningEmulator, sink: CallbackSink, **params: object) -> dict:
    form = {"StatusCallback": sink.url, **{k: str(v) for k, v in params.items()}}
    response = emulator.api().post("/v1/Rooms", data=form)
    assert response.status_code == 201, response.text
    return response.json()


def join(emulator: RunningEmulator, room: str, identity: str) -> httpx.Response:
    return emulator.control().post(f"/emulator/Rooms/{room}/Participants", json={"Identity": identity})


def room_status(emulator: RunningEmulator, sid: str) -> str:
    return emulator.api().get(f"/v1/Rooms/{sid}").json()["status"]


def test_unused_room_times_out_after_unused_room_timeout(
    emulator: RunningEmulator, sink: CallbackSink
) -> None:
    room = create(emulator, sink, UnusedRoomTimeout=3)
    emulator.advance(3 * 60 - 1)
    assert room_status(emulator, room["sid"]) == "in-progress"
    emulator.advance(1)
    assert room_status(emulator, room["sid"]) == "completed"
    callbacks = sink.wait_for(2)
    assert [c.params["StatusCallbackEvent"] for c in callbacks] == ["room-created", "room-ended"]
    ended = callbacks[1].params
    assert ended["RoomDuration"] == "180" and ended["RoomStatus"] == "completed"
    assert [c.params["SequenceNumber"] for c in callbacks] == ["0", "1"]
    for callback in callbacks:
        assert_signed(callback)
        assert callback.params["RoomSid"] == room["sid"]
        assert callback.params["Timestamp"].endswith("Z") and "." in callback.params["Timestamp"]


def test_empty_room_times_out_after_last_participant_leaves(
    emulator: RunningEmulator, sink: CallbackSink
) -> None:
    room = create(emulator, sink, UniqueName="empty", UnusedRoomTimeout=1, EmptyRoomTimeout=2)
    assert join(emulator, "empty", "alice").status_code == 201
    emulator.advance(10 * 60)  # long past the unused timeout: someone joined, so it no longer applies
    assert room_status(emulator, room["sid"]) == "in-progress"
    left = emulator.control().post("/emulator/Rooms/empty/Participants/alice/Disconnect")
    assert left.status_code == 200 and left.json()["duration"] == 600
    emulator.advance(2 * 60 - 1)
    assert join(emulator, "empty", "bob").status_code == 201  # a join cancels the empty timer
    emulator.control().post("/emulator/Rooms/empty/Participants/bob/Disconnect")
    emulator.advance(2 * 60 - 1)
    assert room_status(emulator, room["sid"]) == "in-progress"
    emulator.advance(1)
    assert room_status(emulator, room["sid"]) == "completed"
    callbacks = sink.wait_for(6)
    assert [c.params["StatusCallbackEvent"] for c in callbacks] == [
        "room-created",
        "participant-connected",
        "participant-disconnected",
        "participant-connected",
        "participant-disconnected",
        "room-ended",
    ]
    assert callbacks[2].params["ParticipantDuration"] == "600"
    assert callbacks[2].params["ParticipantIdentity"] == "alice"
    assert callbacks[2].params["ParticipantStatus"] == "disconnected"
    assert [int(c.params["SequenceNumber"]) for c in callbacks] == list(range(6))
    for callback in callbacks:
        assert_signed(callback)


def test_max_participant_duration_disconnects_the_participant(
    emulator: RunningEmulator, sink: CallbackSink
) -> None:
    create(emulator, sink, UniqueName="capped", MaxParticipantDuration=600)
    alice = join(emulator, "capped", "alice").json()
    emulator.advance(300)
    join(emulator, "capped", "bob")
    emulator.advance(300)
    api = emulator.api()
    assert api.get(f"/v1/Rooms/capped/Participants/{alice['sid']}").json()["status"] == "disconnected"
    assert api.get("/v1/Rooms/capped/Participants/bob").json()["status"] == "connected"
    emulator.advance(300)
    assert (
        api.get("/v1/Rooms/capped/Participants", params={"Status": "connected"}).json()["participants"] == []
    )
    kicked = [c for c in sink.wait_for(5) if c.params["StatusCallbackEvent"] == "participant-disconnected"]
    assert [(c.params["ParticipantIdentity"], c.params["ParticipantDuration"]) for c in kicked] == [
        ("alice", "600"),
        ("bob", "600"),
    ]


def test_max_participants_refuses_the_next_join(emulator: RunningEmulator, sink: CallbackSink) -> None:
    create(emulator, sink, UniqueName="small", MaxParticipants=2)
    assert join(emulator, "small", "a").status_code == 201
    assert join(emulator, "small", "b").status_code == 201
    refused = join(emulator, "small", "c")
    assert refused.status_code == 400 and refused.json()["code"] == 53105
    # Rejoining with a connected identity replaces the earlier connection instead.
    again = join(emulator, "small", "a")
    assert again.status_code == 201
    identities = [
        p["identity"] for p in emulator.api().get("/v1/Rooms/small/Participants").json()["participants"]
    ]
    assert sorted(identities) == ["a", "b"]


def test_completing_disconnects_everyone_and_frees_the_name(
    emulator: RunningEmulator, sink: CallbackSink
) -> None:
    room = create(emulator, sink, UniqueName="busy")
    join(emulator, "busy", "alice")
    join(emulator, "busy", "bob")
    done = emulator.api().post("/v1/Rooms/busy", data={"Status": "completed"})
    assert done.status_code == 202
    assert done.json()["status"] == "completed" and done.json()["end_time"] is not None
    participants = emulator.api().get(f"/v1/Rooms/{room['sid']}/Participants").json()["participants"]
    assert {p["status"] for p in participants} == {"disconnected"}
    assert join(emulator, room["sid"], "late").json()["code"] == 53118
    events = [c.params["StatusCallbackEvent"] for c in sink.wait_for(6)]
    assert events[-3:] == ["participant-disconnected", "participant-disconnected", "room-ended"]
    assert create(emulator, sink, UniqueName="busy")["sid"] != room["sid"]


def test_room_lifetime_is_24_hours(emulator: RunningEmulator, sink: CallbackSink) -> None:
    room = create(emulator, sink, MaxParticipantDuration=86400)
    join(emulator, room["sid"], "marathon")
    emulator.advance(24 * 3600 - 1)
    assert room_status(emulator, room["sid"]) == "in-progress"
    emulator.advance(1)
    assert room_status(emulator, room["sid"]) == "completed"


def test_get_callbacks_carry_the_parameters_in_the_signed_url(
    emulator: RunningEmulator, sink: CallbackSink
) -> None:
    create(emulator, sink, UniqueName="by-get", StatusCallbackMethod="GET")
    join(emulator, "by-get", "alice")
    callbacks = sink.wait_for(2)
    assert [c.method for c in callbacks] == ["GET", "GET"]
    assert callbacks[1].params["ParticipantIdentity"] == "alice"
    for callback in callbacks:
        assert_signed(callback)


def test_dead_or_failing_receiver_never_blocks_the_api(emulator: RunningEmulator, sink: CallbackSink) -> None:
    sink.status_code = 500
    api = emulator.api()
    # Port 9 (discard) on loopback is closed: delivery fails with a connection error.
    dead = api.post("/v1/Rooms", data={"UniqueName": "dead", "StatusCallback": "http://127.0.0.1:9/cb"})
    failing = api.post("/v1/Rooms", data={"UniqueName": "failing", "StatusCallback": sink.url})
    assert dead.status_code == failing.status_code == 201

    def delivered() -> list[dict]:
        entries: list[dict] = emulator.control().get("/emulator/callbacks").json()["callbacks"]
        return entries if len(entries) == 2 else []

    log = wait_until(delivered, what="two delivery results")
    results = {entry["url"]: (entry["result"], entry["status_code"]) for entry in log}
    assert results["http://127.0.0.1:9/cb"] == ("error", None)
    assert results[sink.url] == ("rejected", 500)


def test_time_scale_runs_real_timers_faster(sink: CallbackSink) -> None:
    # 1 minute of unused-room timeout at 600x is 0.1 s of real time.
    with running_emulator(EmulatorConfig(clock=SystemClock(time_scale=600), rate_limits=False)) as emulator:
        room = create(emulator, sink, UnusedRoomTimeout=1)
        ended = sink.wait_for(2, timeout=10)[1]
        assert ended.params["StatusCallbackEvent"] == "room-ended"
        assert room_status(emulator, room["sid"]) == "completed"
        # Timestamps stay wall-clock: the room lasted ~0.1 s, not a minute.
        assert int(ended.params["RoomDuration"]) < 5


def test_clock_is_only_advanceable_when_manual() -> None:
    with running_emulator(EmulatorConfig(clock=SystemClock(), rate_limits=False)) as emulator:
        response = emulator.control().post("/emulator/clock/advance", json={"seconds": 1})
        assert response.status_code == 409
