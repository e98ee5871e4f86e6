"""The simulated join with an access token, over HTTP: Twilio's checks on the emulator's manual clock.

The clock starts at a fixed moment, and tokens are written for explicit times around it, so every
refusal is exact (no test depends on how fast it runs).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from emulator.app import EmulatorConfig
from emulator.clock import ManualClock
from emulator.credentials import (
    TEST_ACCOUNT_SID,
    TEST_API_KEY_SECRET,
    TEST_API_KEY_SID,
    TEST_AUTH_TOKEN,
    Credentials,
)
from tests.support import CallbackSink, RunningEmulator, running_emulator
from twilio_video.access_token import VideoAccessToken

NOW = datetime(2030, 6, 3, 8, 0, tzinfo=UTC)
OPENS = NOW + timedelta(minutes=58)
EXPIRES = NOW + timedelta(minutes=95)


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    """The emulator on a manual clock that reads ``NOW`` until a test advances it."""
    with running_emulator(EmulatorConfig(clock=ManualClock(NOW), rate_limits=False)) as running:
        yield running


def token(
    identity: str = "alice",
    room: str | None = "standup",
    not_before: datetime | None = OPENS,
    expires_at: datetime = EXPIRES,
    secret: str = TEST_API_KEY_SECRET,
) -> str:
    return VideoAccessToken(
        account_sid=TEST_ACCOUNT_SID,
        api_key_sid=TEST_API_KEY_SID,
        identity=identity,
        room=room,
        not_before=not_before,
        expires_at=expires_at,
        issued_at=NOW,
    ).encode(secret)


def at(emulator: RunningEmulator, moment: datetime) -> None:
    """Move the emulator's clock to ``moment`` (rooms are created after it: an unused room times out)."""
    emulator.advance((moment - emulator.state.clock.now()).total_seconds())


def create_room(emulator: RunningEmulator, name: str, **form: str) -> dict[str, Any]:
    response = emulator.api().post("/v1/Rooms", data={"UniqueName": name, **form})
    assert response.status_code == 201, response.text
    room: dict[str, Any] = response.json()
    return room


def join(emulator: RunningEmulator, room: str, **body: Any) -> httpx.Response:
    return emulator.control().post(f"/emulator/Rooms/{room}/Participants", json=body)


def refusal(response: httpx.Response) -> tuple[int, int, str]:
    body = response.json()
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}", body
    return response.status_code, body["code"], body["message"]


def connected(emulator: RunningEmulator, room: str) -> list[str]:
    listed = emulator.api().get(f"/v1/Rooms/{room}/Participants").json()
    return [p["identity"] for p in listed["participants"]]


def test_a_valid_token_joins_as_its_identity(emulator: RunningEmulator, sink: CallbackSink) -> None:
    at(emulator, OPENS)
    create_room(emulator, "standup", StatusCallback=sink.url)
    response = join(emulator, "standup", Token=token())
    assert response.status_code == 201, response.text
    assert response.json()["identity"] == "alice"
    # Saying the identity too is fine, as long as it is the token's; the form works as JSON does.
    again = emulator.control().post(
        "/emulator/Rooms/standup/Participants", data={"Identity": "bob", "Token": token("bob")}
    )
    assert again.status_code == 201, again.text
    assert connected(emulator, "standup") == ["alice", "bob"]
    events = [c.params["StatusCallbackEvent"] for c in sink.wait_for(3)]
    assert events == ["room-created", "participant-connected", "participant-connected"]


def test_the_room_grant_matches_the_rooms_sid_too(emulator: RunningEmulator) -> None:
    at(emulator, OPENS)
    room = create_room(emulator, "standup")
    assert join(emulator, room["sid"], Token=token(room=room["sid"])).status_code == 201
    assert join(emulator, "standup", Token=token("bob", room=None)).status_code == 201  # any room
    assert connected(emulator, "standup") == ["alice", "bob"]


def test_without_a_token_the_join_is_as_before(emulator: RunningEmulator) -> None:
    create_room(emulator, "standup")
    assert join(emulator, "standup", Identity="carol").status_code == 201
    assert refusal(join(emulator, "standup")) == (
        400,
        53200,
        "Participant identity is invalid: Identity is required and must be a string",
    )


def test_an_early_client_is_refused_whether_or_not_the_room_exists(emulator: RunningEmulator) -> None:
    expected = (
        401,
        20105,
        "Access Token not yet valid: the token is valid from 2030-06-03T08:58:00Z; "
        "it is 2030-06-03T08:57:59Z",
    )
    at(emulator, OPENS - timedelta(seconds=1))
    assert refusal(join(emulator, "standup", Token=token())) == expected  # no room yet: not a 404
    create_room(emulator, "standup")
    assert refusal(join(emulator, "standup", Token=token())) == expected
    emulator.advance(1)
    assert join(emulator, "standup", Token=token()).status_code == 201


