"""Twilio's room rules: each obeyed and broken, with the message in both wordings."""

from __future__ import annotations

from typing import Any

import pytest

from twilio_video.error_codes import ErrorCode
from twilio_video.params import CreateRoomParams, form_name
from twilio_video.room_rules import (
    RECORDING_RULES_GRAMMAR,
    RULES,
    SUBSCRIBE_RULES_GRAMMAR,
    Wording,
    check,
)

REGIONS = "au1, br1, de1, gll, ie1, in1, jp1, sg1, us1, us2"

# (settings, parameter, code, prose message, wire message)
BROKEN: list[tuple[dict[str, Any], str, ErrorCode, str, str]] = [
    (
        {"max_participants": 51},
        "max_participants",
        ErrorCode.MAX_PARTICIPANTS_OUT_OF_RANGE,
        "51 is out of range; allowed from 1 up to 50 for a 'group' room",
        "MaxParticipants=51 is out of range; allowed from 1 up to 50 for a 'group' room",
    ),
    (
        {"type": "group-small", "max_participants": 5},
        "max_participants",
        ErrorCode.MAX_PARTICIPANTS_OUT_OF_RANGE,
        "5 is out of range; allowed from 1 up to 4 for a 'group-small' room",
        "MaxParticipants=5 is out of range; allowed from 1 up to 4 for a 'group-small' room",
    ),
    (
        {"max_participants": 0},
        "max_participants",
        ErrorCode.MAX_PARTICIPANTS_OUT_OF_RANGE,
        "0 is out of range; allowed from 1 up to 50 for a 'group' room",
        "MaxParticipants=0 is out of range; allowed from 1 up to 50 for a 'group' room",
    ),
    (
        {"empty_room_timeout": 0},
        "empty_room_timeout",
        ErrorCode.TIMEOUT_OUT_OF_RANGE,
        "0 is out of range; allowed from 1 to 60 whole minutes",
        "EmptyRoomTimeout=0 is out of range; allowed from 1 to 60 whole minutes",
    ),
    (
        {"unused_room_timeout": 61},
        "unused_room_timeout",
        ErrorCode.TIMEOUT_OUT_OF_RANGE,
        "61 is out of range; allowed from 1 to 60 whole minutes",
        "UnusedRoomTimeout=61 is out of range; allowed from 1 to 60 whole minutes",
    ),
    (
        {"max_participant_duration": 599},
        "max_participant_duration",
        ErrorCode.INVALID_PARAMETER,
        "599 is out of range; allowed from 600 to 86400 seconds",
        "MaxParticipantDuration=599 is out of range; allowed from 600 to 86400 seconds",
    ),
    (
        {"max_participant_duration": 86_401},
        "max_participant_duration",
        ErrorCode.INVALID_PARAMETER,
        "86401 is out of range; allowed from 600 to 86400 seconds",
        "MaxParticipantDuration=86401 is out of range; allowed from 600 to 86400 seconds",
    ),
    (
        {"type": "peer-to-peer", "audio_only": True},
        "audio_only",
        ErrorCode.AUDIO_ONLY_NOT_SUPPORTED,
        "true needs type 'group', not type 'peer-to-peer'",
        "AudioOnly=true needs Type=group, not Type='peer-to-peer'",
    ),
    (
        {"type": "go", "record_participants_on_connect": True},
        "record_participants_on_connect",
        ErrorCode.RECORDING_NOT_SUPPORTED,
        "true is not supported for type 'go'",
        "RecordParticipantsOnConnect=true is not supported for Type='go'",
    ),
    (
        {"type": "peer-to-peer", "record_participants_on_connect": True},
        "record_participants_on_connect",
        ErrorCode.RECORDING_NOT_SUPPORTED,
        "true is not supported for type 'peer-to-peer'",
        "RecordParticipantsOnConnect=true is not supported for Type='peer-to-peer'",
    ),
    (
        {"type": "go", "recording_rules": [{"type": "include", "all": True}]},
        "recording_rules",
        ErrorCode.RECORDING_NOT_SUPPORTED,
        """[{"type":"include","all":true}] is not supported for type 'go'""",
        """RecordingRules=[{"type":"include","all":true}] is not supported for Type='go'""",
    ),
    (
        {"type": "peer-to-peer", "transcribe_participants_on_connect": True},
        "transcribe_participants_on_connect",
        ErrorCode.INVALID_PARAMETER,
        "true needs type 'group' or type 'group-small', not type 'peer-to-peer'",
        "TranscribeParticipantsOnConnect=true needs Type=group or Type=group-small, not Type='peer-to-peer'",
    ),
    (
        {"media_region": "mars1"},
        "media_region",
        ErrorCode.INVALID_PARAMETER,
        f"'mars1' is not one of {REGIONS}",
        f"MediaRegion='mars1' is not one of {REGIONS}",
    ),
]

