"""Every ``/meetings`` route on the real stack: a Temporal dev server, the worker, the emulator, and the
gateway under uvicorn with the meetings API behind a token."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from emulator.credentials import TEST_AUTH_TOKEN
from roomkeeper.gateway import meetings_api
from roomkeeper.gateway.config import GatewayConfig
from roomkeeper.gateway.meetings_api import meetings_router
from roomkeeper.meeting_client import MeetingClient, canonical
from tests.gateway.meetings_support import AUTH, TOKEN, serving, spec_json
from tests.support import wait_until_async
from tests.workflows.helpers import meeting
from tests.workflows.stack import Stack
from workflows.meeting_input import MeetingSpec


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def error(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    message: str = body["error"]
    return message


async def phase_of(api: httpx.AsyncClient, meeting_id: str) -> str:
    response = await api.get(f"/meetings/{meeting_id}")
    assert response.status_code == 200, response.text
    phase: str = response.json()["phase"]
    return phase


async def until_phase(api: httpx.AsyncClient, meeting_id: str, phase: str) -> None:
    await wait_until_async(
        lambda: phase_of(api, meeting_id), lambda seen: seen == phase, within=30, what=f"phase {phase}"
    )


# --------------------------------------------------------------------------------------- create


async def test_create_is_idempotent_and_a_different_spec_is_a_conflict(api: httpx.AsyncClient) -> None:
    spec = spec_json(unique("create"), room={"max_participants": 6})
    first = await api.post("/meetings", json=spec)
    assert first.status_code == 201, first.text
    assert first.headers["location"] == f"/meetings/{spec['meeting_id']}"
    created = first.json()
    assert created["meeting_id"] == spec["meeting_id"]
    assert created["workflow_id"] == f"meeting-{spec['meeting_id']}" and created["created"] is True
    assert created["status"]["phase"] == "scheduled" and created["status"]["title"] == spec["title"]

    again = await api.post("/meetings", json=spec)
    assert again.status_code == 200, again.text
    assert again.headers["location"] == first.headers["location"]
    assert again.json()["created"] is False and again.json()["workflow_id"] == created["workflow_id"]
    # The same instant in another offset, and the defaults written out, are the same meeting.
    start = datetime.fromisoformat(spec["start_time"]).astimezone(UTC).replace(tzinfo=None)
    same = spec | {
        "start_time": f"{(start + timedelta(hours=2)).isoformat()}+02:00",
        "open_before_seconds": 120,
    }
    assert (await api.post("/meetings", json=same)).status_code == 200

    location = (await api.get(first.headers["location"])).json()
    assert location["meeting_id"] == spec["meeting_id"]

    changed = spec | {"title": "Renamed", "room": {"max_participants": 8}}
    conflict = await api.post("/meetings", json=changed)
    assert conflict.status_code == 409, conflict.text
    assert error(conflict) == (
        f"meeting '{spec['meeting_id']}' already exists (running) with a different spec: "
        f"room.max_participants: 6 → 8; title: {spec['title']!r} → 'Renamed'"
    )


async def test_a_retry_after_the_end_passed_is_recognised_a_new_meeting_is_not(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = spec_json(unique("brief"))
    assert (await api.post("/meetings", json=spec)).status_code == 201
    # The gateway's clock, moved past the meeting's end: the first answer was lost, the client retries.
    after_end = datetime.fromisoformat(spec["end_time"]) + timedelta(minutes=1)
    monkeypatch.setattr(meetings_api, "utc_now", lambda: after_end)
    retried = await api.post("/meetings", json=spec)
    assert retried.status_code == 200, retried.text
    assert retried.json()["created"] is False
    other = await api.post("/meetings", json=spec | {"title": "changed after the end"})
    assert other.status_code == 422, other.text
    assert other.json()["problems"] == [
        {
            "field": "end_time",
            "message": f"{spec['end_time'].replace('Z', '+00:00')} has already passed (it is "
            f"{after_end.isoformat(timespec='seconds')}): there is no window left to open a room in",
        }
    ]


# --------------------------------------------------------------------------------------- read


async def test_status_and_unknown_meetings(api: httpx.AsyncClient) -> None:
    spec = spec_json(unique("read"))
    await api.post("/meetings", json=spec)
    status = (await api.get(f"/meetings/{spec['meeting_id']}")).json()
    assert status["phase"] == "scheduled"
    assert MeetingSpec.model_validate(spec).end_time == datetime.fromisoformat(status["end_time"])
    assert status["participants"] == [] and status["history"][0]["what"].startswith("scheduled: ")

    missing = unique("nobody")
    response = await api.get(f"/meetings/{missing}")
    assert response.status_code == 404
    assert error(response) == f"no meeting '{missing}' (no workflow 'meeting-{missing}')"
    for method, path, body in (
        ("PATCH", f"/meetings/{missing}", {"extend_minutes": 5}),
        ("POST", f"/meetings/{missing}/end", None),
        ("DELETE", f"/meetings/{missing}", None),
    ):
        refused = await api.request(method, path, json=body)
        assert refused.status_code == 404, (method, refused.text)
        assert error(refused) == f"no meeting '{missing}' (no workflow 'meeting-{missing}')"


async def test_listing_filters_by_phase_and_start_and_pages(api: httpx.AsyncClient) -> None:
    prefix = unique("list")
    specs = [spec_json(f"{prefix}-{i}", starts_in=timedelta(days=40, hours=i)) for i in range(3)]
    for spec in specs:
        assert (await api.post("/meetings", json=spec)).status_code == 201
    assert (await api.delete(f"/meetings/{specs[2]['meeting_id']}")).status_code == 202
    window = {"from": specs[0]["start_time"], "to": _after(specs[2]["start_time"])}

    async def listed(**query: Any) -> list[str]:
        """Every page, one meeting at a time, following next_page_token."""
        ids: list[str] = []
        token: str | None = None
        while True:
            params = {**query, "page_size": 1} | ({"page_token": token} if token else {})
            response = await api.get("/meetings", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            assert len(page["meetings"]) <= 1
            ids += [m["meeting_id"] for m in page["meetings"] if m["meeting_id"].startswith(prefix)]
            token = page.get("next_page_token")
            if token is None:
                return sorted(ids)

    ids = [spec["meeting_id"] for spec in specs]
    # Visibility is eventually consistent: wait until the cancellation is indexed.
    await wait_until_async(lambda: listed(phase="cancelled", **window), lambda found: found == ids[2:])
    assert await listed(phase="scheduled", **window) == ids[:2]
    assert await listed(**{"from": specs[1]["start_time"], "to": window["to"]}) == ids[1:]
    assert await listed(**{"from": specs[0]["start_time"], "to": specs[1]["start_time"]}) == ids[:1]
    # An offset other than Z (sent as %2B by httpx) names the same instant.
    shifted = datetime.fromisoformat(specs[1]["start_time"]).astimezone(_plus(5)).isoformat()
    assert await listed(**{"from": shifted, "to": window["to"]}) == ids[1:]

    page = (await api.get("/meetings", params={"phase": "scheduled", **window})).json()
    first = next(m for m in page["meetings"] if m["meeting_id"] == ids[0])
    assert first == {
        "meeting_id": ids[0],
        "workflow_id": f"meeting-{ids[0]}",
        "title": specs[0]["title"],
        "phase": "scheduled",
        "start_time": specs[0]["start_time"],
        "end_time": specs[0]["end_time"],
        "room_sid": None,
    }


def _after(iso: str) -> str:
    return (datetime.fromisoformat(iso) + timedelta(seconds=1)).isoformat()


def _plus(hours: int) -> timezone:
    return timezone(timedelta(hours=hours))


# --------------------------------------------------------------------------------------- change


async def test_extend_reschedule_and_what_the_workflow_rejects(api: httpx.AsyncClient) -> None:
    spec = meeting(unique("change"), starts_in=timedelta(hours=3))
    await api.post("/meetings", json=spec.model_dump(mode="json"))
    path = f"/meetings/{spec.meeting_id}"

    extended = await api.patch(path, json={"extend_minutes": 15})
    assert extended.status_code == 200, extended.text
    assert datetime.fromisoformat(extended.json()["end_time"]) == spec.end_time + timedelta(minutes=15)
    assert [e["actor"] for e in extended.json()["extensions"]] == ["api"]  # before the room opens too
    again = await api.patch(path, json={"extend_minutes": 5, "actor": "ops:kim"})
    assert [e["actor"] for e in again.json()["extensions"]] == ["api", "ops:kim"]

    new_start, new_end = spec.start_time + timedelta(hours=1), spec.end_time + timedelta(hours=2)  # (a plan)
    moved = await api.patch(path, json={"start_time": new_start.isoformat(), "end_time": new_end.isoformat()})
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["start_time"]) == new_start
    assert datetime.fromisoformat(moved.json()["end_time"]) == new_end
    assert (await api.get(path)).json()["end_time"] == moved.json()["end_time"]

    past = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    rejected = await api.patch(path, json={"end_time": past.isoformat()})
    assert rejected.status_code == 409, rejected.text
    assert error(rejected) == f"end_time {past.isoformat()} is in the past"
    inverted = await api.patch(path, json={"end_time": new_start.isoformat()})
    assert inverted.status_code == 409
    at = new_start.isoformat()
    assert error(inverted) == f"reschedule: input: end_time {at} must be after start_time {at}"
    # A rejected update changed nothing.
    assert (await api.get(path)).json()["end_time"] == moved.json()["end_time"]


# --------------------------------------------------------------------------------------- end, cancel


async def test_end_answers_the_summary_and_then_the_meeting_is_over(api: httpx.AsyncClient) -> None:
    spec = spec_json(unique("end"), starts_in=timedelta(minutes=1))  # opens at once (120 s early)
    await api.post("/meetings", json=spec)
    await until_phase(api, spec["meeting_id"], "open")
    ended = await api.post(f"/meetings/{spec['meeting_id']}/end", json={"reason": "done early"})
    assert ended.status_code == 200, ended.text
    summary = ended.json()
    assert summary["ended_by"] == "end_now" and summary["reason"] == "done early"
    assert summary["room_sid"].startswith("RM") and summary["closed_at"] is not None
    assert (await phase_of(api, spec["meeting_id"])) == "completed"

    again = await api.post(f"/meetings/{spec['meeting_id']}/end")
    assert again.status_code == 409
    assert error(again) == "the meeting is already over (completed)"
    assert (await api.patch(f"/meetings/{spec['meeting_id']}", json={"extend_minutes": 5})).status_code == 409


async def test_end_is_202_while_the_room_is_still_closing(stack: Stack) -> None:
    # A gateway that waits no time at all for the room to close: the answer always comes first.
    assert stack.meetings is not None
    app = FastAPI()
    config = GatewayConfig(public_url=stack.gateway_url, auth_token=TEST_AUTH_TOKEN, api_token=TOKEN)
    app.include_router(meetings_router(config, stack.meetings, end_wait=timedelta(0)))
    spec = spec_json(unique("closing"), starts_in=timedelta(minutes=1))
    async with serving(app, headers=AUTH) as api:
        await api.post("/meetings", json=spec)
        await until_phase(api, spec["meeting_id"], "open")
        ended = await api.post(f"/meetings/{spec['meeting_id']}/end")
        assert ended.status_code == 202, ended.text
        assert ended.json() == {
            "meeting_id": spec["meeting_id"],
            "workflow_id": f"meeting-{spec['meeting_id']}",
            "detail": "ending; the room was still closing after 0 s. "
            f"GET /meetings/{spec['meeting_id']} shows the meeting's phase",
        }
        await until_phase(api, spec["meeting_id"], "completed")


async def test_cancel_then_cancel_again(api: httpx.AsyncClient, stack: Stack) -> None:
    spec = spec_json(unique("cancel"))
    await api.post("/meetings", json=spec)
    path = f"/meetings/{spec['meeting_id']}"
    cancelled = await api.delete(path, params={"reason": "host ill"})
    assert cancelled.status_code == 202, cancelled.text
    assert cancelled.json()["detail"] == f"cancel signal sent; GET {path} shows the meeting's phase"
    result = await stack.env.client.get_workflow_handle(f"meeting-{spec['meeting_id']}").result()
    assert result["ended_by"] == "cancelled" and result["reason"] == "host ill"
    assert result["room_sid"] is None  # cancelled before opening: no room was ever made
    again = await api.delete(path)
    assert again.status_code == 409
    assert error(again) == "the meeting is already over (cancelled)"


# --------------------------------------------------------------------------------------- the memo


async def test_a_meeting_started_by_the_api_records_its_spec_and_source(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    spec = meeting(unique("memo"))
    await api.post("/meetings", json=spec.model_dump(mode="json"))
    memo = await MeetingClient(stack.env.client, stack.task_queue).memo(spec.meeting_id)
    assert memo == {"source": "api", "spec": canonical(spec)}