def test_a_late_client_is_refused_from_the_expiry_on(emulator: RunningEmulator) -> None:
    at(emulator, EXPIRES - timedelta(seconds=1))
    create_room(emulator, "standup")
    assert join(emulator, "standup", Token=token()).status_code == 201
    emulator.advance(1)
    assert refusal(join(emulator, "standup", Token=token("bob"))) == (
        401,
        20104,
        "Access Token expired or expiration date invalid: the token expired at 2030-06-03T09:35:00Z; "
        "it is 2030-06-03T09:35:00Z",
    )
    assert connected(emulator, "standup") == ["alice"]


def test_a_token_valid_for_more_than_a_day_is_refused(emulator: RunningEmulator) -> None:
    create_room(emulator, "standup")
    too_far = NOW + timedelta(hours=24, seconds=1)
    assert refusal(join(emulator, "standup", Token=token(not_before=None, expires_at=too_far))) == (
        401,
        20104,
        "Access Token expired or expiration date invalid: the token expires at 2030-06-04T08:00:01Z, more "
        "than 24 hours after 2030-06-03T08:00:00Z: an access token may be valid for at most that long",
    )
    assert join(emulator, "standup", Token=token(not_before=None, expires_at=too_far - timedelta(seconds=1)))


def test_a_token_for_another_room_is_refused(emulator: RunningEmulator) -> None:
    at(emulator, OPENS)
    create_room(emulator, "standup")
    other = create_room(emulator, "retro")
    assert refusal(join(emulator, "retro", Token=token())) == (
        403,
        20106,
        f"Invalid Access Token grants: the token's room grant is 'standup', not this room ('retro', "
        f"{other['sid']})",
    )
    assert connected(emulator, "retro") == []


def test_a_forged_token_is_refused(emulator: RunningEmulator) -> None:
    at(emulator, OPENS)
    create_room(emulator, "standup")
    forged = token(secret="guessed-secret-of-the-same-length-as-one")
    assert refusal(join(emulator, "standup", Token=forged)) == (
        401,
        20107,
        f"Invalid Access Token signature: the signature is not that of API key {TEST_API_KEY_SID}'s secret",
    )
    # A real token's claims changed (another identity) under its own signature: the same refusal.
    header, _, signature = token().split(".")
    claims = token("mallory").split(".")[1]
    assert refusal(join(emulator, "standup", Token=f"{header}.{claims}.{signature}"))[1] == 20107
    assert connected(emulator, "standup") == []


def test_the_identity_given_must_be_the_tokens(emulator: RunningEmulator) -> None:
    at(emulator, OPENS)
    create_room(emulator, "standup")
    assert refusal(join(emulator, "standup", Identity="bob", Token=token("alice"))) == (
        403,
        20106,
        "Invalid Access Token grants: the token's identity grant is 'alice', not Identity='bob'",
    )
    assert connected(emulator, "standup") == []


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (42, (401, 20101, "Invalid Access Token: Token must be a string")),
        ("eyJ", (401, 20101, "Invalid Access Token: not a JWT (header.payload.signature): ")),
        (
            jwt.encode({"iss": TEST_API_KEY_SID}, TEST_API_KEY_SECRET, algorithm="HS256"),
            (
                401,
                20102,
                "Invalid Access Token header: the header must have alg 'HS256' and cty 'twilio-fpa;v=1', "
                "not alg 'HS256' and cty None",
            ),
        ),
        (
            VideoAccessToken(
                TEST_ACCOUNT_SID, TEST_ACCOUNT_SID, "alice", "standup", OPENS, EXPIRES, NOW
            ).encode(TEST_AUTH_TOKEN),
            (
                401,
                20103,
                f"Invalid Access Token issuer/subject: iss '{TEST_ACCOUNT_SID}' is not an API key of "
                f"account {TEST_ACCOUNT_SID}",
            ),
        ),
    ],
)
def test_what_is_not_an_access_token_is_refused(
    emulator: RunningEmulator, bad: object, expected: tuple[int, int, str]
) -> None:
    at(emulator, OPENS)
    create_room(emulator, "standup")
    status, code, message = refusal(join(emulator, "standup", Token=bad))
    assert (status, code) == expected[:2] and message.startswith(expected[2])


def test_an_emulator_with_its_own_credentials_does_not_take_the_public_test_key() -> None:
    own_key, own_secret = "SK" + "5" * 32, "an-api-key-secret-of-thirty-two-chars"
    credentials = Credentials("AC" + "6" * 32, "own-auth-token", {own_key: own_secret})
    config = EmulatorConfig(credentials=credentials, clock=ManualClock(OPENS), rate_limits=False)
    with running_emulator(config) as emulator:
        response = httpx.post(
            f"{emulator.url}/v1/Rooms",
            data={"UniqueName": "standup"},
            auth=(credentials.account_sid, credentials.auth_token),
        )
        assert response.status_code == 201, response.text
        refused = refusal(join(emulator, "standup", Token=token()))
        assert refused[:2] == (401, 20103), refused
        own = VideoAccessToken(
            credentials.account_sid, own_key, "alice", "standup", OPENS, EXPIRES, NOW
        ).encode(own_secret)
        assert join(emulator, "standup", Token=own).status_code == 201
