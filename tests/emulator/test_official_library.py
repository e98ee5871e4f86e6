"""The official twilio helper library, pointed at the emulator, runs every Rooms operation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from emulator.credentials import TEST_ACCOUNT_SID, TEST_API_KEY_SECRET, TEST_API_KEY_SID, TEST_AUTH_TOKEN
from tests.support import RunningEmulator
from twilio_video.models import Participant, Room

# Every field the reference's JSON examples show, with its type (None = may be null).
ROOM_FIELDS = {
    "sid": str, "status": str, "date_created": datetime, "date_updated": datetime, "account_sid": str,
    "enable_turn": bool, "unique_name": str, "status_callback": (str, None), "status_callback_method": str,
    "end_time": (datetime, None), "duration": (int, None), "type": str, "max_participants": int,
    "max_participant_duration": int, "max_concurrent_published_tracks": int,
    "record_participants_on_connect": bool, "video_codecs": list, "media_region": str, "audio_only": bool,
    "empty_room_timeout": int, "unused_room_timeout": int, "large_room": bool, "url": str, "links": dict,
}  # fmt: skip
PARTICIPANT_FIELDS = {
    "sid": str, "room_sid": str, "account_sid": str, "status": str, "identity": str,
    "date_created": datetime, "date_updated": datetime, "start_time": datetime, "end_time": (datetime, None),
    "duration": (int, None), "url": str, "links": dict,
}  # fmt: skip


def assert_fields(resource: object, fields: dict[str, object]) -> None:
    for name, expected in fields.items():
        value = getattr(resource, name)
        allowed = expected if isinstance(expected, tuple) else (expected,)
        ok = any(value is None if kind is None else isinstance(value, kind) for kind in allowed)
        assert ok, f"{name}={value!r} is not {allowed}"


@pytest.fixture
def client(emulator: RunningEmulator) -> Client:
    client = Client(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)
    client.video.base_url = emulator.url
    return client


def test_create_with_defaults_matches_the_seed_example(client: Client, emulator: RunningEmulator) -> None:
    room = client.video.v1.rooms.create()
    assert_fields(room, ROOM_FIELDS)
    assert room.sid.startswith("RM") and len(room.sid) == 34
    assert room.unique_name == room.sid  # no UniqueName: the SID stands in (reference §1.1)
    assert (room.status, room.type, room.max_participants) == ("in-progress", "group", 50)
    assert (room.empty_room_timeout, room.unused_room_timeout) == (5, 5)
    assert room.max_participant_duration == 14400
    assert room.video_codecs == ["VP8"] and room.media_region == "us1"
    assert room.end_time is None and room.duration is None
    assert room.url == f"{emulator.url}/v1/Rooms/{room.sid}"
    assert set(room.links) == {"participants", "recordings", "transcriptions", "recording_rules"}
    assert room.date_created.tzinfo is not None  # parsed: the exact YYYY-MM-DDTHH:MM:SSZ format


def test_create_with_every_parameter(client: Client, sink) -> None:
    room = client.video.v1.rooms.create(
        unique_name="DailyStandup",
        type="group",
        status_callback=sink.url,
        status_callback_method="GET",
        max_participants=10,
        record_participants_on_connect=True,
        transcribe_participants_on_connect=False,
        video_codecs=["VP8", "H264"],
        media_region="ie1",
        recording_rules={"rules": [{"type": "include", "all": True}]},
        transcriptions_configuration={"LanguageCode": "EN-us"},
        audio_only=False,
        max_participant_duration=3600,
        empty_room_timeout=7,
        unused_room_timeout=9,
        large_room=True,
        enable_turn=True,
    )
    assert_fields(room, ROOM_FIELDS)
    assert room.unique_name == "DailyStandup"
    assert (room.status_callback, room.status_callback_method) == (sink.url, "GET")
    assert room.max_participants == 10 and room.record_participants_on_connect is True
    assert room.video_codecs == ["VP8", "H264"] and room.media_region == "ie1"
    assert (room.max_participant_duration, room.empty_room_timeout, room.unused_room_timeout) == (3600, 7, 9)
    assert room.large_room is True


def test_audio_only_room_has_no_video_codecs(client: Client) -> None:
    room = client.video.v1.rooms.create(audio_only=True)
    assert room.audio_only is True and room.video_codecs == []


def test_fetch_by_sid_and_by_name_and_complete(client: Client) -> None:
    created = client.video.v1.rooms.create(unique_name="fetch-me")
    by_sid = client.video.v1.rooms(created.sid).fetch()
    by_name = client.video.v1.rooms("fetch-me").fetch()
    assert by_sid.sid == by_name.sid == created.sid
    assert by_name.url.endswith(f"/v1/Rooms/{created.sid}")  # always the SID form

    completed = client.video.v1.rooms(created.sid).update(status="completed")
    assert completed.status == "completed"
    assert completed.end_time is not None and completed.duration is not None and completed.duration >= 0

    assert client.video.v1.rooms(created.sid).fetch().status == "completed"  # by SID: any status
    with pytest.raises(TwilioRestException) as missing:
        client.video.v1.rooms("fetch-me").fetch()  # by name: in-progress only
    assert (missing.value.status, missing.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as again:
        client.video.v1.rooms(created.sid).update(status="completed")
    assert (again.value.status, again.value.code) == (400, 53112)

    # The name is free again once its room completed; both rooms keep it.
    reused = client.video.v1.rooms.create(unique_name="fetch-me")
    assert reused.sid != created.sid
    named = client.video.v1.rooms.list(unique_name="fetch-me", status="completed")
    assert [r.sid for r in named] == [created.sid]


def test_duplicate_in_progress_name_is_room_exists(client: Client) -> None:
    client.video.v1.rooms.create(unique_name="taken")
    with pytest.raises(TwilioRestException) as exc:
        client.video.v1.rooms.create(unique_name="taken")
    assert (exc.value.status, exc.value.code) == (400, 53113)
    assert "Room exists" in exc.value.msg


def test_list_with_each_filter_and_paging_across_pages(client: Client, emulator: RunningEmulator) -> None:
    sids = [client.video.v1.rooms.create(unique_name=f"room-{i}").sid for i in range(7)]
    client.video.v1.rooms(sids[0]).update(status="completed")
    client.video.v1.rooms(sids[1]).update(status="completed")

    in_progress = client.video.v1.rooms.list(
        limit=100, page_size=2
    )  # 3 pages of 2 + 1 of 1... via next_page_url
    assert [r.sid for r in in_progress] == sids[2:]
    pages = [
        e
        for e in emulator.state.requests
        if e["operation"] == "ListRoom" and "PageSize=2" in e["query"] and e["status"] == 200
    ]
    assert len(pages) >= 3

    assert [r.sid for r in client.video.v1.rooms.list(status="completed")] == sids[:2]
    assert [r.sid for r in client.video.v1.rooms.list(unique_name="room-4")] == [sids[4]]
    assert client.video.v1.rooms.list(limit=3, page_size=2)[2].sid == sids[4]

    now = datetime.now(UTC)
    assert len(client.video.v1.rooms.list(date_created_after=now - timedelta(minutes=5))) == 5
    assert client.video.v1.rooms.list(date_created_before=now - timedelta(minutes=5)) == []
    assert (
        len(client.video.v1.rooms.list(date_created_after=(now - timedelta(days=1)).strftime("%Y-%m-%d")))
        == 5
    )


def test_paging_links_point_at_the_emulator(client: Client, emulator: RunningEmulator) -> None:
    for i in range(5):
        client.video.v1.rooms.create(unique_name=f"p-{i}")
    page = client.video.v1.rooms.page(page_size=2)
    second = page.next_page()
    third = second.next_page()
    names = [[r.unique_name for r in p] for p in (page, second, third)]
    assert names == [["p-0", "p-1"], ["p-2", "p-3"], ["p-4"]]
    assert third.next_page() is None
    assert [r.unique_name for r in second.previous_page()] == ["p-0", "p-1"]
    body = emulator.api().get("/v1/Rooms", params={"PageSize": 2}).json()
    assert body["meta"]["next_page_url"].startswith(f"{emulator.url}/v1/Rooms?")
    assert body["meta"]["key"] == "rooms"


def test_participants_list_fetch_and_disconnect(client: Client, emulator: RunningEmulator) -> None:
    room = client.video.v1.rooms.create(unique_name="people")
    control = emulator.control()
    joined = [
        control.post("/emulator/Rooms/people/Participants", data={"Identity": name}).json()
        for name in ("alice", "bob", "carol")
    ]
    assert all(Participant.model_validate(p).status == "connected" for p in joined)

    participants = client.video.v1.rooms(room.sid).participants
    listed = participants.list(page_size=2)
    assert [p.identity for p in listed] == ["alice", "bob", "carol"]
    assert_fields(listed[0], PARTICIPANT_FIELDS)
    assert [p.identity for p in participants.list(identity="bob")] == ["bob"]

    by_identity = participants("alice").fetch()
    by_sid = participants(joined[0]["sid"]).fetch()
    assert by_identity.sid == by_sid.sid and by_sid.end_time is None and by_sid.duration is None

    kicked = participants("bob").update(status="disconnected")
    assert kicked.status == "disconnected" and kicked.end_time is not None and kicked.duration == 0
    assert [p.identity for p in participants.list()] == ["alice", "carol"]
    assert [p.identity for p in participants.list(status="disconnected")] == ["bob"]
    with pytest.raises(TwilioRestException) as gone:
        participants("bob").fetch()  # identities match connected participants only
    assert (gone.value.status, gone.value.code) == (404, 53204)
    assert participants(joined[1]["sid"]).fetch().status == "disconnected"  # by SID: any status

    client.video.v1.rooms(room.sid).update(status="completed")
    assert sorted(p.identity for p in participants.list()) == [
        "alice",
        "bob",
        "carol",
    ]  # completed: disconnected


def test_api_key_credentials_are_accepted(emulator: RunningEmulator) -> None:
    client = Client(TEST_API_KEY_SID, TEST_API_KEY_SECRET, account_sid=TEST_ACCOUNT_SID)
    client.video.base_url = emulator.url
    room = client.video.v1.rooms.create(unique_name="via-key")
    assert room.account_sid == TEST_ACCOUNT_SID


def test_wrong_credentials_are_20003(emulator: RunningEmulator) -> None:
    client = Client(TEST_ACCOUNT_SID, "not-the-token")
    client.video.base_url = emulator.url
    with pytest.raises(TwilioRestException) as exc:
        client.video.v1.rooms.create()
    assert (exc.value.status, exc.value.code) == (401, 20003)
    assert emulator.state.world.rooms == {}


def test_responses_parse_as_the_shared_models(emulator: RunningEmulator) -> None:
    api = emulator.api()
    room = Room.model_validate_json(api.post("/v1/Rooms", data={"UniqueName": "m"}).content)
    assert room.model_dump(mode="json")["date_created"].endswith("Z")
    assert (
        json.loads(api.get(f"/v1/Rooms/{room.sid}").content)["date_created"]
        == room.model_dump(mode="json")["date_created"]
    )


def test_room_sub_resources_through_the_library(client: Client, emulator: RunningEmulator) -> None:
    room = client.video.v1.rooms.create(
        unique_name="media",
        recording_rules=[{"type": "include", "kind": "audio"}],
        transcriptions_configuration={"languageCode": "en-US"},
    )
    control = emulator.control()
    control.post("/emulator/Rooms/media/Participants", json={"Identity": "alice"})
    control.post("/emulator/Rooms/media/Participants", json={"Identity": "bob"})
    mic = control.post("/emulator/Rooms/media/Participants/bob/Tracks", json={"Kind": "audio", "Name": "mic"})
    control.post("/emulator/Rooms/media/Participants/bob/Tracks", json={"Kind": "video", "Name": "cam"})
    this = client.video.v1.rooms(room.sid)

    rules = this.recording_rules.fetch()
    assert rules.room_sid == room.sid and rules.rules == [{"type": "include", "kind": "audio"}]
    updated = this.recording_rules.update(rules=[{"type": "include", "all": True}])
    assert updated.rules == [{"type": "include", "all": True}] and updated.date_updated is not None

    recordings = this.recordings.list(page_size=1)  # two pages, via next_page_url
    assert sorted(r.type for r in recordings) == ["audio", "video"]
    audio = next(r for r in recordings if r.type == "audio")
    assert audio.source_sid == mic.json()["sid"] and audio.status == "processing"
    assert this.recordings(audio.sid).fetch().track_name == "mic"
    assert [r.sid for r in this.recordings.list(source_sid=audio.source_sid)] == [audio.sid]
    control.post("/emulator/Rooms/media/Participants/bob/Tracks/mic/Unpublish")
    assert this.recordings(audio.sid).fetch().status == "completed"
    assert this.recordings(audio.sid).delete() is True
    assert this.recordings(audio.sid).fetch().status == "deleted"

    transcription = this.transcriptions.create()
    assert transcription.status == "started" and transcription.configuration == {"languageCode": "en-US"}
    assert [t.ttid for t in this.transcriptions.list()] == [transcription.ttid]
    stopped = this.transcriptions(transcription.ttid).update(status="stopped")
    assert stopped.status == "stopped" and stopped.duration is not None
    assert this.transcriptions(transcription.ttid).fetch().end_time is not None


def test_participant_sub_resources_through_the_library(client: Client, emulator: RunningEmulator) -> None:
    room = client.video.v1.rooms.create(unique_name="people-media")
    control = emulator.control()
    people = "/emulator/Rooms/people-media/Participants"
    alice = control.post(people, json={"Identity": "alice"}).json()
    bob = control.post(people, json={"Identity": "bob"}).json()
    mic = control.post(f"{people}/bob/Tracks", json={"Kind": "audio", "Name": "mic"}).json()
    control.post(f"{people}/bob/Tracks", json={"Kind": "data", "Name": "chat"})
    participants = client.video.v1.rooms(room.sid).participants

    published = participants(bob["sid"]).published_tracks.list()
    assert [(t.name, t.kind, t.enabled) for t in published] == [
        ("mic", "audio", True),
        ("chat", "data", True),
    ]
    assert participants("bob").published_tracks("mic").fetch().sid == mic["sid"]

    subscribed = participants(alice["sid"]).subscribed_tracks.list()
    assert [t.publisher_sid for t in subscribed] == [bob["sid"], bob["sid"]]
    assert participants(alice["sid"]).subscribed_tracks(mic["sid"]).fetch().name == "mic"

    assert participants("alice").subscribe_rules.fetch().rules == [{"type": "include", "all": True}]
    changed = participants("alice").subscribe_rules.update(rules=[{"type": "include", "kind": "audio"}])
    assert changed.rules == [{"type": "include", "kind": "audio"}]
    assert [t.name for t in participants(alice["sid"]).subscribed_tracks.list()] == ["mic"]
    with pytest.raises(TwilioRestException) as bad:
        participants("alice").subscribe_rules.update(rules=[{"type": "maybe", "all": True}])
    assert (bad.value.status, bad.value.code) == (400, 53215)

    anonymized = participants(bob["sid"]).anonymize().update()
    assert anonymized.identity == bob["sid"] and anonymized.url.endswith("/Anonymize")
