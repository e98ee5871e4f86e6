"""Emulator records rendered as the shared wire models, with URLs on the serving base URL."""

from __future__ import annotations

from collections.abc import Iterable

from emulator.media import RecordingRecord, TrackRecord, TranscriptionRecord
from emulator.room_options import RoomOptions
from emulator.state import ParticipantRecord, RoomRecord
from twilio_video.models import (
    PageMeta,
    Participant,
    ParticipantAnonymized,
    PublishedTrack,
    RecordingRules,
    Room,
    RoomRecording,
    SubscribedTrack,
    SubscribeRules,
    TrackRule,
    Transcription,
)

#: The room's settings its resource shows: every one of its options the resource has a field for (its
#: ``unique_name`` is the record's, which falls back to the SID).
_ROOM_SETTINGS = tuple(
    field for field in RoomOptions.model_fields if field in Room.model_fields and field != "unique_name"
)


def room_url(base_url: str, room_sid: str) -> str:
    return f"{base_url}/v1/Rooms/{room_sid}"


def render_room(room: RoomRecord, base_url: str) -> Room:
    url = room_url(base_url, room.sid)
    return Room(
        sid=room.sid,
        status=room.status,
        date_created=room.date_created,
        date_updated=room.date_updated,
        account_sid=room.account_sid,
        enable_turn=True,
        unique_name=room.unique_name,
        end_time=room.end_time,
        duration=room.duration,
        url=url,
        links={
            "participants": f"{url}/Participants",
            "recordings": f"{url}/Recordings",
            "transcriptions": f"{url}/Transcriptions",
            "recording_rules": f"{url}/RecordingRules",
        },
        **{setting: getattr(room.options, setting) for setting in _ROOM_SETTINGS},
    )


def room_json(room: RoomRecord, base_url: str) -> bytes:
    """``render_room(room, base_url)`` as JSON, rendered again only when the room has changed.

    The key holds everything of the room's that can change (and the base URL), so a stale rendering is
    never served; what is not in it (SID, account, creation date) never changes.
    """
    key = (base_url, room.status, room.date_updated, room.end_time, room.unique_name, room.options)
    rendered = room.rendered
    if rendered is not None and rendered[0] == key:
        return rendered[1]
    body = render_room(room, base_url).model_dump_json().encode()
    room.rendered = (key, body)
    return body


def page_json(meta: PageMeta, items: Iterable[bytes]) -> bytes:
    """A list response from its items' JSON: the bytes ``Page`` subclasses serialise to (``meta``, then the
    items under ``meta.key``), without parsing or validating the items again."""
    return b"".join(
        (
            b'{"meta":',
            meta.model_dump_json().encode(),
            b',"',
            meta.key.encode(),
            b'":[',
            b",".join(items),
            b"]}",
        )
    )


def render_participant(participant: ParticipantRecord, base_url: str) -> Participant:
    url = participant_url(base_url, participant)
    return Participant(
        sid=participant.sid,
        room_sid=participant.room_sid,
        account_sid=participant.account_sid,
        status=participant.status,
        identity=participant.identity,
        date_created=participant.date_created,
        date_updated=participant.date_updated,
        start_time=participant.start_time,
        end_time=participant.end_time,
        duration=participant.duration,
        url=url,
        links={
            "published_tracks": f"{url}/PublishedTracks",
            "subscribed_tracks": f"{url}/SubscribedTracks",
            "subscribe_rules": f"{url}/SubscribeRules",
            "anonymize": f"{url}/Anonymize",
        },
    )


def participant_url(base_url: str, participant: ParticipantRecord) -> str:
    return f"{room_url(base_url, participant.room_sid)}/Participants/{participant.sid}"


def render_anonymized(participant: ParticipantRecord, base_url: str) -> ParticipantAnonymized:
    return ParticipantAnonymized(
        sid=participant.sid,
        room_sid=participant.room_sid,
        account_sid=participant.account_sid,
        status=participant.status,
        identity=participant.identity,
        date_created=participant.date_created,
        date_updated=participant.date_updated,
        start_time=participant.start_time,
        end_time=participant.end_time,
        duration=participant.duration,
        url=f"{participant_url(base_url, participant)}/Anonymize",
    )


def render_published_track(track: TrackRecord, base_url: str) -> PublishedTrack:
    participant = f"{room_url(base_url, track.room_sid)}/Participants/{track.participant_sid}"
    url = f"{participant}/PublishedTracks/{track.sid}"
    return PublishedTrack(
        sid=track.sid,
        participant_sid=track.participant_sid,
        room_sid=track.room_sid,
        name=track.name,
        date_created=track.date_created,
        date_updated=track.date_updated,
        enabled=track.enabled,
        kind=track.kind,
        url=url,
    )


def render_subscribed_track(
    track: TrackRecord, subscriber: ParticipantRecord, base_url: str
) -> SubscribedTrack:
    return SubscribedTrack(
        sid=track.sid,
        participant_sid=subscriber.sid,
        publisher_sid=track.participant_sid,
        room_sid=track.room_sid,
        name=track.name,
        date_created=track.date_created,
        date_updated=track.date_updated,
        enabled=track.enabled,
        kind=track.kind,
        url=f"{participant_url(base_url, subscriber)}/SubscribedTracks/{track.sid}",
    )


def render_recording_rules(room: RoomRecord) -> RecordingRules:
    rules = room.media.recording_rules
    return RecordingRules(
        room_sid=room.sid,
        rules=[TrackRule.model_validate(rule) for rule in rules.rules],
        date_created=rules.date_created,
        date_updated=rules.date_updated,
    )


def render_subscribe_rules(participant: ParticipantRecord) -> SubscribeRules:
    rules = participant.media.subscribe_rules
    return SubscribeRules(
        participant_sid=participant.sid,
        room_sid=participant.room_sid,
        rules=[TrackRule.model_validate(rule) for rule in rules.rules],
        date_created=rules.date_created,
        date_updated=rules.date_updated,
    )


def render_recording(recording: RecordingRecord, base_url: str) -> RoomRecording:
    url = f"{room_url(base_url, recording.room_sid)}/Recordings/{recording.sid}"
    return RoomRecording(
        account_sid=recording.account_sid,
        status=recording.status,
        date_created=recording.date_created,
        sid=recording.sid,
        source_sid=recording.track.sid,
        size=recording.size,
        url=url,
        type=recording.track.kind,
        duration=recording.duration,
        container_format=recording.container,
        codec=recording.codec,
        grouping_sids={"room_sid": recording.room_sid, "participant_sid": recording.participant_sid},
        track_name=recording.track.name,
        offset=recording.offset,
        media_external_location=None,
        room_sid=recording.room_sid,
        links={"media": f"{url}/Media"},
    )


def render_transcription(transcription: TranscriptionRecord, base_url: str) -> Transcription:
    return Transcription(
        ttid=transcription.ttid,
        account_sid=transcription.account_sid,
        room_sid=transcription.room_sid,
        source_sid=None,
        status=transcription.status,
        date_created=transcription.date_created,
        date_updated=transcription.date_updated,
        start_time=transcription.start_time,
        end_time=transcription.end_time,
        duration=transcription.duration,
        url=f"{room_url(base_url, transcription.room_sid)}/Transcriptions/{transcription.ttid}",
        configuration=transcription.configuration,
    )
