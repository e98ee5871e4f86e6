"""schemathesis against Twilio's own OpenAPI file: every Rooms and Participants path, sub-resources too.

Property-based: every generated request must get a response that the spec allows (schema and content
type of documented statuses), never a 5xx, valid data is accepted, and no operation answers without
credentials. Two adjustments say what the file cannot:

- Twilio's file lists only 2xx responses and no ranges or cross-field rules (MaxParticipants by room
  type, a recording rule's grammar...), so schema-valid data may still break a documented Twilio rule:
  "accepted" means 2xx, or Twilio's 400 (in Twilio's error shape, checked), or 404 for a path ID that
  names nothing. Never 405, 415, 422 or a 5xx.
- Request bodies get ``additionalProperties: false``: the emulator answers a parameter an operation
  does not list with a documented 501 instead of ignoring it (docs/emulator.md), so "valid" excludes
  parameters the file does not name.

Path IDs are mapped to a seeded room's real SIDs most of the time, so generated requests reach
success paths of every resource, not only 404s.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import HealthCheck, settings

from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.support import SHARED_REFERENCE, RunningEmulator, running_emulator
from twilio_video.operations import Operation

SPEC = SHARED_REFERENCE / "twilio-oai" / "twilio_video_v1.json"

if not SPEC.exists():
    pytest.skip(
        f"Twilio's OpenAPI file is not at {SPEC} (../shared/reference is absent)", allow_module_level=True
    )

import schemathesis  # noqa: E402  (only worth importing when the spec is there)
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    ignored_auth,
    positive_data_acceptance,
    response_schema_conformance,
)


def _rooms_only(raw: dict[str, Any]) -> dict[str, Any]:
    """The file's Rooms paths, each form body closed to parameters the operation does not list.

    The file's request examples write rules (``RecordingRules``, ``Rules``) percent-encoded, the
    form's wire text pasted in as the value, which a client would then encode again; here they are
    the JSON they stand for, as a client sends them (docs/emulator.md, "Twilio's file and docs").
    """
    document = copy.deepcopy(raw)
    document["paths"] = {path: item for path, item in raw["paths"].items() if path.startswith("/v1/Rooms")}
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                for media in operation["requestBody"]["content"].values():
                    media["schema"]["additionalProperties"] = False
                    for example in media.get("examples", {}).values():
                        for name in ("RecordingRules", "Rules"):
                            if name in example["value"]:
                                example["value"][name] = unquote(example["value"][name])
    return document


RAW = json.loads(SPEC.read_text())
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404"]}}}
)
schema = schemathesis.openapi.from_dict(_rooms_only(RAW), config=CONFIG)


@schemathesis.check
def no_server_error_but_the_documented_501(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """Not a 5xx, except the emulator's documented 501 for a parameter the operation does not list
    (which schemathesis sends to see it refused), in Twilio's error shape."""
    if response.status_code == 501:
        body = json.loads(response.content)
        assert body["code"] == 501 and body["status"] == 501, body
        prefix = "Not implemented by the Twilio Video emulator: CreateRoom parameter "
        assert body["message"].startswith(prefix), body
        return None
    return not_a_server_error(ctx, response, case)


