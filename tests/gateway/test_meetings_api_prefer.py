"""``POST /meetings`` with ``Prefer: return=minimal`` (RFC 7240): the same start, answered without asking
the new meeting for its status; idempotency and conflicts unchanged."""

from __future__ import annotations

import uuid

import httpx
import pytest

from roomkeeper.gateway.meetings_api import prefers_minimal
from tests.gateway.meetings_support import spec_json

MINIMAL = {"Prefer": "return=minimal"}


@pytest.mark.parametrize(
    ("headers", "minimal"),
    [
        ([], False),
        (["return=minimal"], True),
        (["Return = Minimal"], True),
        (['return="minimal"'], True),
        (["respond-async, return=minimal; foo=bar"], True),
        (["wait=10", "return=minimal"], True),
        (["return=representation"], False),
        (["return"], False),
        (["minimal"], False),
        ([",;=,"], False),
    ],
)
def test_prefer_header_is_read_as_rfc_7240_says(headers: list[str], minimal: bool) -> None:
    assert prefers_minimal(headers) is minimal


async def test_a_minimal_create_starts_the_same_meeting_without_its_status(api: httpx.AsyncClient) -> None:
    spec = spec_json(f"minimal-{uuid.uuid4().hex[:8]}", title="Bulk import")
    first = await api.post("/meetings", json=spec, headers=MINIMAL)
    assert first.status_code == 201, first.text
    assert first.headers["preference-applied"] == "return=minimal"
    assert first.headers["location"] == f"/meetings/{spec['meeting_id']}"
    assert first.json() == {
        "meeting_id": spec["meeting_id"],
        "workflow_id": f"meeting-{spec['meeting_id']}",
        "created": True,
        "status": None,
    }
    # Started all the same: the status is there to read, and a plain repeat is recognised.
    again = await api.post("/meetings", json=spec)
    assert again.status_code == 200, again.text
    assert "preference-applied" not in again.headers
    assert again.json()["created"] is False and again.json()["status"]["title"] == "Bulk import"
    repeat = await api.post("/meetings", json=spec, headers=MINIMAL)
    assert repeat.status_code == 200 and repeat.json()["status"] is None
    conflict = await api.post("/meetings", json={**spec, "title": "Other"}, headers=MINIMAL)
    assert conflict.status_code == 409, conflict.text
    assert "title: 'Bulk import' → 'Other'" in conflict.json()["error"]
