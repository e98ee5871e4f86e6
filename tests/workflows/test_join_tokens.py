"""Join tokens end to end: issued by ``roomkeeper meeting token`` and ``POST /meetings/{id}/tokens`` from a
real meeting (Temporal dev server, worker, gateway under uvicorn), presented to the emulator's simulated
join, whose manual clock follows the workflow's (skipped) time: early, late, stray, forged and borrowed
tokens are refused with Twilio's codes; a valid one joins and the meeting sees its participant."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from emulator.credentials import TEST_ACCOUNT_SID, TEST_API_KEY_SECRET, TEST_API_KEY_SID
from roomkeeper.gateway.meetings_api import JOIN_TOKENS_OFF
from roomkeeper.gateway.meetings_openapi import STATUS_EXAMPLE
from roomkeeper.join_tokens import JoinToken, room_name, token_window
from tests.cli.support import Ran, meeting, on
from tests.gateway.meetings_support import AUTH, TOKEN, gateway_on, serving, unreachable_meetings
from tests.support import wait_until_async
from tests.twilio_video.test_access_token import twilio_python
from tests.workflows.helpers import meeting as make_meeting
from tests.workflows.stack import Stack, meeting_stack
from workflows.meeting_status import MeetingStatus, Phase

OPEN_AT = datetime(2030, 6, 3, 8, 58, tzinfo=UTC)
END = datetime(2030, 6, 3, 9, 30, tzinfo=UTC)
GRACE = timedelta(minutes=5)


# --------------------------------------------------------------------------------------- the window


def test_the_window_runs_from_the_opening_to_the_end_plus_the_grace() -> None:
    for now in (OPEN_AT - timedelta(days=3), OPEN_AT + timedelta(minutes=10)):
        assert token_window(OPEN_AT, END, GRACE, now) == (OPEN_AT, END + GRACE, False)


def test_a_window_longer_than_a_day_is_capped_at_24_hours_from_the_opening_or_from_now() -> None:
    end = OPEN_AT + timedelta(days=2)
    day = timedelta(hours=24)
    # Issued before the opening: the first 24 hours of the meeting.
    assert token_window(OPEN_AT, end, GRACE, OPEN_AT - timedelta(hours=1)) == (OPEN_AT, OPEN_AT + day, True)
    # Issued during it: 24 hours from now, so asking again reaches further.
    later = OPEN_AT + timedelta(hours=12)
    assert token_window(OPEN_AT, end, GRACE, later) == (later, later + day, True)
    # Near the end the end plus the grace comes first again.
    last = end - timedelta(hours=1)
    assert token_window(OPEN_AT, end, GRACE, last) == (last, end + GRACE, False)
    # Exactly 24 hours is allowed as it is.
    assert token_window(OPEN_AT, OPEN_AT + day - GRACE, GRACE, OPEN_AT) == (OPEN_AT, OPEN_AT + day, False)


@pytest.mark.parametrize(
    ("room", "name"),
    [
        (None, "standup-2030-06-03"),
        ({}, "standup-2030-06-03"),
        ({"unique_name": "DailyStandup"}, "DailyStandup"),
    ],
)
def test_the_grant_names_the_room_as_the_workflow_names_it(room: dict[str, str] | None, name: str) -> None:
    status = MeetingStatus.model_validate(STATUS_EXAMPLE | {"room": room})
    assert room_name(status) == name


# ------------------------------------------------------------------------------------------- the story


@pytest.fixture(autouse=True)
def _no_twilio_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The command runs as on a developer's machine next to ``roomkeeper dev``: no Twilio settings (and
    no ``.env``), so it signs with the emulator's public test key."""
    for name in (
        "TWILIO_ACCOUNT_SID",
        "TWILIO_API_KEY",
        "TWILIO_API_SECRET",
        "ROOMKEEPER_TOKEN_GRACE_SECONDS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest_asyncio.fixture
async def stack(skipping_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(skipping_env, api_token=TOKEN) as running:
        yield running


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def issued(ran: Ran) -> JoinToken:
    assert ran.code == 0, ran
    return JoinToken.model_validate_json(ran.out)


async def join(stack: Stack, room: str, **body: str) -> httpx.Response:
    return await stack.http.post(f"{stack.emulator.url}/emulator/Rooms/{room}/Participants", json=body)


def refusal(response: httpx.Response) -> tuple[int, int, str]:
    body = response.json()
    return response.status_code, body["code"], body["message"]


def zulu(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def as_twilio_python_writes_it(token: JoinToken) -> str:
    """The official helper library's token for the same inputs, at the moment ours was issued."""
    claims = jwt.decode(token.token, options={"verify_signature": False})
    issued_at = datetime.fromtimestamp(int(claims["jti"].rsplit("-", 1)[1]), UTC)
    return twilio_python(token.identity, token.room, token.not_before, token.expires_at, issued_at=issued_at)


async def test_a_meetings_tokens_let_in_only_who_they_name_where_and_when(stack: Stack) -> None:
    spec = make_meeting(unique("tokens"), starts_in=timedelta(hours=1), lasts=timedelta(minutes=30))
    handle = await stack.start(spec)
    room = spec.meeting_id  # the room's name: the meeting id, as no unique_name is given

    # From the command line: the emulator's public key (nothing of Twilio's is configured here).
    ran = await meeting("token", spec.meeting_id, "--identity", "alice", "--json", *on(stack))
    alice = issued(ran)
    assert "signed with the Twilio emulator's public test key" in ran.err
    assert (alice.identity, alice.room, alice.meeting_id) == ("alice", room, spec.meeting_id)
    assert (alice.not_before, alice.expires_at) == (spec.open_at, spec.end_time + GRACE)
    assert (alice.grace_seconds, alice.capped) == (300, False)
    # What twilio-python would have written, byte for byte, and it verifies with the API key's secret.
    assert alice.token == as_twilio_python_writes_it(alice)
    claims = jwt.decode(alice.token, TEST_API_KEY_SECRET, algorithms=["HS256"], options={"verify_nbf": False})
    assert claims["grants"] == {"video": {"room": room}, "identity": "alice"}
    assert (claims["iss"], claims["sub"]) == (TEST_API_KEY_SID, TEST_ACCOUNT_SID)

    # Text mode: the token alone on stdout, what it allows on stderr.
    plain = await meeting("token", spec.meeting_id, "--identity", "dave", "--timezone", "UTC", *on(stack))
    assert plain.code == 0, plain
    assert plain.out.count(".") == 2 and plain.out.endswith("\n") and " " not in plain.out.strip()
    assert f"join token for 'dave' in room '{room}' (meeting {spec.meeting_id})" in plain.err
    until = alice.expires_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"  until       {until}, the meeting's end plus 5m of grace\n" in plain.err

    # Through the API, with a grace of its own.
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers=AUTH, timeout=30) as api:
        answer = await api.post(
            f"/meetings/{spec.meeting_id}/tokens", json={"identity": "bob", "grace_seconds": 60}
        )
        assert answer.status_code == 200, answer.text
        bob = JoinToken.model_validate(answer.json())
        assert (bob.identity, bob.room, bob.grace_seconds) == ("bob", room, 60)
        assert (bob.not_before, bob.expires_at) == (spec.open_at, spec.end_time + timedelta(seconds=60))

        # Before the opening Twilio refuses the token, whether or not the room exists yet.
        early = stack.emulator.state.clock.now()
        assert refusal(await join(stack, room, Token=alice.token)) == (
            401,
            20105,
            f"Access Token not yet valid: the token is valid from {zulu(spec.open_at)}; it is {zulu(early)}",
        )

        # The room opens two minutes before the start; the emulator's clock follows the workflow's.
        # (In two steps, so the room is created after the emulator's clock caught up: its unused-room
        # timer runs from then.)
        await stack.advance(handle, spec.open_at - early - timedelta(seconds=5))
        await stack.advance(handle, timedelta(seconds=10))
        await stack.wait_for(handle, lambda s: s.phase is Phase.OPEN, "the room to open")
        joined = await join(stack, room, Token=alice.token)
        assert joined.status_code == 201, joined.text
        assert joined.json()["identity"] == "alice"
        await stack.wait_for(handle, lambda s: [p.identity for p in s.participants] == ["alice"], "alice")

        # Bob's token is bob's: not a way in for carol.
        assert refusal(await join(stack, room, Identity="carol", Token=bob.token)) == (
            403,
            20106,
            "Invalid Access Token grants: the token's identity grant is 'bob', not Identity='carol'",
        )
        # Nor into another room of the account.
        other = (await stack.twilio("POST", "/v1/Rooms", data={"UniqueName": "elsewhere"})).json()
        assert refusal(await join(stack, "elsewhere", Token=bob.token)) == (
            403,
            20106,
            f"Invalid Access Token grants: the token's room grant is '{room}', not this room ('elsewhere', "
            f"{other['sid']})",
        )
        # A token signed with anything but the API key's secret is a forgery.
        forged = jwt.encode(
            jwt.decode(bob.token, options={"verify_signature": False}) | {"grants": {"identity": "mallory"}},
            "a-guessed-secret-as-long-as-a-real-one",
            algorithm="HS256",
            headers={"cty": "twilio-fpa;v=1"},
        )
        assert refusal(await join(stack, room, Token=forged)) == (
            401,
            20107,
            "Invalid Access Token signature: the signature is not that of API key "
            f"{TEST_API_KEY_SID}'s secret",
        )
        status = await stack.status(handle)
        assert [p.identity for p in status.participants] == ["alice"]

        # An extension moves the end; a token keeps the expiry it was issued with, a new one has the new.
        extended = await api.patch(f"/meetings/{spec.meeting_id}", json={"extend_minutes": 15})
        assert extended.status_code == 200, extended.text
        new_end = spec.end_time + timedelta(minutes=15)
        refreshed = await api.post(f"/meetings/{spec.meeting_id}/tokens", json={"identity": "alice"})
        assert JoinToken.model_validate(refreshed.json()).expires_at == new_end + GRACE

        # The meeting ends on its new schedule; the room is completed.
        await stack.advance(handle, new_end - stack.emulator.state.clock.now() + timedelta(seconds=5))
        result = await handle.result()
        assert result.ended_by == "schedule" and "alice" in result.identities_seen

        # After the end (plus the grace) Twilio refuses even the refreshed token.
        late = new_end + GRACE
        stack.emulator.advance((late - stack.emulator.state.clock.now()).total_seconds())
        assert refusal(await join(stack, room, Token=refreshed.json()["token"])) == (
            401,
            20104,
            f"Access Token expired or expiration date invalid: the token expired at {zulu(late)}; "
            f"it is {zulu(late)}",
        )

        # And an ended meeting gets no token at all, from either door.
        over = await api.post(f"/meetings/{spec.meeting_id}/tokens", json={"identity": "alice"})
        assert over.status_code == 409, over.text
        assert over.json() == {
            "error": "the meeting is already over (completed): no one can join it any more"
        }
    ran = await meeting("token", spec.meeting_id, "--identity", "alice", *on(stack))
    assert ran.code == 1 and ran.out == "", ran
    assert ran.err.endswith(
        "roomkeeper meeting token: the meeting is already over (completed): no one can join it any more\n"
    )


# ------------------------------------------------------------------------------------------ refusals


@pytest_asyncio.fixture
async def live_stack(temporal_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with meeting_stack(temporal_env, api_token=TOKEN) as running:
        yield running


async def test_a_cancelled_or_unknown_meeting_and_bad_requests_get_no_token(live_stack: Stack) -> None:
    stack = live_stack
    spec = make_meeting(unique("cancelled"), starts_in=timedelta(hours=2))
    await stack.meetings.schedule(spec)
    await stack.meetings.cancel(spec.meeting_id, "host ill")
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers=AUTH, timeout=30) as api:
        path = f"/meetings/{spec.meeting_id}/tokens"

        await wait_until_async(
            lambda: api.get(f"/meetings/{spec.meeting_id}"),
            lambda answer: answer.json()["phase"] == "cancelled",
            what="the meeting to be cancelled",
        )
        refused = await api.post(path, json={"identity": "alice"})
        assert (refused.status_code, refused.json()) == (
            409,
            {"error": "the meeting is already over (cancelled): no one can join it any more"},
        )
        unknown = await api.post("/meetings/no-such-meeting/tokens", json={"identity": "alice"})
        assert unknown.status_code == 404
        assert unknown.json() == {
            "error": "no meeting 'no-such-meeting' (no workflow 'meeting-no-such-meeting')"
        }

        bad = await api.post(path, json={"identity": "", "grace_seconds": 86_401, "room": "x"})
        assert bad.status_code == 422, bad.text
        problems = {(p["field"], p["message"]) for p in bad.json()["problems"]}
        assert problems == {
            ("identity", "String should have at least 1 character (got '')"),
            ("grace_seconds", "Input should be less than or equal to 86400 (got 86401)"),
            ("room", "Extra inputs are not permitted (got 'x')"),
        }
        unauthorized = await api.post(
            path, json={"identity": "alice"}, headers={"Authorization": "Bearer no"}
        )
        assert unauthorized.status_code == 401

    ran = await meeting("token", spec.meeting_id, "--identity", "alice", *on(stack))
    assert (ran.code, ran.out) == (1, ""), ran
    assert "the meeting is already over (cancelled)" in ran.err


async def test_the_command_signs_with_the_configured_api_key_and_grace(
    live_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, secret = "SK" + "ab12" * 8, "the-production-api-key-secret-32c"
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", TEST_ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_API_KEY", key)
    monkeypatch.setenv("TWILIO_API_SECRET", secret)
    monkeypatch.setenv("ROOMKEEPER_TOKEN_GRACE_SECONDS", "60")
    spec = make_meeting(unique("configured"), starts_in=timedelta(hours=2))
    await live_stack.meetings.schedule(spec)
    ran = await meeting("token", spec.meeting_id, "--identity", "alice", "--json", *on(live_stack))
    assert ran.err == "", ran  # no word of the emulator's key
    token = issued(ran)
    assert (token.grace_seconds, token.expires_at) == (60, spec.end_time + timedelta(seconds=60))
    claims = jwt.decode(token.token, secret, algorithms=["HS256"], options={"verify_nbf": False})
    assert (claims["iss"], claims["sub"]) == (key, TEST_ACCOUNT_SID)
    assert secret not in ran.out


async def test_the_command_checks_its_input_before_asking_temporal() -> None:
    long_name = "x" * 129
    ran = await meeting(
        "token", "m", "--identity", long_name, "--ttl-grace", "2d", "--address", "127.0.0.1:1"
    )
    assert ran.code == 2, ran
    assert ran.err.splitlines() == [
        "roomkeeper meeting token: --identity: 129 characters; Twilio allows at most 128",
        "roomkeeper meeting token: --ttl-grace: '2d' is longer than 1d, the longest a Twilio access token "
        "may be valid",
    ]
    missing = await meeting("token", "m", "--address", "127.0.0.1:1")
    assert missing.code == 2 and "the following arguments are required: --identity" in missing.err


async def test_an_account_without_an_api_key_cannot_sign(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", TEST_ACCOUNT_SID)
    ran = await meeting("token", "m", "--identity", "alice", "--address", "127.0.0.1:1")
    assert (ran.code, ran.out) == (2, ""), ran
    assert ran.err == (
        "roomkeeper meeting token: join tokens need TWILIO_API_KEY and TWILIO_API_SECRET: Twilio accepts "
        "access tokens signed only with an API key of the account (not the auth token)\n"
    )


async def test_a_gateway_without_an_api_key_says_join_tokens_are_off() -> None:
    async with serving(gateway_on(await unreachable_meetings())) as api:
        answer = await api.post("/meetings/m/tokens", json={"identity": "alice"}, headers=AUTH)
    assert (answer.status_code, answer.json()) == (503, {"error": JOIN_TOKENS_OFF})
