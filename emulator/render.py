"""Emulator records rendered as the shared wire models, with URLs on the serving base URL."""

from __future__ import annotations

from emulator.state import ParticipantRecord, RoomRecord
from twilio_video.models import Participant, Room


def room_url(base_url: str, room_sid: str) -> str:
    return f"{base_url}/v1/Rooms/{room_sid}"


def render_room(room: RoomRecord, base_url: str) -> Room:
    url = room_url(base_url, room.sid)
    options = room.options
    return Room(
        sid=room.sid,
        status=room.status,
        date_created=room.date_created,
        date_updated=room.date_updated,
        account_sid=room.account_sid,
        enable_turn=True,
        unique_name=room.unique_name,
        status_callback=options.status_callback,
        status_callback_method=options.status_callback_method,
        end_time=room.end_time,
        duration=room.duration,
        type=options.type,
        max_participants=options.max_participants,
        max_participant_duration=options.max_participant_duration,
        max_concurrent_published_tracks=options.max_concurrent_published_tracks,
        record_participants_on_connect=options.record_participants_on_connect,
        video_codecs=list(options.video_codecs),
        media_region=options.media_region,
        audio_only=options.audio_only,
        empty_room_timeout=options.empty_room_timeout,
        unused_room_timeout=options.unused_room_timeout,
        large_room=options.large_room,
        url=url,
        links={
            "participants": f"{url}/Participants",
            "recordings": f"{url}/Recordings",
            "transcriptions": f"{url}/Transcriptions",
            "recording_rules": f"{url}/RecordingRules",
        },
    )


def render_participant(participant: ParticipantRecord, base_url: str) -> Participant:
    url = f"{room_url(base_url, participant.room_sid)}/Participants/{participant.sid}"
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
