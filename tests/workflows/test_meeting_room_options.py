"""Every room option of the Rooms API, from the meeting's input to the room Twilio (the emulator) made."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from pydantic import ValidationError
from temporalio.testing import WorkflowEnvironment

from tests.workflows.helpers import meeting as make_meeting
from tests.workflows.stack import Stack, meeting_stack
from workflows.meeting_input import RoomSpec, explain
from workflows.meeting_state import MeetingInput
from workflows.meeting_status import Phase

SPEC = {"meeting_id": "m", "start_time": "2030-01-01T10:00:00Z", "end_time": "2030-01-01T11:00:00Z"}


@pytest_asyncio.fixture
async def stack(skipping_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(skipping_env) as running:
        yield running


async def test_recording_and_transcription_options_reach_the_room(stack: Stack) -> None:
    room = {
        "type": "group-small",
        "recording_rules": [{"type": "include", "kind": "audio"}, {"type": "exclude", "publisher": "guest"}],
        "transcribe_participants_on_connect": True,
        "transcriptions_configuration": {"languageCode": "en-GB", "partialResults": True},
        "large_room": True,
        "media_region": "ie1",
    }
    handle = await stack.start(make_meeting("options", starts_in=timedelta(minutes=1), room=room))
    status = await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")
    assert (
        status.room is not None
        and status.room.model_dump(mode="json", include=set(room), exclude_none=True) == room
    )

    [create] = [e for e in stack.emulator.state.requests if e["operation"] == "CreateRoom"]
    form = create["form"]
    assert form["RecordingRules"] == [
        '[{"type":"include","kind":"audio"},{"type":"exclude","publisher":"guest"}]'
    ]
    assert form["TranscribeParticipantsOnConnect"] == ["true"]
    assert form["TranscriptionsConfiguration"] == ['{"languageCode":"en-GB","partialResults":true}']

    sid = status.room_sid
    rules = (await stack.twilio("GET", f"/v1/Rooms/{sid}/RecordingRules")).json()["rules"]
    assert rules == room["recording_rules"]
    await stack.join("options", "alice")
    transcriptions = (await stack.twilio("GET", f"/v1/Rooms/{sid}/Transcriptions")).json()["transcriptions"]
    assert [(t["status"], t["configuration"]) for t in transcriptions] == [
        ("started", room["transcriptions_configuration"])
    ]


async def test_a_room_without_them_is_created_by_the_same_request_as_before(stack: Stack) -> None:
    handle = await stack.start(make_meeting("plain", starts_in=timedelta(minutes=1)))
    status = await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")
    [create] = [e for e in stack.emulator.state.requests if e["operation"] == "CreateRoom"]
    sent = set(create["form"])
    assert not sent & {"RecordingRules", "TranscribeParticipantsOnConnect", "TranscriptionsConfiguration"}
    assert status.room == RoomSpec()  # every default, shown


@pytest.mark.parametrize(
    ("room", "problem"),
    [
        ({"recording_rules": []}, "room.recording_rules: expected a non-empty JSON array of rules"),
        ({"recording_rules": [{"type": "include"}]}, "room.recording_rules: rule 0 has no filter"),
        (
            {"recording_rules": [{"type": "include", "kind": "data"}]},
            "room.recording_rules: rule 0: kind must be one of 'audio', 'video'",
        ),
        (
            {"recording_rules": [{"type": "include", "all": True, "kind": "audio"}]},
            "room.recording_rules: rule 0: 'all' must be true and stand alone",
        ),
        (
            {"recording_rules": [{"type": "keep", "all": True}]},
            "room.recording_rules.0.type: Input should be",
        ),
        (
            {"recording_rules": [{"type": "include", "all": True, "color": "red"}]},
            "room.recording_rules.0.color: Extra inputs are not permitted",
        ),
        (
            {"type": "go", "recording_rules": [{"type": "include", "all": True}]},
            """room.recording_rules: [{"type":"include","all":true}] is not supported for type 'go'""",
        ),
        (
            {"type": "peer-to-peer", "transcribe_participants_on_connect": True},
            "room.transcribe_participants_on_connect: true needs type 'group' or type 'group-small', "
            "not type 'peer-to-peer'",
        ),
        ({"transcriptions_configuration": ["en-US"]}, "room.transcriptions_configuration: Input should be"),
    ],
)
def test_room_options_are_checked_as_twilio_checks_them(room: dict, problem: str) -> None:
    with pytest.raises(ValidationError) as exc:
        MeetingInput.model_validate(SPEC | {"room": room})
    assert explain(exc.value).startswith(problem), explain(exc.value)


def test_recording_rules_accepted_as_twilio_accepts_them() -> None:
    rules = [{"type": "include", "all": True}, {"type": "exclude", "track": "screen", "kind": "video"}]
    spec = RoomSpec.model_validate({"recording_rules": rules, "record_participants_on_connect": True})
    assert [rule.model_dump(mode="json", exclude_none=True) for rule in spec.recording_rules or []] == rules
