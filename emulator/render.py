"""Emulator records rendered as the shared wire models, with URLs on the serving base URL."""

from __future__ import annotations

from emulator.room_options import RoomOptions
from emulator.state import ParticipantRecord, RoomRecord
from twilio_video.models import Participant, Room

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
