"""Twilio access tokens for Programmable Video: the JWT a client SDK connects to a room with.

A token is a JWT signed HS256 with an API key's secret (never the auth token), with the header
``{"typ": "JWT", "alg": "HS256", "cty": "twilio-fpa;v=1"}`` and these claims, as Twilio defines them:

| claim | value |
| --- | --- |
| ``jti`` | ``<API key SID>-<issue time, epoch seconds>`` |
| ``iss`` | the API key SID (the key whose secret signs it) |
| ``sub`` | the account SID |
| ``nbf`` | not before (epoch seconds) |
| ``exp`` | expiry (epoch seconds), at most 24 hours ahead |
| ``grants.identity`` | who the client is: the participant's identity |
| ``grants.video.room`` | the only room it may connect to, by unique name or SID (optional) |

``VideoAccessToken.encode`` writes exactly what twilio-python's ``AccessToken`` with a ``VideoGrant``
writes for the same inputs (same claims, same order, so the same bytes); the tests compare the two.
``read`` and the checks after it are Twilio's side, for the emulator: each failure is a
``TokenRejected`` with Twilio's error code (``twilio_video.error_codes``, 20101-20107).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import jwt

from twilio_video import limits
from twilio_video.error_codes import ErrorCode

#: The JWT header's ``cty``: what tells Twilio this JWT is one of its access tokens.
CONTENT_TYPE: Final = "twilio-fpa;v=1"
#: The only signing algorithm Twilio accepts for access tokens.
ALGORITHM: Final = "HS256"
MAX_LIFETIME: Final = timedelta(seconds=limits.MAX_ACCESS_TOKEN_LIFETIME_SECONDS)


def epoch_seconds(moment: datetime) -> int:
    """A JWT NumericDate: whole seconds, rounded down (a fraction of a second is never granted)."""
    return math.floor(moment.timestamp())


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class VideoAccessToken:
    """One Video access token's contents; ``encode`` signs it."""

    account_sid: str
    api_key_sid: str
    identity: str
    #: The room it is limited to (unique name or SID); None lets it into any room of the account.
    room: str | None
    #: None: valid from the moment it is issued (twilio-python's default).
    not_before: datetime | None
    expires_at: datetime
    #: Only ``jti`` carries it (Twilio's tokens have no ``iat``).
    issued_at: datetime

    @property
    def jti(self) -> str:
        return f"{self.api_key_sid}-{epoch_seconds(self.issued_at)}"

    def claims(self) -> dict[str, Any]:
        """The JWT's claims, in twilio-python's order (``jti``, ``grants``, ``iss``, ``exp``, ``nbf``,
        ``sub``), so the encoded token is byte for byte the one it would write."""
        video: dict[str, str] = {"room": self.room} if self.room else {}
        claims: dict[str, Any] = {
            "jti": self.jti,
            "grants": {"video": video, "identity": self.identity},
            "iss": self.api_key_sid,
            "exp": epoch_seconds(self.expires_at),
        }
        claims["nbf"] = epoch_seconds(self.not_before or self.issued_at)
        claims["sub"] = self.account_sid
        return claims

    def encode(self, api_key_secret: str) -> str:
        """The signed token (the API key secret is the HMAC key)."""
        return jwt.encode(
            self.claims(),
            api_key_secret,
            algorithm=ALGORITHM,
            headers={"cty": CONTENT_TYPE, "typ": "JWT", "alg": ALGORITHM},
        )


# ------------------------------------------------------------------------------- Twilio's side


