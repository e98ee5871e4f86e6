"""Video access tokens: written as twilio-python writes them, read as Twilio reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from unittest import mock

import jwt
import pytest
import twilio.jwt as twilio_jwt
import twilio.jwt.access_token as twilio_access_token
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VideoGrant

from emulator.credentials import TEST_ACCOUNT_SID, TEST_API_KEY_SECRET, TEST_API_KEY_SID
from twilio_video.access_token import (
    CONTENT_TYPE,
    ReadToken,
    TokenRejected,
    VideoAccessToken,
    check_video_grant,
    check_window,
    read,
)
from twilio_video.error_codes import ErrorCode

ISSUED = datetime(2030, 6, 3, 8, 0, 7, tzinfo=UTC)
OPENS = datetime(2030, 6, 3, 8, 58, tzinfo=UTC)
EXPIRES = datetime(2030, 6, 3, 9, 35, tzinfo=UTC)
KEYS = {TEST_API_KEY_SID: TEST_API_KEY_SECRET}
ROOM_SID = "RM" + "ab" * 16


def ours(**changes: object) -> VideoAccessToken:
    fields: dict[str, object] = {
        "account_sid": TEST_ACCOUNT_SID,
        "api_key_sid": TEST_API_KEY_SID,
        "identity": "alice",
        "room": "standup",
        "not_before": OPENS,
        "expires_at": EXPIRES,
        "issued_at": ISSUED,
    } | changes
    return VideoAccessToken(**fields)  # type: ignore[arg-type]


def twilio_python(
    identity: str,
    room: str | None,
    nbf: datetime,
    exp: datetime,
    *,
    secret: str = TEST_API_KEY_SECRET,
    issued_at: datetime = ISSUED,
) -> str:
    """What the official helper library writes for the same inputs, as if at ``issued_at``.

    Its clock is replaced in its own modules only (not with freezegun, whose frozen clock would reach
    every thread and event loop of the process, servers and workers included)."""
    clock = SimpleNamespace(time=issued_at.timestamp)
    with mock.patch.object(twilio_jwt, "time", clock), mock.patch.object(twilio_access_token, "time", clock):
        token = AccessToken(
            TEST_ACCOUNT_SID,
            TEST_API_KEY_SID,
            secret,
            identity=identity,
            nbf=int(nbf.timestamp()),
            valid_until=int(exp.timestamp()),
        )
        token.add_grant(VideoGrant(room=room))
        written: str = token.to_jwt()
        return written


@pytest.mark.parametrize("room", ["standup", None])
def test_the_token_is_byte_for_byte_what_twilio_python_writes(room: str | None) -> None:
    token = ours(room=room).encode(TEST_API_KEY_SECRET)
    assert token == twilio_python("alice", room, OPENS, EXPIRES)

    # And what Twilio finds in it: the header and claims of its documentation.
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1"}
    claims = jwt.decode(token, TEST_API_KEY_SECRET, algorithms=["HS256"], options={"verify_nbf": False})
    assert claims == {
        "jti": f"{TEST_API_KEY_SID}-{int(ISSUED.timestamp())}",
        "grants": {"identity": "alice", "video": {"room": room} if room else {}},
        "iss": TEST_API_KEY_SID,
        "sub": TEST_ACCOUNT_SID,
        "nbf": int(OPENS.timestamp()),
        "exp": int(EXPIRES.timestamp()),
    }


def test_twilio_python_reads_it_back() -> None:
    now = datetime.now(UTC)
    token = ours(not_before=None, issued_at=now, expires_at=now + timedelta(hours=1)).encode(
        TEST_API_KEY_SECRET
    )
    # It checks nbf and exp on the real clock (PyJWT's), hence a token valid now.
    decoded = AccessToken.from_jwt(token, key=TEST_API_KEY_SECRET)
    assert decoded.payload["grants"] == {"video": {"room": "standup"}, "identity": "alice"}
    assert decoded.headers["cty"] == CONTENT_TYPE


def test_a_fraction_of_a_second_is_never_granted() -> None:
    token = ours(not_before=OPENS + timedelta(seconds=0.9), expires_at=EXPIRES + timedelta(seconds=0.9))
    claims = token.claims()
    assert (claims["nbf"], claims["exp"]) == (int(OPENS.timestamp()), int(EXPIRES.timestamp()))


def test_read_gives_the_claims_of_a_good_token() -> None:
    found = read(ours().encode(TEST_API_KEY_SECRET), account_sid=TEST_ACCOUNT_SID, api_keys=KEYS)
    assert found == ReadToken(
        api_key_sid=TEST_API_KEY_SID,
        account_sid=TEST_ACCOUNT_SID,
        not_before=OPENS,
        expires_at=EXPIRES,
        grants={"video": {"room": "standup"}, "identity": "alice"},
    )
    assert check_video_grant(found, "standup", ROOM_SID) == "alice"
    check_window(found, OPENS)
    check_window(found, EXPIRES - timedelta(seconds=1))


def signed(claims: dict[str, object], secret: str = TEST_API_KEY_SECRET, **header: str) -> str:
    return jwt.encode(
        claims, secret, algorithm="HS256", headers={"cty": CONTENT_TYPE, "typ": "JWT", **header}
    )


GOOD = ours().claims()
OTHER_SECRET = "not-the-api-key-secret-but-as-long-as-one"


@pytest.mark.parametrize(
    ("token", "code", "detail"),
    [
        ("not-a-jwt", ErrorCode.ACCESS_TOKEN_INVALID, "not a JWT (header.payload.signature)"),
        (
            signed(GOOD, cty="text/plain"),
            ErrorCode.ACCESS_TOKEN_HEADER_INVALID,
            "the header must have alg 'HS256' and cty 'twilio-fpa;v=1', not alg 'HS256' and cty 'text/plain'",
        ),
        (
            jwt.encode(GOOD, TEST_API_KEY_SECRET * 2, algorithm="HS512", headers={"cty": CONTENT_TYPE}),
            ErrorCode.ACCESS_TOKEN_HEADER_INVALID,
            "not alg 'HS512' and cty 'twilio-fpa;v=1'",
        ),
        (
            signed(GOOD | {"iss": "SK" + "0" * 32}),
            ErrorCode.ACCESS_TOKEN_ISSUER_INVALID,
            f"iss 'SK{'0' * 32}' is not an API key of account {TEST_ACCOUNT_SID}",
        ),
        (
            signed(GOOD, OTHER_SECRET),
            ErrorCode.ACCESS_TOKEN_SIGNATURE_INVALID,
            f"the signature is not that of API key {TEST_API_KEY_SID}'s secret",
        ),
        (
            signed(GOOD | {"sub": "AC" + "1" * 32}),
            ErrorCode.ACCESS_TOKEN_ISSUER_INVALID,
            f"sub 'AC{'1' * 32}' is not account {TEST_ACCOUNT_SID}",
        ),
        (
            signed({k: v for k, v in GOOD.items() if k != "exp"}),
            ErrorCode.ACCESS_TOKEN_EXPIRED,
            "exp None is not a time (epoch seconds)",
        ),
        (
            signed(GOOD | {"nbf": "soon"}),
            ErrorCode.ACCESS_TOKEN_INVALID,
            "nbf 'soon' is not a time (epoch seconds)",
        ),
        (signed(GOOD | {"grants": "all"}), ErrorCode.ACCESS_TOKEN_GRANTS_INVALID, "the token has no grants"),
    ],
)
def test_read_refuses_with_twilios_code(token: str, code: ErrorCode, detail: str) -> None:
    with pytest.raises(TokenRejected) as refused:
        read(token, account_sid=TEST_ACCOUNT_SID, api_keys=KEYS)
    assert refused.value.code is code
    assert detail in refused.value.detail


def test_a_tampered_payload_breaks_the_signature() -> None:
    header, _, signature = ours().encode(TEST_API_KEY_SECRET).split(".")
    other_room = ours(room="someone-elses").encode(TEST_API_KEY_SECRET).split(".")[1]
    with pytest.raises(TokenRejected) as refused:
        read(f"{header}.{other_room}.{signature}", account_sid=TEST_ACCOUNT_SID, api_keys=KEYS)
    assert refused.value.code is ErrorCode.ACCESS_TOKEN_SIGNATURE_INVALID


def window(now: datetime, token: ReadToken) -> tuple[ErrorCode, str]:
    with pytest.raises(TokenRejected) as refused:
        check_window(token, now)
    return refused.value.code, refused.value.detail


def test_the_window_is_exact() -> None:
    token = read(ours().encode(TEST_API_KEY_SECRET), account_sid=TEST_ACCOUNT_SID, api_keys=KEYS)
    assert window(OPENS - timedelta(seconds=1), token) == (
        ErrorCode.ACCESS_TOKEN_NOT_YET_VALID,
        "the token is valid from 2030-06-03T08:58:00Z; it is 2030-06-03T08:57:59Z",
    )
    assert window(EXPIRES, token) == (
        ErrorCode.ACCESS_TOKEN_EXPIRED,
        "the token expired at 2030-06-03T09:35:00Z; it is 2030-06-03T09:35:00Z",
    )
    too_long = read(
        ours(not_before=None, expires_at=ISSUED + timedelta(hours=24, seconds=1)).encode(TEST_API_KEY_SECRET),
        account_sid=TEST_ACCOUNT_SID,
        api_keys=KEYS,
    )
    check_window(too_long, ISSUED + timedelta(seconds=1))
    assert window(ISSUED, too_long) == (
        ErrorCode.ACCESS_TOKEN_EXPIRED,
        "the token expires at 2030-06-04T08:00:08Z, more than 24 hours after 2030-06-03T08:00:07Z: "
        "an access token may be valid for at most that long",
    )


@pytest.mark.parametrize(
    ("grants", "detail"),
    [
        ({"video": {"room": "standup"}}, "the token has no identity grant"),
        ({"identity": "alice"}, "the token has no video grant"),
        (
            {"identity": "alice", "video": {"room": "other"}},
            f"the token's room grant is 'other', not this room ('standup', {ROOM_SID})",
        ),
    ],
)
def test_the_video_grant_must_name_this_room(grants: dict[str, object], detail: str) -> None:
    token = ReadToken(TEST_API_KEY_SID, TEST_ACCOUNT_SID, OPENS, EXPIRES, grants)
    with pytest.raises(TokenRejected) as refused:
        check_video_grant(token, "standup", ROOM_SID)
    assert (refused.value.code, refused.value.detail) == (ErrorCode.ACCESS_TOKEN_GRANTS_INVALID, detail)


@pytest.mark.parametrize("room", ["standup", ROOM_SID, None])
def test_a_room_grant_matches_the_unique_name_or_the_sid(room: str | None) -> None:
    grants = {"identity": "alice", "video": {"room": room} if room else {}}
    token = ReadToken(TEST_API_KEY_SID, TEST_ACCOUNT_SID, OPENS, EXPIRES, grants)
    assert check_video_grant(token, "standup", ROOM_SID) == "alice"