OBEYED: list[dict[str, Any]] = [
    {},  # every default obeys every rule
    {"max_participants": 50},
    {"type": "go", "max_participants": 2},
    {"type": "peer-to-peer", "max_participants": 10},
    {"empty_room_timeout": 1, "unused_room_timeout": 60},
    {"max_participant_duration": 600},
    {"max_participant_duration": 86_400},
    {"audio_only": True},
    {"type": "go", "audio_only": False},
    {"type": "group-small", "record_participants_on_connect": True},
    {"type": "go", "record_participants_on_connect": False},
    {"media_region": "gll"},
    {"type": "group-small", "recording_rules": [{"type": "exclude", "all": True}]},
    {"type": "go", "recording_rules": None},
    {"type": "group-small", "transcribe_participants_on_connect": True},
    {"type": "go", "transcribe_participants_on_connect": False},
]


@pytest.mark.parametrize(("settings", "parameter", "code", "prose", "wire"), BROKEN)
def test_a_broken_rule_is_named_with_its_value_in_both_wordings(
    settings: dict[str, Any], parameter: str, code: ErrorCode, prose: str, wire: str
) -> None:
    [violation] = check(CreateRoomParams(**settings))
    assert (violation.parameter, violation.code, violation.message) == (parameter, code, prose)
    [on_the_wire] = check(CreateRoomParams(**settings), Wording.WIRE)
    assert f"{form_name(parameter)}={on_the_wire.message}" == wire


@pytest.mark.parametrize("settings", OBEYED)
def test_settings_within_the_rules_pass(settings: dict[str, Any]) -> None:
    assert check(CreateRoomParams(**settings)) == []


def test_every_rule_is_exercised_both_ways() -> None:
    broken = {parameter for _, parameter, *_ in BROKEN}
    obeyed = {parameter for settings in OBEYED for parameter in settings}
    assert {rule.parameter for rule in RULES} <= broken & obeyed


def test_all_broken_rules_are_reported_in_rule_order() -> None:
    violations = check(
        CreateRoomParams(type="go", max_participants=3, audio_only=True, record_participants_on_connect=True)
    )
    assert [v.parameter for v in violations] == [
        "max_participants",
        "audio_only",
        "record_participants_on_connect",
    ]


# (rules as JSON, the first problem with them, or None when valid)
GRAMMAR_CASES: list[tuple[object, str | None]] = [
    ([{"type": "include", "all": True}], None),
    ({"rules": [{"type": "exclude", "kind": "video"}]}, None),
    ([{"type": "include", "publisher": "alice", "kind": "audio", "track": None}], None),
    ([], "expected a non-empty JSON array of rules (or an object with one under 'rules')"),
    ("include", "expected a non-empty JSON array of rules (or an object with one under 'rules')"),
    ([{"type": "include", "all": True}] * 21, "21 rules given; at most 20 are allowed"),
    ([1], "rule 0 is not an object"),
    ([{"type": "include", "all": True, "colour": "red"}], "rule 0 has unknown keys ['colour']"),
    ([{"type": "keep", "all": True}], "rule 0: type must be 'include' or 'exclude'"),
    ([{"type": "include"}], "rule 0 has no filter (all, publisher, track or kind)"),
    ([{"type": "include", "all": False}], "rule 0: 'all' must be true and stand alone"),
    ([{"type": "include", "all": True, "kind": "audio"}], "rule 0: 'all' must be true and stand alone"),
    ([{"type": "include", "kind": "data"}], "rule 0: kind must be one of 'audio', 'video'"),
    ([{"type": "include", "publisher": 7}], "rule 0: publisher must be a string"),
    (
        [{"type": "include", "all": True}, {"type": "exclude"}],
        "rule 1 has no filter (all, publisher, track or kind)",
    ),
]


@pytest.mark.parametrize(("rules", "problem"), GRAMMAR_CASES)
def test_recording_rules_grammar(rules: object, problem: str | None) -> None:
    assert RECORDING_RULES_GRAMMAR.problem(rules) == problem


def test_subscribe_rules_also_take_data_tracks_and_a_priority() -> None:
    rules = [{"type": "include", "kind": "data", "priority": "high"}]
    assert SUBSCRIBE_RULES_GRAMMAR.problem(rules) is None
    assert RECORDING_RULES_GRAMMAR.problem(rules) == "rule 0 has unknown keys ['priority']"
    assert (SUBSCRIBE_RULES_GRAMMAR.code, int(ErrorCode.SUBSCRIBE_RULES_INVALID)) == (53215, 53215)
    assert (RECORDING_RULES_GRAMMAR.code, int(ErrorCode.RECORDING_RULES_INVALID)) == (53120, 53120)
    assert SUBSCRIBE_RULES_GRAMMAR.normalized([{"type": "exclude", "all": True, "kind": None}]) == [
        {"type": "exclude", "all": True}
    ]
