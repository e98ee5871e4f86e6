"""schemathesis against Twilio's own OpenAPI file, limited to Rooms and Participants.

Property-based: every generated request must get a response that the spec allows (schema and content
type of documented statuses) and never a 5xx. Undocumented 4xx are expected: Twilio's Video spec lists
only 2xx responses, and generated input is often invalid for Twilio's rules.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from emulator.credentials import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.support import SHARED_REFERENCE, RunningEmulator, running_emulator
from twilio_video.operations import Operation

SPEC = SHARED_REFERENCE / "twilio-oai" / "twilio_video_v1.json"
OPERATIONS = [operation.value for operation in Operation]  # the operations the client and emulator know

if not SPEC.exists():
    pytest.skip(
        f"Twilio's OpenAPI file is not at {SPEC} (../shared/reference is absent)", allow_module_level=True
    )

import schemathesis  # noqa: E402  (only worth importing when the spec is there)
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
)

schema = schemathesis.openapi.from_path(SPEC).include(operation_id=OPERATIONS)


@pytest.fixture(scope="module")
def conformance_emulator() -> Iterator[RunningEmulator]:
    with running_emulator() as running:
        # Some rooms with participants, so fetches by generated names sometimes hit real resources.
        api = running.api()
        for name in ("DailyStandup", "room1", "0"):
            api.post("/v1/Rooms", data={"UniqueName": name})
            running.control().post(f"/emulator/Rooms/{name}/Participants", json={"Identity": "alice"})
        yield running


def test_the_rooms_operations_are_all_covered() -> None:
    found = {result.ok().definition.raw.get("operationId") for result in schema.get_all_operations()}  # type: ignore[union-attr]
    assert found == set(OPERATIONS)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_emulator_conforms_to_twilios_openapi(
    case: schemathesis.Case,
    conformance_emulator: RunningEmulator,
) -> None:
    case.call_and_validate(
        base_url=conformance_emulator.url,
        auth=(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN),
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )


def test_generated_requests_reached_success_paths(conformance_emulator: RunningEmulator) -> None:
    """Guards the test above against passing vacuously on nothing but 4xx answers."""
    seen = {(entry["operation"], entry["status"] < 300) for entry in conformance_emulator.state.requests}
    if not any(ok for _, ok in seen):
        pytest.skip("run together with test_emulator_conforms_to_twilios_openapi")
    # Operations addressed by a generated path ID mostly meet 404s; these two succeed on valid input.
    for operation in ("CreateRoom", "ListRoom"):
        assert (operation, True) in seen, f"no generated {operation} request succeeded"
