"""CreateRoom parameters, typed, and their form encoding exactly as Twilio's own libraries do it.

PascalCase names, repeated ``VideoCodecs``, JSON strings for ``RecordingRules`` and
``TranscriptionsConfiguration``, lowercase booleans, unset fields left out.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from twilio_video.models import HttpMethod, RoomType, VideoCodec

_FORM_NAMES = {
    "unique_name": "UniqueName",
    "type": "Type",
    "status_callback": "StatusCallback",
    "status_callback_method": "StatusCallbackMethod",
    "max_participants": "MaxParticipants",
    "max_participant_duration": "MaxParticipantDuration",
    "record_participants_on_connect": "RecordParticipantsOnConnect",
    "transcribe_participants_on_connect": "TranscribeParticipantsOnConnect",
    "video_codecs": "VideoCodecs",
    "media_region": "MediaRegion",
    "recording_rules": "RecordingRules",
    "transcriptions_configuration": "TranscriptionsConfiguration",
    "audio_only": "AudioOnly",
    "empty_room_timeout": "EmptyRoomTimeout",
    "unused_room_timeout": "UnusedRoomTimeout",
    "large_room": "LargeRoom",
}


class CreateRoomParams(BaseModel):
    """Every CreateRoom parameter; ``None`` means "let Twilio apply its default"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unique_name: str | None = None
    type: RoomType | None = None
    status_callback: str | None = None
    status_callback_method: HttpMethod | None = None
    max_participants: int | None = None
    max_participant_duration: int | None = None
    record_participants_on_connect: bool | None = None
    transcribe_participants_on_connect: bool | None = None
    video_codecs: list[VideoCodec] | None = None
    media_region: str | None = None
    recording_rules: list[dict[str, Any]] | dict[str, Any] | None = None
    transcriptions_configuration: dict[str, Any] | None = None
    audio_only: bool | None = None
    empty_room_timeout: int | None = None
    unused_room_timeout: int | None = None
    large_room: bool | None = None

    def to_form(self) -> list[tuple[str, str]]:
        form: list[tuple[str, str]] = []
        for field, name in _FORM_NAMES.items():
            value = getattr(self, field)
            if value is None:
                continue
            if isinstance(value, bool):
                form.append((name, "true" if value else "false"))
            elif field == "video_codecs":
                form.extend((name, codec.value) for codec in value)
            elif isinstance(value, dict | list):
                form.append((name, json.dumps(value, separators=(",", ":"))))
            else:
                form.append((name, str(value.value if hasattr(value, "value") else value)))
        return form