class TokenRejected(Exception):
    """Twilio would refuse this token: ``code`` is Twilio's (20101-20107), ``detail`` says why."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(f"{int(code)}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class ReadToken:
    """A token whose signature, issuer and subject have been checked, and what it claims."""

    api_key_sid: str
    account_sid: str
    not_before: datetime | None
    expires_at: datetime
    grants: Mapping[str, Any]

    @property
    def identity(self) -> str | None:
        identity = self.grants.get("identity")
        return identity if isinstance(identity, str) and identity else None

    @property
    def video(self) -> Mapping[str, Any] | None:
        video = self.grants.get("video")
        return video if isinstance(video, Mapping) else None


def read(token: str, *, account_sid: str, api_keys: Mapping[str, str]) -> ReadToken:
    """The token's claims, once it is shown to be an access token of ``account_sid`` signed by one of
    ``api_keys`` (SID -> secret). Raises ``TokenRejected``, checking in this order:

    1. a JWT at all (20101); its header: ``alg`` HS256, ``cty`` ``twilio-fpa;v=1`` (20102);
    2. ``iss`` one of the account's API keys (20103): the issuer only names the key to check with;
    3. the signature, with that key's secret (20107): no other claim is believed before it;
    4. ``sub`` the account (20103); ``exp`` a NumericDate (20104), ``nbf`` one if present (20101),
       ``grants`` an object (20106).
    """
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise TokenRejected(
            ErrorCode.ACCESS_TOKEN_INVALID, f"not a JWT (header.payload.signature): {error}"
        ) from None
    if header.get("alg") != ALGORITHM or header.get("cty") != CONTENT_TYPE:
        raise TokenRejected(
            ErrorCode.ACCESS_TOKEN_HEADER_INVALID,
            f"the header must have alg {ALGORITHM!r} and cty {CONTENT_TYPE!r}, not alg "
            f"{header.get('alg')!r} and cty {header.get('cty')!r}",
        )
    issuer = unverified.get("iss")
    secret = api_keys.get(issuer) if isinstance(issuer, str) else None
    if secret is None or not isinstance(issuer, str):
        raise TokenRejected(
            ErrorCode.ACCESS_TOKEN_ISSUER_INVALID,
            f"iss {issuer!r} is not an API key of account {account_sid}",
        )
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            # Times are judged by ``check_window`` on the caller's clock, not PyJWT's.
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.InvalidSignatureError:
        raise TokenRejected(
            ErrorCode.ACCESS_TOKEN_SIGNATURE_INVALID,
            f"the signature is not that of API key {issuer}'s secret",
        ) from None
    except jwt.PyJWTError as error:
        raise TokenRejected(ErrorCode.ACCESS_TOKEN_INVALID, str(error)) from None
    if claims.get("sub") != account_sid:
        raise TokenRejected(
            ErrorCode.ACCESS_TOKEN_ISSUER_INVALID,
            f"sub {claims.get('sub')!r} is not account {account_sid}",
        )
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or not _numeric_date(expires):
        raise TokenRejected(ErrorCode.ACCESS_TOKEN_EXPIRED, f"exp {expires!r} is not a time (epoch seconds)")
    not_before = claims.get("nbf")
    if not_before is not None and not _numeric_date(not_before):
        raise TokenRejected(
            ErrorCode.ACCESS_TOKEN_INVALID, f"nbf {not_before!r} is not a time (epoch seconds)"
        )
    grants = claims.get("grants")
    if not isinstance(grants, dict):
        raise TokenRejected(ErrorCode.ACCESS_TOKEN_GRANTS_INVALID, "the token has no grants object")
    return ReadToken(
        api_key_sid=issuer,
        account_sid=account_sid,
        not_before=None if not_before is None else _moment(math.floor(not_before)),
        expires_at=_moment(math.floor(expires)),
        grants=grants,
    )


def _numeric_date(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _shown(moment: datetime) -> str:
    # Whole seconds, cut down: token times are whole seconds, so a cut-down "now" keeps its order to them.
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def check_window(token: ReadToken, now: datetime) -> None:
    """Whether ``now`` is inside the token's validity, exactly (no leeway). Raises ``TokenRejected``:
    expired (20104), not yet valid (20105), or expiring more than 24 hours from now (20104)."""
    if now >= token.expires_at:
        raise TokenRejected(
            ErrorCode.ACCESS_TOKEN_EXPIRED,
            f"the token expired at {_shown(token.expires_at)}; it is {_shown(now)}",
        )
    if token.not_before is not None and now < token.not_before:
        raise TokenRejected(
            ErrorCode.ACCESS_TOKEN_NOT_YET_VALID,
            f"the token is valid from {_shown(token.not_before)}; it is {_shown(now)}",
        )
    if token.expires_at - now > MAX_LIFETIME:
        raise TokenRejected(
            ErrorCode.ACCESS_TOKEN_EXPIRED,
            f"the token expires at {_shown(token.expires_at)}, more than "
            f"{limits.MAX_ACCESS_TOKEN_LIFETIME_SECONDS // 3600} hours after {_shown(now)}: "
            "an access token may be valid for at most that long",
        )


def check_video_grant(token: ReadToken, room_unique_name: str, room_sid: str) -> str:
    """The identity the token lets into this room. Raises ``TokenRejected`` (20106) when it has no
    identity grant, no video grant, or a room grant that is neither the room's unique name nor its SID
    (Twilio compares the grant with both)."""
    identity = token.identity
    if identity is None:
        raise TokenRejected(ErrorCode.ACCESS_TOKEN_GRANTS_INVALID, "the token has no identity grant")
    video = token.video
    if video is None:
        raise TokenRejected(ErrorCode.ACCESS_TOKEN_GRANTS_INVALID, "the token has no video grant")
    room = video.get("room")
    if room and room not in (room_unique_name, room_sid):
        raise TokenRejected(
            ErrorCode.ACCESS_TOKEN_GRANTS_INVALID,
            f"the token's room grant is {room!r}, not this room ({room_unique_name!r}, {room_sid})",
        )
    return identity
