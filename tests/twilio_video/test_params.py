"""CreateRoom's parameters: one list of fields whose wire names are derived, checked against Twilio's spec."""

from __future__ import annotations

import json

import pytest
from pydantic_core import to_json

from tests.support import SHARED_REFERENCE
from twilio_video.models import RoomType
from twilio_video.params import CreateRoomParams, form_name

SPEC = SHARED_REFERENCE / "twilio-oai" / "twilio_video_v1.json"


def test_form_names_are_the_fields_in_pascal_case() -> None:
    assert form_name("max_participant_duration") == "MaxParticipantDuration"
    assert form_name("type") == "Type"


@pytest.mark.skipif(not SPEC.exists(), reason="Twilio's OpenAPI file is not beside the project")
def test_every_parameter_is_named_as_in_twilios_openapi_file() -> None:
    spec = json.loads(SPEC.read_text())
    body = spec["paths"]["/v1/Rooms"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    documented = set(body["schema"]["properties"])
    ours = {form_name(field) for field in CreateRoomParams.model_fields}
    # EnableTurn is deprecated and ignored by Twilio; roomkeeper never sends it.
    assert ours == documented - {"EnableTurn"}


def test_validates_by_field_or_form_name_and_serializes_by_field_name() -> None:
    by_field = CreateRoomParams(type=RoomType.GO, max_participants=2)
    by_form = CreateRoomParams.model_validate({"Type": "go", "MaxParticipants": 2})
    assert by_field == by_form
    # Temporal payloads (pydantic_core.to_json, aliases on) keep the snake_case names histories hold.
    assert json.loads(to_json(by_field))["max_participants"] == 2
    assert by_field.to_form() == [("Type", "go"), ("MaxParticipants", "2")]