@schemathesis.check
def accepts_valid_data(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """``positive_data_acceptance``, except for the documented 501: schemathesis sometimes counts a
    body carrying a parameter the (closed) schema does not list as valid data."""
    if response.status_code == 501:
        return None  # judged by no_server_error_but_the_documented_501
    return positive_data_acceptance(ctx, response, case)


#: (operation id, answered with 2xx) of every generated request.
ANSWERED: set[tuple[str, bool]] = set()


@schemathesis.check
def record_answer(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """Not a check: notes which operations answered 2xx, for the success-path guard below."""
    ANSWERED.add((case.operation.definition.raw["operationId"], response.status_code < 300))
    return None


def rooms_operations_in_the_file() -> set[str]:
    return {
        operation["operationId"]
        for path, item in RAW["paths"].items()
        if path.startswith("/v1/Rooms")
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }


@pytest.fixture(scope="module")
def conformance_emulator() -> Iterator[RunningEmulator]:
    with running_emulator() as running:
        yield running


def seed(emulator: RunningEmulator) -> dict[str, str]:
    """A fresh room with two participants, their tracks, a recording and a transcription: its IDs."""
    httpx.post(f"{emulator.url}/emulator/reset").raise_for_status()
    api, control = emulator.api(), emulator.control()
    room = api.post("/v1/Rooms", data={"UniqueName": "DailyStandup", "RecordParticipantsOnConnect": "true"})
    room_sid = room.json()["sid"]
    people = "/emulator/Rooms/DailyStandup/Participants"
    alice = control.post(people, json={"Identity": "alice"}).json()["sid"]
    control.post(people, json={"Identity": "bob"})
    track = control.post(f"{people}/bob/Tracks", json={"Kind": "audio", "Name": "mic"}).json()["sid"]
    # A second track, recorded and unpublished: its recording is completed, so it can be deleted.
    control.post(f"{people}/bob/Tracks", json={"Kind": "video", "Name": "cam"})
    control.post(f"{people}/bob/Tracks/cam/Unpublish")
    completed = api.get(f"/v1/Rooms/{room_sid}/Recordings", params={"Status": "completed"}).json()
    # A stopped transcription: fetched and restarted by the tests, and no obstacle to a new one.
    ttid = api.post(f"/v1/Rooms/{room_sid}/Transcriptions").json()["ttid"]
    api.post(f"/v1/Rooms/{room_sid}/Transcriptions/{ttid}", data={"Status": "stopped"})
    bob = api.get(f"/v1/Rooms/{room_sid}/Participants/bob").json()["sid"]
    return {
        "room": room_sid,
        "participant": alice,
        "publisher": bob,
        "track": track,
        "recording": completed["recordings"][0]["sid"],
        "ttid": ttid,
    }


def use_real_ids(case: schemathesis.Case, ids: dict[str, str]) -> None:
    """Point most path IDs at the seeded resources; every third keeps its generated value (a 404)."""
    path = case.path_parameters or {}
    template = case.operation.path

    def real(name: str, value: str) -> None:
        if name in path and len(str(path[name])) % 3:
            path[name] = value

    real("RoomSid", ids["room"])
    if "/PublishedTracks" in template:
        real("ParticipantSid", ids["publisher"])
        real("Sid", ids["track"])
    elif "/SubscribedTracks" in template:
        real("ParticipantSid", ids["participant"])
        real("Sid", ids["track"])
    elif "/Participants" in template:
        real("ParticipantSid", ids["participant"])
        real("Sid", ids["participant"])
    elif "/Recordings" in template:
        real("Sid", ids["recording"])
    elif template == "/v1/Rooms/{Sid}":
        real("Sid", ids["room"])
    real("Ttid", ids["ttid"])


def test_every_rooms_operation_of_the_file_is_served() -> None:
    found = {result.ok().definition.raw.get("operationId") for result in schema.get_all_operations()}  # type: ignore[union-attr]
    assert found == rooms_operations_in_the_file() == {operation.value for operation in Operation}


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_emulator_conforms_to_twilios_openapi(
    case: schemathesis.Case,
    conformance_emulator: RunningEmulator,
    seeded: dict[str, str],
) -> None:
    use_real_ids(case, seeded)
    case.call_and_validate(
        base_url=conformance_emulator.url,
        auth=(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN),
        checks=[
            record_answer,
            no_server_error_but_the_documented_501,
            response_schema_conformance,
            content_type_conformance,
            accepts_valid_data,
            ignored_auth,
        ],
    )


@pytest.fixture
def seeded(conformance_emulator: RunningEmulator) -> dict[str, str]:
    """Seeded once per operation: earlier operations (a completed room, a deletion) do not leak."""
    return seed(conformance_emulator)


def test_generated_requests_reached_success_paths() -> None:
    """Guards the test above against passing vacuously on nothing but 4xx answers."""
    if not ANSWERED:
        pytest.skip("run together with test_emulator_conforms_to_twilios_openapi")
    missed = sorted(op.value for op in Operation if (op.value, True) not in ANSWERED)
    assert not missed, f"no generated request of {missed} succeeded"
