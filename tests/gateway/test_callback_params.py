"""``room_event_from_callback`` on signed-but-odd forms: a ``RoomEvent``, None, or ``BadCallback`` naming
the parameter — never any other exception."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from common.room_events import RoomEventKind
from roomkeeper.gateway.callbacks import MAX_SEQUENCE_NUMBER, BadCallback, room_event_from_callback
from tests.gateway.harness import CONNECTED, PARTICIPANT_SID, ROOM_SID


def test_a_genuine_callback_becomes_an_event_in_utc() -> None:
    event = room_event_from_callback({**CONNECTED, "Timestamp": "2026-11-25T10:00:01.876+01:00"})
    assert event is not None
    assert event.kind is RoomEventKind.PARTICIPANT_CONNECTED
    assert (event.room_sid, event.participant_sid, event.participant_identity) == (
        ROOM_SID,
        PARTICIPANT_SID,
        "alice",
    )
    assert event.timestamp == datetime(2026, 11, 25, 9, 0, 1, 876000, tzinfo=UTC)
    assert event.timestamp.utcoffset() is not None and event.timestamp.tzinfo is UTC
    assert event.sequence_number == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        # SequenceNumber: str.isdigit() is True for these, int() fails or reads something else.
        ({"SequenceNumber": "²"}, "SequenceNumber='²' is not a whole number"),
        ({"SequenceNumber": "١٢"}, "SequenceNumber='١٢' is not a whole number"),
        ({"SequenceNumber": "\uff11"}, "SequenceNumber='\uff11' is not a whole number"),
        ({"SequenceNumber": ""}, "SequenceNumber='' is not a whole number"),
        ({"SequenceNumber": " 1"}, "is not a whole number"),
        ({"SequenceNumber": "-1"}, "is not a whole number"),
        ({"SequenceNumber": "+1"}, "is not a whole number"),
        ({"SequenceNumber": "1_000"}, "is not a whole number"),
        ({"SequenceNumber": "0x10"}, "is not a whole number"),
        ({"SequenceNumber": str(MAX_SEQUENCE_NUMBER + 1)}, f"is larger than {MAX_SEQUENCE_NUMBER}"),
        # int() itself refuses over 4300 digits with a ValueError: never reached.
        ({"SequenceNumber": "9" * 60_000}, "(60000 characters) is larger than"),
        # Timestamp
        ({"Timestamp": "yesterday"}, "Timestamp='yesterday' is not an ISO 8601 date-time"),
        ({"Timestamp": " "}, "Timestamp=' ' is not an ISO 8601"),
        ({"Timestamp": "2026-13-01T00:00:00Z"}, "Timestamp="),
        ({"Timestamp": "2026-11-25T09:00:00+24:00"}, "is not an ISO 8601"),
        ({"Timestamp": "2026-11-25T09:00:00ZZ"}, "is not an ISO 8601"),
        ({"Timestamp": "\uff12\uff10\uff12\uff16-11-25T09:00:00Z"}, "is not an ISO 8601"),
        ({"Timestamp": "2026-11-25\x00T09:00:00Z"}, "\\x00"),
        ({"Timestamp": "9" * 60_000}, "(60000 characters) is not an ISO 8601"),
        # Valid ISO 8601, but not representable in UTC: converting it later would overflow.
        ({"Timestamp": "9999-12-31T23:59:59-01:00"}, "is out of range in UTC"),
        ({"Timestamp": "0001-01-01T00:00:00+01:00"}, "is out of range in UTC"),
        # Missing or empty
        ({"Timestamp": ""}, "Timestamp is missing"),
        ({"RoomSid": ""}, "RoomSid is missing"),
        ({"StatusCallbackEvent": ""}, "StatusCallbackEvent is missing"),
        ({"ParticipantSid": ""}, "participant-connected needs ParticipantSid and ParticipantIdentity"),
        ({"ParticipantIdentity": ""}, "needs ParticipantSid and ParticipantIdentity"),
    ],
)
def test_odd_values_are_bad_callbacks_naming_the_parameter(changes: dict[str, str], message: str) -> None:
    with pytest.raises(BadCallback) as raised:
        room_event_from_callback({**CONNECTED, **changes})
    assert message in str(raised.value)
    assert len(str(raised.value)) < 200, "a huge value is quoted only in part"


@pytest.mark.parametrize(
    "name", ["StatusCallbackEvent", "RoomSid", "Timestamp", "SequenceNumber", "ParticipantSid"]
)
def test_a_repeated_parameter_the_event_is_made_of_is_refused(name: str) -> None:
    pairs = [*CONNECTED.items(), (name, CONNECTED[name])]
    with pytest.raises(BadCallback, match=f"{name} is repeated \\(2 values\\)"):
        room_event_from_callback(pairs)


def test_repeats_of_parameters_it_does_not_use_are_harmless() -> None:
    event = room_event_from_callback([*CONNECTED.items(), ("RoomStatus", "in-progress"), ("Extra", "1")])
    assert event is not None and event.sequence_number == 1


def test_huge_but_well_formed_values_make_an_event() -> None:
    event = room_event_from_callback(
        {**CONNECTED, "ParticipantIdentity": "i" * 60_000, "SequenceNumber": "0" * 5000 + "7"}
    )
    assert (
        event is not None and event.sequence_number == 7 and len(event.participant_identity or "") == 60_000
    )
    assert room_event_from_callback({**CONNECTED, "SequenceNumber": str(MAX_SEQUENCE_NUMBER)}) is not None


@pytest.mark.parametrize(
    "kind", ["track-added", "recording-completed", "snapshot", "room-missing", "ROOM-CREATED", "x" * 1000]
)
def test_events_meetings_ignore_are_none(kind: str) -> None:
    # snapshot and room-missing come from the reconciler only; a callback can never claim them.
    assert room_event_from_callback({"StatusCallbackEvent": kind}) is None


def test_room_events_need_no_participant() -> None:
    event = room_event_from_callback(
        {
            "StatusCallbackEvent": "room-ended",
            "RoomSid": ROOM_SID,
            "Timestamp": "2026-11-25",
            "RoomDuration": "60",
        }
    )
    assert event is not None and event.sequence_number is None
    assert event.timestamp == datetime(2026, 11, 25, tzinfo=UTC)


def test_random_odd_forms_raise_nothing_but_bad_callback() -> None:
    # Values built from fragments that have broken parsers: non-ASCII digits, signs, separators,
    # offsets, huge runs, control characters. Whatever the mix: an event, None, or BadCallback.
    rng = random.Random(7)
    fragments = ["", "0", "9", "²", "\u0661", "-", "+", " ", "\x00", "\n", "T", "Z", ":", ".", "e", "_", "W"]
    fragments += [
        "2026-11-25",
        "T09:00:00",
        ".876",
        "+23:59",
        "-24:00",
        "9999-12-31",
        "0001-01-01",
        "9" * 5000,
    ]
    names = [*CONNECTED]
    outcomes: set[str] = set()
    for _ in range(3000):
        form = dict(CONNECTED)
        for name in rng.sample(names, rng.randint(1, 4)):
            if rng.random() < 0.1:
                del form[name]
            else:
                form[name] = "".join(rng.choice(fragments) for _ in range(rng.randint(0, 6)))
        try:
            outcomes.add(type(room_event_from_callback(form)).__name__)
        except BadCallback:
            outcomes.add("BadCallback")
    assert outcomes == {"RoomEvent", "NoneType", "BadCallback"}
