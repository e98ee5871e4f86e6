"""CreateRoom parameters, typed, and their form encoding exactly as Twilio's own libraries do it.

PascalCase names, repeated ``VideoCodecs``, JSON strings for ``RecordingRules`` and
``TranscriptionsConfiguration``, lowercase booleans, unset fields left out.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Final

from pydantic import AliasGenerator, BaseModel, ConfigDict
from pydantic.alias_generators import to_pascal

from twilio_video.models import HttpMethod, RoomType, VideoCodec

#: A parameter's name on the wire: its field name in PascalCase (``max_participants`` →
#: ``MaxParticipants``), the one rule behind every form name. Cached: ``to_pascal`` runs regular
#: expressions, and the names are asked for on every request.
form_name: Final = functools.cache(to_pascal)


class CreateRoomParams(BaseModel):
    """Every CreateRoom parameter; ``None`` means "let Twilio apply its default".

    Fields are snake_case, as in Twilio's JSON resources; each also validates under its form name.
    Only validation is aliased: serialized (as in Temporal payloads) the names stay snake_case.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=AliasGenerator(validation_alias=form_name),
        populate_by_name=True,
    )

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
        """The set parameters as form pairs, in field order."""
        form: list[tuple[str, str]] = []
        for field in CreateRoomParams.model_fields:
            value = getattr(self, field)
            if value is None:
                continue
            name = form_name(field)
            if isinstance(value, bool):
                form.append((name, "true" if value else "false"))
            elif field == "video_codecs":
                form.extend((name, codec.value) for codec in value)
            elif isinstance(value, dict | list):
                form.append((name, json.dumps(value, separators=(",", ":"))))
            else:
                form.append((name, str(value.value if hasattr(value, "value") else value)))
        return form
