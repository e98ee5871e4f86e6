"""The Cal.com door's parts on their own: the series' meeting id, the payload models, the event-type
options file (and the gateway refusing to start with a bad one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.settings import ConfigurationError
from roomkeeper.calcom.bookings import meeting_id_for, memo_for, spec_for
from roomkeeper.calcom.event_types import EventTypes, load_event_types, parse_event_types
from roomkeeper.calcom.payload import BadPayload, Booked, Cancelled, booking, parse_delivery
from tests.calcom.deliveries import PAYLOADS
from workflows.meeting_input import MeetingSpec

# ------------------------------------------------------------------------------------ meeting id


@pytest.mark.parametrize(
    "ical_uid",
    [
        "4JdS7kqGkL3vRmx9TnWa2p@Cal.com",
        "4JdS7kqGkL3vRmx9TnWa2p@cal.example.com",
        "uid with spaces@SoundBox Store",
        "x" * 500 + "@Cal.com",
        "@@@",
        "Zürich-会议@Cal.com",
        "..",
        "-leading.dash",
    ],
)
def test_every_ical_uid_gives_a_valid_meeting_id_and_room_name(ical_uid: str) -> None:
    meeting_id = meeting_id_for(ical_uid)
    assert meeting_id == meeting_id_for(ical_uid)  # deterministic: the same series, the same meeting
    assert meeting_id.startswith("calcom-") and len(meeting_id) <= 100
    spec = MeetingSpec.model_validate(
        {"meeting_id": meeting_id, "start_time": "2026-11-25T09:00:00Z", "end_time": "2026-11-25T09:30:00Z"}
    )
    # The room is named after the meeting: no "@" and nothing else a URL path segment cannot hold.
    assert MeetingSpec.model_validate(spec.model_dump() | {"room": {"unique_name": spec.unique_name}})
    assert "@" not in spec.unique_name


def test_meeting_ids_read_like_their_series_and_never_collide() -> None:
    assert meeting_id_for("4JdS7kqGkL3vRmx9TnWa2p@Cal.com").startswith(
        "calcom-4JdS7kqGkL3vRmx9TnWa2p-Cal.com-"
    )
    assert meeting_id_for("already-clean.uid") == "calcom-already-clean.uid"
    # Cleaned alike, told apart by the hash of the whole iCalUID.
    alike = ["a@b", "a-b@", "a b", "a:b@"]
    assert len({meeting_id_for(uid) for uid in alike}) == len(alike)
    assert meeting_id_for("a@b") != meeting_id_for("a-b")


# ------------------------------------------------------------------------------------- payloads


def captured(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def test_the_captured_payloads_read_as_bookings() -> None:
    created = booking(Booked, parse_delivery(captured("booking_created")))
    assert (created.uid, created.ical_uid, created.ical_sequence) == (
        "4JdS7kqGkL3vRmx9TnWa2p",
        "4JdS7kqGkL3vRmx9TnWa2p@Cal.com",
        0,
    )
    assert created.start_time == datetime(2026, 11, 25, 9, tzinfo=UTC)
    assert (created.event_type_slug, created.event_type_id) == ("30min", 123456)
    assert created.organizer is not None and created.organizer.time_zone == "Europe/Berlin"

    moved = booking(Booked, parse_delivery(captured("booking_rescheduled")))
    assert (moved.ical_uid, moved.ical_sequence) == (created.ical_uid, 1)
    assert moved.uid != created.uid and moved.reschedule_uid == created.uid

    cancelled = booking(Cancelled, parse_delivery(captured("booking_cancelled")))
    assert cancelled.start_time == moved.start_time  # "+00:00" and "Z" are the same instant
    assert (cancelled.ical_sequence, cancelled.request_reschedule) == (2, False)


def test_a_cancel_may_lack_its_sequence_and_times() -> None:
    document = json.loads(captured("booking_cancelled"))
    for name in ("iCalSequence", "startTime", "endTime", "requestReschedule"):
        del document["payload"][name]
    cancelled = booking(Cancelled, parse_delivery(json.dumps(document).encode()))
    assert (cancelled.ical_sequence, cancelled.start_time, cancelled.request_reschedule) == (
        None,
        None,
        False,
    )


def test_payload_problems_name_every_field() -> None:
    document = json.loads(captured("booking_created"))
    del document["payload"]["iCalUID"]
    document["payload"]["iCalSequence"] = 2**40
    with pytest.raises(BadPayload) as bad:
        booking(Booked, parse_delivery(json.dumps(document).encode()))
    assert str(bad.value) == (
        "payload.iCalUID: Field required; "
        "payload.iCalSequence: Input should be less than or equal to 2147483647 (got 1099511627776)"
    )


def test_a_spec_and_memo_from_a_booking() -> None:
    created = booking(Booked, parse_delivery(captured("booking_created")))
    options = parse_event_types({"event_types": {"30min": {"open_before_seconds": 30}}})
    spec = spec_for(created, options, revision=created.ical_sequence)
    assert spec.meeting_id == meeting_id_for(created.ical_uid)
    assert (spec.revision, spec.open_before_seconds, spec.title) == (
        0,
        30,
        "30 Min Meeting between Pat Host and Alex Guest",
    )
    memo = memo_for(created)
    assert memo["source"] == "calcom" and memo["booking_uid"] == created.uid
    assert memo["event_type"] == "30min" and memo["ical_sequence"] == 0
    crowd = created.model_copy(update={"attendees": created.attendees * 60})
    memo = memo_for(crowd)
    assert len(memo["attendees"]) == 50 and memo["attendees_total"] == 60


# --------------------------------------------------------------------------------- event types


def test_options_by_id_then_slug_over_the_defaults() -> None:
    types = parse_event_types(
        {
            "default": {"open_before_seconds": 300, "room": {"max_participants": 6}},
            "event_types": {
                "standup": {"room": {"type": "group-small", "max_participants": 4}},
                "42": {"if_room_ends_early": "end_meeting", "room": {"audio_only": True}},
            },
        }
    )
    assert types.options_for(42, "standup") == {
        "open_before_seconds": 300,
        "if_room_ends_early": "end_meeting",
        "room": {"max_participants": 6, "audio_only": True},
    }
    assert types.options_for(7, "standup")["room"] == {"type": "group-small", "max_participants": 4}
    assert types.options_for(None, "unlisted") == {
        "open_before_seconds": 300,
        "room": {"max_participants": 6},
    }
    assert EventTypes().options_for(1, "x") == {}


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (
            {"event_types": {"standup": {"room": {"type": "group-small", "max_participants": 9}}}},
            "event type 'standup': room.max_participants: 9 is out of range; allowed from 1 up to 4 for a "
            "'group-small' room",
        ),
        (
            {"event_types": {"standup": {"open_before_seconds": -5}}},
            "event type 'standup': open_before_seconds: Input should be greater than or equal to 0 (got -5)",
        ),
        (
            {"event_types": {"standup": {"colour": "blue"}}},
            "event type 'standup': colour is not an option (the options are open_before_seconds, "
            "if_room_ends_early, room)",
        ),
        (
            {"event_types": {"standup": {"room": {"unique_name": "Standup"}}}},
            "event type 'standup': room.unique_name cannot be set per event type",
        ),
        ({"event_types": {"standup": "group"}}, "event type 'standup' must be a table of options"),
        ({"default": {"room": {"codec": "VP9"}}}, "[default]: room.codec: Extra inputs are not permitted"),
        ({"eventtypes": {}}, "[eventtypes] is not a section (the sections are default, event_types)"),
    ],
)
def test_a_bad_options_file_names_the_event_type_and_field(document: dict, problem: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        parse_event_types(document, "ROOMKEEPER_CALCOM_EVENT_TYPES (types.toml)")
    [line] = error.value.problems
    assert line.startswith(f"ROOMKEEPER_CALCOM_EVENT_TYPES (types.toml): {problem}"), line


def test_options_files_in_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "types.toml"
    toml.write_text(
        '[event_types.standup]\nroom = { type = "go" }\n\n[event_types.123456]\nopen_before_seconds = 0\n'
    )
    loaded = load_event_types(toml)
    assert loaded.options_for(None, "standup") == {"room": {"type": "go"}}
    assert loaded.options_for(123456, None) == {"open_before_seconds": 0}
    as_json = tmp_path / "types.json"
    as_json.write_text(json.dumps({"event_types": {"standup": {"room": {"type": "go"}}}}))
    assert load_event_types(as_json).options_for(None, "standup") == {"room": {"type": "go"}}

    broken = tmp_path / "broken.toml"
    broken.write_text("[event_types.standup\n")
    with pytest.raises(ConfigurationError, match=r"\(.*broken.toml\) is not valid TOML: "):
        load_event_types(broken)
    with pytest.raises(ConfigurationError, match=r"\(.*missing.toml\) does not exist$"):
        load_event_types(tmp_path / "missing.toml")


def test_the_gateway_does_not_start_with_a_bad_options_file(tmp_path: Path) -> None:
    options = tmp_path / "types.toml"
    options.write_text("[event_types.standup.room]\nmax_participants = 99\n")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ROOMKEEPER_", "TWILIO_", "TEMPORAL_", "CALCOM_"))
    }
    env |= {
        "TWILIO_AUTH_TOKEN": "an-auth-token",
        "CALCOM_WEBHOOK_SECRET": "a-webhook-secret",
        "ROOMKEEPER_CALCOM_EVENT_TYPES": str(options),
        # Never reached: the file is checked before anything is connected to.
        "TEMPORAL_ADDRESS": "127.0.0.1:1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "roomkeeper.cli", "gateway", "--port", "0"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"roomkeeper gateway: ROOMKEEPER_CALCOM_EVENT_TYPES ({options}): event type 'standup': "
        "room.max_participants: 99 is out of range; allowed from 1 up to 50 for a 'group' room"
    ]
