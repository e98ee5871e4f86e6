"""Simulated media over HTTP: tracks, recording rules and recordings, subscriptions, transcriptions,
anonymize, with their signed status callbacks; and what the emulator answers 501 to.

The emulator runs on a manual clock, so durations and sizes are exact.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.emulator.test_lifecycle import assert_signed, create, join
from tests.support import CallbackSink, RunningEmulator

PEOPLE = "/emulator/Rooms/{room}/Participants"


def publish(emulator: RunningEmulator, room: str, identity: str, kind: str, name: str) -> dict:
    response = emulator.control().post(
        f"{PEOPLE.format(room=room)}/{identity}/Tracks", json={"Kind": kind, "Name": name}
    )
    assert response.status_code == 201, response.text
    return response.json()


def track_action(emulator: RunningEmulator, room: str, identity: str, track: str, action: str) -> dict:
    response = emulator.control().post(f"{PEOPLE.format(room=room)}/{identity}/Tracks/{track}/{action}")
    assert response.status_code == 200, response.text
    return response.json()


def error_of(response: httpx.Response, status: int, code: int, text: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["status"], body["code"]) == (status, code), body
    assert text in body["message"], body["message"]


def test_recording_rules_decide_which_tracks_are_recorded(
    emulator: RunningEmulator, sink: CallbackSink
) -> None:
    room = create(emulator, sink, UniqueName="rec", RecordingRules='[{"type":"include","kind":"audio"}]')
    api = emulator.api()
    rules = api.get(f"/v1/Rooms/{room['sid']}/RecordingRules").json()
    assert rules["rules"] == [{"type": "include", "kind": "audio"}] and rules["room_sid"] == room["sid"]
    join(emulator, "rec", "alice")
    mic = publish(emulator, "rec", "alice", "audio", "mic")
    cam = publish(emulator, "rec", "alice", "video", "cam")
    publish(emulator, "rec", "alice", "data", "chat")
    [recording] = api.get("/v1/Rooms/rec/Recordings").json()["recordings"]
    assert (recording["source_sid"], recording["status"], recording["type"]) == (
        mic["sid"],
        "processing",
        "audio",
    )
    assert (recording["codec"], recording["container_format"], recording["track_name"]) == (
        "OPUS",
        "mka",
        "mic",
    )
    assert recording["duration"] is None and recording["size"] is None
    assert recording["links"]["media"] == f"{recording['url']}/Media"

    # Recording everything now records the camera too (data tracks are never recorded).
    updated = api.post("/v1/Rooms/rec/RecordingRules", data={"Rules": '[{"type":"include","all":true}]'})
    assert updated.status_code == 200 and updated.json()["rules"] == [{"type": "include", "all": True}]
    emulator.advance(10)
    track_action(emulator, "rec", "alice", "mic", "Unpublish")
    recordings = {r["source_sid"]: r for r in api.get("/v1/Rooms/rec/Recordings").json()["recordings"]}
    assert set(recordings) == {mic["sid"], cam["sid"]}
    done = recordings[mic["sid"]]
    assert (done["status"], done["duration"], done["size"]) == ("completed", 10, 40_000)
    assert recordings[cam["sid"]]["codec"] == "VP8" and recordings[cam["sid"]]["container_format"] == "mkv"
    assert api.get("/v1/Rooms/rec/Recordings", params={"Status": "completed"}).json()["recordings"] == [done]
    by_source = api.get("/v1/Rooms/rec/Recordings", params={"SourceSid": cam["sid"]}).json()["recordings"]
    assert [r["source_sid"] for r in by_source] == [cam["sid"]]

    # A processing recording cannot be deleted; a completed one can, and its record stays.
    refused = api.delete(f"/v1/Rooms/{room['sid']}/Recordings/{recordings[cam['sid']]['sid']}")
    error_of(refused, 400, 20001, "is still processing")
    deleted = api.delete(f"/v1/Rooms/{room['sid']}/Recordings/{done['sid']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert api.get(f"/v1/Rooms/{room['sid']}/Recordings/{done['sid']}").json()["status"] == "deleted"
    error_of(api.get(f"/v1/Rooms/{room['sid']}/Recordings/RT{'0' * 32}"), 404, 20404, "was not found")

    # Completing the room completes what is still being recorded.
    api.post("/v1/Rooms/rec", data={"Status": "completed"})
    statuses = {r["status"] for r in api.get(f"/v1/Rooms/{room['sid']}/Recordings").json()["recordings"]}
    assert statuses == {"completed", "deleted"}

    events = [c.params["StatusCallbackEvent"] for c in sink.wait_for(14)]
    assert events == [
        "room-created",
        "participant-connected",
        "track-added",
        "recording-started",
        "track-added",
        "track-added",
        "recording-started",
        "recording-completed",
        "track-removed",
        "recording-completed",
        "track-removed",
        "track-removed",
        "participant-disconnected",
        "room-ended",
    ]
    callbacks = sink.ordered()
    for callback in callbacks:
        assert_signed(callback)
    completed = next(c.params for c in callbacks if c.params["StatusCallbackEvent"] == "recording-completed")
    assert completed["Duration"] == "10" and completed["Size"] == "40000" and completed["Codec"] == "OPUS"
    assert completed["RecordingUri"] == f"/v1/Rooms/{room['sid']}/Recordings/{done['sid']}"
    assert completed["MediaUri"] == completed["RecordingUri"] + "/Media"
    assert completed["ParticipantIdentity"] == "alice" and completed["TrackName"] == "mic"
    added = next(c.params for c in callbacks if c.params["StatusCallbackEvent"] == "track-added")
    assert (added["TrackSid"], added["TrackKind"], added["ParticipantIdentity"]) == (
        mic["sid"],
        "audio",
        "alice",
    )


def test_record_participants_on_connect_records_everything_and_a_recording_can_fail(
    emulator: RunningEmulator, sink: CallbackSink
) -> None:
    room = create(emulator, sink, UniqueName="all", RecordParticipantsOnConnect="true")
    api = emulator.api()
    assert api.get("/v1/Rooms/all/RecordingRules").json()["rules"] == [{"type": "include", "all": True}]
    join(emulator, "all", "bob")
    publish(emulator, "all", "bob", "audio", "mic")
    [recording] = api.get("/v1/Rooms/all/Recordings").json()["recordings"]
    fail = f"/emulator/Rooms/all/Recordings/{recording['sid']}/Fail"
    error_of(
        emulator.control().post(fail, json={"FailedOperation": "Lunch"}),
        400,
        20001,
        "FailedOperation='Lunch'",
    )
    failed = emulator.control().post(fail, json={"FailedOperation": "RecordingStart"})
    assert failed.status_code == 200 and failed.json()["status"] == "failed"
    error_of(emulator.control().post(fail), 400, 20001, "only a processing one can fail")
    callbacks = sink.wait_for(5)
    last = callbacks[-1].params
    assert (last["StatusCallbackEvent"], last["FailedOperation"]) == ("recording-failed", "RecordingStart")
    assert last["RecordingSid"] == recording["sid"] and last["RoomSid"] == room["sid"]
    assert_signed(callbacks[-1])


@pytest.mark.parametrize(
    ("rules", "text"),
    [
        ("[]", "Rules: expected a non-empty JSON array"),
        ("not json", "Rules: not valid JSON"),
        ('[{"type":"include","kind":"data"}]', "kind must be one of 'audio', 'video'"),
    ],
)
def test_bad_recording_rules_are_53120_and_keep_the_old_rules(
    emulator: RunningEmulator, rules: str, text: str
) -> None:
    api = emulator.api()
    api.post("/v1/Rooms", data={"UniqueName": "r"})
    error_of(api.post("/v1/Rooms/r/RecordingRules", data={"Rules": rules}), 400, 53120, text)
    assert api.get("/v1/Rooms/r/RecordingRules").json()["rules"] == []


def test_recording_rules_of_rooms_that_cannot_record(emulator: RunningEmulator) -> None:
    api = emulator.api()
    api.post("/v1/Rooms", data={"UniqueName": "p2p", "Type": "peer-to-peer"})
    answer = api.post("/v1/Rooms/p2p/RecordingRules", data={"Rules": '[{"type":"include","all":true}]'})
    error_of(answer, 400, 53122, "a 'peer-to-peer' room has no media server to record")
    error_of(
        api.post("/v1/Rooms", data={"Type": "go", "RecordingRules": '[{"type":"include","all":true}]'}),
        400,
        53122,
        "RecordingRules=",
    )
    api.post("/v1/Rooms/p2p", data={"Status": "completed"})


def test_subscribed_tracks_follow_subscribe_rules_and_tracks_pause(
    emulator: RunningEmulator, sink: CallbackSink
) -> None:
    create(emulator, sink, UniqueName="sub")
    api = emulator.api()
    alice = join(emulator, "sub", "alice").json()
    join(emulator, "sub", "bob")
    mic = publish(emulator, "sub", "bob", "audio", "mic")
    chat = publish(emulator, "sub", "bob", "data", "chat")
    own = publish(emulator, "sub", "alice", "video", "cam")

    published = api.get("/v1/Rooms/sub/Participants/bob/PublishedTracks", params={"PageSize": 1}).json()
    assert [t["name"] for t in published["published_tracks"]] == ["mic"]
    assert published["meta"]["key"] == "published_tracks" and published["meta"]["next_page_url"]
    assert api.get("/v1/Rooms/sub/Participants/bob/PublishedTracks/chat").json()["sid"] == chat["sid"]

    subscribed = api.get("/v1/Rooms/sub/Participants/alice/SubscribedTracks").json()["subscribed_tracks"]
    assert [t["sid"] for t in subscribed] == [mic["sid"], chat["sid"]]  # never her own camera
    assert subscribed[0]["publisher_sid"] != subscribed[0]["participant_sid"] == alice["sid"]
    assert own["sid"] not in [t["sid"] for t in subscribed]
    default = api.get("/v1/Rooms/sub/Participants/alice/SubscribeRules").json()
    assert default["rules"] == [{"type": "include", "all": True}] and default["date_created"] is None

    updated = api.post(
        "/v1/Rooms/sub/Participants/alice/SubscribeRules",
        data={"Rules": json.dumps([{"type": "include", "all": True}, {"type": "exclude", "kind": "data"}])},
    )
    assert updated.status_code == 200 and updated.json()["date_updated"] is not None
    subscribed = api.get("/v1/Rooms/sub/Participants/alice/SubscribedTracks").json()["subscribed_tracks"]
    assert [t["name"] for t in subscribed] == ["mic"]
    fetched = api.get(f"/v1/Rooms/sub/Participants/alice/SubscribedTracks/{mic['sid']}")
    assert fetched.json()["name"] == "mic"
    error_of(api.get(f"/v1/Rooms/sub/Participants/alice/SubscribedTracks/{chat['sid']}"), 404, 20404, "")
    bad = api.post("/v1/Rooms/sub/Participants/alice/SubscribeRules", data={"Rules": '[{"type":"include"}]'})
    error_of(bad, 400, 53215, "rule 0 has no filter")

    assert track_action(emulator, "sub", "bob", "mic", "Disable")["enabled"] is False
    track_action(emulator, "sub", "bob", "mic", "Disable")  # no change, no callback
    assert track_action(emulator, "sub", "bob", mic["sid"], "Enable")["enabled"] is True
    events = [c.params["StatusCallbackEvent"] for c in sink.wait_for(8)]
    assert events[-2:] == ["track-disabled", "track-enabled"], events


def test_publishing_is_checked(emulator: RunningEmulator) -> None:
    api, control = emulator.api(), emulator.control()
    api.post("/v1/Rooms", data={"UniqueName": "voice", "AudioOnly": "true"})
    join(emulator, "voice", "carol")
    tracks = f"{PEOPLE.format(room='voice')}/carol/Tracks"
    error_of(control.post(tracks, json={"Kind": "video"}), 400, 53125, "is audio-only")
    error_of(control.post(tracks, json={"Kind": "smell"}), 400, 20001, "Kind='smell'")
    error_of(
        control.post(tracks, json={"Kind": "audio", "Name": "x" * 129}), 400, 20001, "1 to 128 characters"
    )
    publish(emulator, "voice", "carol", "audio", "mic")
    error_of(control.post(tracks, json={"Kind": "audio", "Name": "mic"}), 400, 20001, "already published")
    unnamed = publish(emulator, "voice", "carol", "audio", "ignored").get("sid")
    assert unnamed
    emulator.control().post(f"{PEOPLE.format(room='voice')}/carol/Disconnect")
    error_of(control.post(tracks, json={"Kind": "audio"}), 404, 53204, "carol")
    assert api.get("/v1/Rooms/voice/Participants/carol", params={}).status_code == 404


def test_transcriptions_start_on_connect_stop_restart_and_end_with_the_room(
    emulator: RunningEmulator,
) -> None:
    api = emulator.api()
    config = {"languageCode": "de-DE", "partialResults": True}
    room = api.post(
        "/v1/Rooms",
        data={
            "UniqueName": "talk",
            "TranscribeParticipantsOnConnect": "true",
            "TranscriptionsConfiguration": json.dumps(config),
        },
    ).json()
    assert api.get("/v1/Rooms/talk/Transcriptions").json()["transcriptions"] == []
    join(emulator, "talk", "dana")
    [started] = api.get("/v1/Rooms/talk/Transcriptions").json()["transcriptions"]
    assert (started["status"], started["configuration"]) == ("started", config)
    assert started["ttid"].startswith("video_extension_") and started["duration"] is None
    assert started["url"].endswith(f"/v1/Rooms/{room['sid']}/Transcriptions/{started['ttid']}")
    error_of(api.post("/v1/Rooms/talk/Transcriptions"), 400, 20001, "is already transcribed by")

    one = f"/v1/Rooms/talk/Transcriptions/{started['ttid']}"
    emulator.advance(30)
    stopped = api.post(one, data={"Status": "stopped"})
    assert stopped.status_code == 202 and (stopped.json()["status"], stopped.json()["duration"]) == (
        "stopped",
        30,
    )
    error_of(api.post(one, data={"Status": "failed"}), 400, 20001, "Status='failed'")
    error_of(api.post(one, data={"Configuration": "[1]"}), 400, 20001, "Configuration must be a JSON object")
    error_of(api.post(one), 400, 20001, "nothing to update")
    restarted = api.post(one, data={"Status": "started", "Configuration": '{"languageCode": "en-US"}'}).json()
    assert (restarted["status"], restarted["end_time"], restarted["configuration"]) == (
        "started",
        None,
        {"languageCode": "en-US"},
    )
    api.post("/v1/Rooms/talk", data={"Status": "completed"})
    ended = api.get(f"/v1/Rooms/{room['sid']}/Transcriptions/{started['ttid']}").json()
    assert ended["status"] == "stopped" and ended["end_time"] is not None
    error_of(api.post(f"/v1/Rooms/{room['sid']}/Transcriptions"), 400, 53118, "is completed")
    error_of(api.get(f"/v1/Rooms/{room['sid']}/Transcriptions/nope"), 404, 20404, "was not found")


def test_transcriptions_created_by_api_and_refused_where_no_media_server(emulator: RunningEmulator) -> None:
    api = emulator.api()
    api.post(
        "/v1/Rooms", data={"UniqueName": "quiet", "TranscriptionsConfiguration": '{"languageCode": "fr-FR"}'}
    )
    join(emulator, "quiet", "erin")
    assert api.get("/v1/Rooms/quiet/Transcriptions").json()["transcriptions"] == []  # not on connect
    created = api.post("/v1/Rooms/quiet/Transcriptions")
    assert created.status_code == 202 and created.json()["configuration"] == {"languageCode": "fr-FR"}
    api.post("/v1/Rooms", data={"UniqueName": "duo", "Type": "go"})
    error_of(api.post("/v1/Rooms/duo/Transcriptions"), 400, 20001, "needs Type=group or Type=group-small")
    error_of(
        api.post("/v1/Rooms", data={"Type": "go", "TranscribeParticipantsOnConnect": "true"}),
        400,
        20001,
        "TranscribeParticipantsOnConnect=true needs Type=group",
    )


def test_anonymize_replaces_the_identity_by_the_sid(emulator: RunningEmulator) -> None:
    api = emulator.api()
    api.post("/v1/Rooms", data={"UniqueName": "anon"})
    frank = join(emulator, "anon", "frank").json()
    answer = api.post("/v1/Rooms/anon/Participants/frank/Anonymize")
    assert answer.status_code == 200
    body = answer.json()
    assert body["identity"] == body["sid"] == frank["sid"] and "links" not in body
    assert body["url"].endswith(f"/Participants/{frank['sid']}/Anonymize")
    error_of(api.get("/v1/Rooms/anon/Participants/frank"), 404, 53204, "frank")
    assert api.get(f"/v1/Rooms/anon/Participants/{frank['sid']}").json()["identity"] == frank["sid"]


@pytest.mark.parametrize(
    ("method", "path", "feature"),
    [
        ("GET", "/v1/Compositions", "Compositions: GET /Compositions"),
        ("POST", "/v1/CompositionHooks", "Composition Hooks"),
        ("GET", "/v1/CompositionSettings/Default", "Composition Settings"),
        ("GET", "/v1/RecordingSettings/Default", "Recording Settings"),
        ("GET", "/v1/Recordings", "the account's Recordings list"),
        ("GET", f"/v1/Rooms/RM{'0' * 32}/Recordings/RT{'0' * 32}/Media", "recording media"),
    ],
)
def test_what_is_not_imitated_is_a_501_naming_it(
    emulator: RunningEmulator, method: str, path: str, feature: str
) -> None:
    answer = emulator.api().request(method, path)
    error_of(answer, 501, 501, f"Not implemented by the Twilio Video emulator: {feature}")
    assert answer.json()["more_info"] == "docs/emulator.md#what-the-emulator-does-not-imitate"
    assert httpx.request(method, emulator.url + path).status_code == 401  # credentials first, as ever


def test_an_unknown_create_parameter_is_a_501_not_a_silent_accept(emulator: RunningEmulator) -> None:
    api = emulator.api()
    answer = api.post("/v1/Rooms", data={"UniqueName": "typo", "MaxParticipant": "5"})
    error_of(answer, 501, 501, "CreateRoom parameter MaxParticipant (not one the emulator knows: AudioOnly,")
    assert api.get("/v1/Rooms").json()["rooms"] == []
    # Other unknown paths stay Twilio's 404; a JSON body is still ignored as Twilio ignores it.
    error_of(api.get("/v1/Nothing"), 404, 20404, "/Nothing was not found")
    ignored = api.post("/v1/Rooms", json={"UniqueName": "json", "Whatever": 1})
    assert ignored.status_code == 201 and ignored.json()["unique_name"] == ignored.json()["sid"]
