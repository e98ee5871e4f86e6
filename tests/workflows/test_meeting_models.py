"""The meeting's messages as they travel (signals recorded by older code must still decode)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from common.room_events import RoomEvent, RoomEventKind
from workflows.meeting_input import RoomSpec, explain
from workflows.meeting_state import MeetingInput


def test_a_snapshot_of_an_empty_room_is_an_empty_list_not_null() -> None:
    event = RoomEvent(kind=RoomEventKind.SNAPSHOT, room_sid="RM1", timestamp="2026-01-01T00:00:00Z")
    assert event.participants == []
    assert '"participants":[]' in event.model_dump_json()


def test_a_recorded_signal_with_null_participants_still_decodes() -> None:
    recorded = (
        '{"kind":"room-ended","source":"callback","room_sid":"RM1","timestamp":"2026-01-01T00:00:00Z",'
        '"sequence_number":1,"participant_sid":null,"participant_identity":null,"participants":null}'
    )
    assert RoomEvent.model_validate_json(recorded).participants == []


def test_max_participants_defaults_to_ten_or_the_types_cap() -> None:
    assert [
        RoomSpec(type=kind).max_participants for kind in ("group", "group-small", "go", "peer-to-peer")
    ] == [
        10,
        4,
        2,
        10,
    ]
    assert RoomSpec(type="go", max_participants=1).max_participants == 1


def test_every_room_problem_is_named_in_one_line() -> None:
    spec = {"meeting_id": "m", "start_time": "2030-01-01T10:00:00Z", "end_time": "2030-01-01T11:00:00Z"}
    with pytest.raises(ValidationError) as exc:
        MeetingInput.model_validate(spec | {"room": {"type": "go", "audio_only": True, "media_region": "xx"}})
    assert explain(exc.value) == (
        "room.audio_only: true needs type 'group', not type 'go'; "
        "room.media_region: 'xx' is not one of au1, br1, de1, gll, ie1, in1, jp1, sg1, us1, us2"
    )
