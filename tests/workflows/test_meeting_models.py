"""The meeting's messages as they travel (signals recorded by older code must still decode)."""

from __future__ import annotations

from common.room_events import RoomEvent, RoomEventKind


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
