"""Every kind of bad input the reference lists: Twilio's code and status, a message naming the
parameter, and nothing already created is changed."""

from __future__ import annotations

import pytest

from tests.support import RunningEmulator

LONG = "x" * 129

CREATE_CASES = [
    # (form, code, text the message must contain)
    ({"Type": "huge"}, 53108, "Type='huge'"),
    ({"UniqueName": LONG}, 53101, "UniqueName is 129 characters"),
    ({"UniqueName": ""}, 53100, "UniqueName must not be empty"),
    ({"UniqueName": "RM" + "a" * 32}, 53100, "UniqueName"),
    ({"StatusCallback": "not a url"}, 53111, "StatusCallback='not a url'"),
    ({"StatusCallback": "https://x.example/" + "a" * 1024}, 53111, "StatusCallback is"),
    ({"StatusCallbackMethod": "PUT"}, 53110, "StatusCallbackMethod='PUT'"),
    ({"MaxParticipants": "0"}, 53107, "MaxParticipants=0"),
    ({"MaxParticipants": "51"}, 53107, "MaxParticipants=51"),
    ({"Type": "group-small", "MaxParticipants": "5"}, 53107, "up to 4"),
    ({"MaxParticipants": "ten"}, 53107, "MaxParticipants='ten'"),
    ({"EmptyRoomTimeout": "0"}, 53109, "EmptyRoomTimeout=0"),
    ({"UnusedRoomTimeout": "61"}, 53109, "UnusedRoomTimeout=61"),
    ({"UnusedRoomTimeout": "1.5"}, 53109, "UnusedRoomTimeout='1.5'"),
    ({"MaxParticipantDuration": "599"}, 20001, "MaxParticipantDuration=599"),
    ({"MaxParticipantDuration": "86401"}, 20001, "MaxParticipantDuration=86401"),
    ({"VideoCodecs": "VP9"}, 20001, "VideoCodecs value 'VP9'"),
    ({"MediaRegion": "mars1"}, 20001, "MediaRegion='mars1'"),
    ({"AudioOnly": "yes"}, 20001, "AudioOnly='yes'"),
    ({"AudioOnly": "true", "Type": "peer-to-peer"}, 53124, "AudioOnly=true"),
    ({"RecordParticipantsOnConnect": "true", "Type": "go"}, 53122, "RecordParticipantsOnConnect"),
    ({"RecordingRules": "not json"}, 53120, "RecordingRules: not valid JSON"),
    ({"RecordingRules": "[]"}, 53120, "non-empty"),
    ({"RecordingRules": '[{"type":"include"}]'}, 53120, "rule 0 has no filter"),
    ({"RecordingRules": '[{"type":"include","all":true,"kind":"audio"}]'}, 53120, "'all' must be true"),
    ({"RecordingRules": '[{"type":"keep","all":true}]'}, 53120, "type must be"),
    ({"TranscriptionsConfiguration": "[1]"}, 20001, "TranscriptionsConfiguration"),
]


@pytest.mark.parametrize(
    ("form", "code", "text"), CREATE_CASES, ids=[f"{c[1]}-{next(iter(c[0]))}" for c in CREATE_CASES]
)
def test_create_rejects_with_twilio_code_and_named_parameter(
    emulator: RunningEmulator, form: dict, code: int, text: str
) -> None:
    api = emulator.api()
    keep = api.post("/v1/Rooms", data={"UniqueName": "keep"}).json()
    response = api.post("/v1/Rooms", data=form)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == code and body["status"] == 400
    assert text in body["message"], body["message"]
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    # Nothing was created, and the room that existed is untouched.
    assert [r["sid"] for r in api.get("/v1/Rooms").json()["rooms"]] == [keep["sid"]]
    assert api.get("/v1/Rooms/keep").json() == keep


@pytest.mark.parametrize(
    ("form", "code", "text"),
    [
        # A rule broken by an earlier parameter wins over a later one that cannot even be read...
        ({"MaxParticipants": "51", "VideoCodecs": "VP9"}, 53107, "MaxParticipants=51"),
        ({"Type": "go", "AudioOnly": "true", "RecordParticipantsOnConnect": "maybe"}, 53124, "AudioOnly"),
        # ...and an unreadable earlier parameter over a later broken rule.
        ({"EmptyRoomTimeout": "soon", "MediaRegion": "mars1"}, 53109, "EmptyRoomTimeout='soon'"),
        ({"Type": "go", "MaxParticipants": "3", "RecordParticipantsOnConnect": "true"}, 53107, "up to 2"),
    ],
)
def test_of_several_problems_the_first_parameter_s_is_answered(
    emulator: RunningEmulator, form: dict, code: int, text: str
) -> None:
    body = emulator.api().post("/v1/Rooms", data=form).json()
    assert body["code"] == code and text in body["message"], body


def test_invalid_utf8_name_is_53102(emulator: RunningEmulator) -> None:
    response = emulator.api().post(
        "/v1/Rooms",
        content=b"UniqueName=%ff%fe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.json()["code"] == 53102


def test_json_body_is_ignored_like_twilio(emulator: RunningEmulator) -> None:
    # Twilio silently ignores a JSON body (quickstart-android#162): a default room named by its SID.
    response = emulator.api().post("/v1/Rooms", json={"UniqueName": "ignored"})
    assert response.status_code == 201
    assert response.json()["unique_name"] == response.json()["sid"]


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"Status": "in-progress"}, "Status='in-progress'"),
        ({}, "Status is required"),
        ({"Status": "nope"}, "'nope'"),
    ],
)
def test_update_room_rejects_anything_but_completed(emulator: RunningEmulator, data: dict, text: str) -> None:
    api = emulator.api()
    room = api.post("/v1/Rooms", data={"UniqueName": "u"}).json()
    response = api.post(f"/v1/Rooms/{room['sid']}", data=data)
    assert response.status_code == 400 and response.json()["code"] == 53112
    assert text in response.json()["message"]
    assert api.get(f"/v1/Rooms/{room['sid']}").json()["status"] == "in-progress"


def test_unknown_room_is_20404_without_v1_in_the_message(emulator: RunningEmulator) -> None:
    response = emulator.api().get("/v1/Rooms/nowhere")
    assert response.status_code == 404
    assert response.json()["message"] == "The requested resource /Rooms/nowhere was not found"
    assert emulator.api().post("/v1/Rooms/nowhere", data={"Status": "completed"}).json()["code"] == 20404
    assert emulator.api().get("/v1/Rooms/nowhere/Participants").json()["code"] == 20404


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"Status": "open"}, "Status='open'"),
        ({"PageSize": "0"}, "PageSize=0"),
        ({"PageSize": "1001"}, "PageSize=1001"),
        ({"PageSize": "many"}, "PageSize='many'"),
        ({"Page": "-1"}, "Page=-1"),
        ({"PageToken": "forged"}, "PageToken='forged'"),
        ({"DateCreatedAfter": "yesterday"}, "DateCreatedAfter"),
        ({"DateCreatedBefore": "2026-13-01"}, "DateCreatedBefore"),
    ],
)
def test_list_rejects_bad_query_parameters(emulator: RunningEmulator, params: dict, text: str) -> None:
    response = emulator.api().get("/v1/Rooms", params=params)
    assert response.status_code == 400 and response.json()["code"] == 20001
    assert text in response.json()["message"]


def test_participant_update_rules(emulator: RunningEmulator) -> None:
    api = emulator.api()
    api.post("/v1/Rooms", data={"UniqueName": "p"})
    alice = emulator.control().post("/emulator/Rooms/p/Participants", data={"Identity": "alice"}).json()
    bad = api.post("/v1/Rooms/p/Participants/alice", data={"Status": "connected"})
    assert (
        bad.status_code == 400
        and bad.json()["code"] == 53209
        and "Status='connected'" in bad.json()["message"]
    )
    assert api.get("/v1/Rooms/p/Participants/alice").json()["status"] == "connected"
    missing = api.post("/v1/Rooms/p/Participants/zoe", data={"Status": "disconnected"})
    assert missing.status_code == 404 and missing.json()["code"] == 53204
    assert api.post("/v1/Rooms/p/Participants/alice", data={"Status": "disconnected"}).status_code == 202
    # Again, by SID: already disconnected, answered with the final state and no new event.
    again = api.post(f"/v1/Rooms/p/Participants/{alice['sid']}", data={"Status": "disconnected"})
    assert again.status_code == 202 and again.json()["status"] == "disconnected"


def test_control_surface_rejects_bad_bodies(emulator: RunningEmulator) -> None:
    control = emulator.control()
    emulator.api().post("/v1/Rooms", data={"UniqueName": "c"})
    assert control.post("/emulator/Rooms/c/Participants", json={}).json()["code"] == 53200
    assert (
        control.post("/emulator/Rooms/c/Participants", json={"Identity": "x" * 129}).json()["code"] == 53201
    )
    assert (
        control.post(
            "/emulator/Rooms/c/Participants", content=b"{", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    assert control.post("/emulator/Rooms/none/Participants", json={"Identity": "a"}).status_code == 404
    bad_plan = control.post("/emulator/faults", json={"rate": 2, "statuses": [200], "operations": ["Dance"]})
    assert bad_plan.status_code == 400
    message = bad_plan.json()["message"]
    assert "rate" in message and "status 200" in message and "Dance" in message
