"""Join tokens: Twilio access tokens that let one participant into one meeting's room, and only while the
meeting's window is open, so Twilio itself refuses an early or late client even when the application
forgets to check.

A token names the participant (``grants.identity``) and the meeting's room by its unique name
(``grants.video.room``: a room Twilio ends early and roomkeeper opens again keeps the name, so the token
still fits). It is valid from the room's opening (``open_at``) to the meeting's end plus a grace
(``ROOMKEEPER_TOKEN_GRACE_SECONDS``, or the request's), which covers the clocks of roomkeeper and Twilio
disagreeing a little and a short extension; it is signed with the API key (``TWILIO_API_KEY`` and
``TWILIO_API_SECRET``), as Twilio requires. ``roomkeeper meeting token`` and ``POST /meetings/{id}/tokens``
both issue them here, from the meeting's status (``MeetingClient.status``): the window is the one the
meeting has now, after any reschedule or extension.

Twilio accepts no token valid for more than 24 hours. When the window (opening to end plus grace) is
longer, the token covers 24 hours from the opening, or from now if the room is already open, and says so
(``capped``): the application asks for another before it expires. The token is a credential: it is
returned to the caller and never logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, NamedTuple

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from common.settings import DEFAULT_TOKEN_GRACE_SECONDS, ConfigurationError, Settings
from roomkeeper.meeting_client import MeetingClient, MeetingRejected
from twilio_video import limits
from twilio_video.access_token import MAX_LIFETIME, VideoAccessToken, epoch_seconds
from workflows.meeting_status import TERMINAL_PHASES, MeetingStatus, Phase

log = logging.getLogger(__name__)

#: A participant's identity, as Twilio allows it.
Identity = Annotated[
    str,
    StringConstraints(min_length=1, max_length=limits.MAX_IDENTITY_LENGTH),
]
#: A grace longer than the longest token lifetime could never be used.
MAX_GRACE_SECONDS = limits.MAX_ACCESS_TOKEN_LIFETIME_SECONDS


@dataclass(frozen=True)
class JoinTokenIssuer:
    """Who signs join tokens (an API key of the account) and the grace they get by default."""

    account_sid: str
    api_key_sid: str
    #: The API key's secret: the HMAC key. Kept out of the repr, so no log or traceback shows it.
    api_key_secret: str = field(repr=False)
    #: How long after the meeting's end a token stays valid, unless the request says otherwise.
    grace: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> JoinTokenIssuer:
        """The issuer ``settings`` describe; a ``ConfigurationError`` names what is missing (Twilio signs
        access tokens only with an API key, never with the auth token)."""
        account, key, secret = (
            settings.twilio_account_sid,
            settings.twilio_api_key,
            settings.twilio_api_secret,
        )
        if account is None or key is None or secret is None:
            missing = [
                name
                for name, value in (
                    ("TWILIO_ACCOUNT_SID", account),
                    ("TWILIO_API_KEY", key),
                    ("TWILIO_API_SECRET", secret),
                )
                if value is None
            ]
            raise ConfigurationError(
                [
                    f"join tokens need {' and '.join(missing)}: Twilio accepts access tokens signed only "
                    "with an API key of the account (not the auth token)"
                ]
            )
        return cls(
            account,
            key,
            secret.get_secret_value(),
            timedelta(seconds=settings.token_grace_seconds),
        )


class TokenRequest(BaseModel):
    """Who the token is for, and (optionally) how long past the meeting's end it stays valid."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"identity": "alice"}, {"identity": "bob", "grace_seconds": 600}]},
    )

    identity: Identity = Field(
        description="The participant's identity: Twilio shows it to the others and roomkeeper's status "
        f"names it (1-{limits.MAX_IDENTITY_LENGTH} characters). A second connection with the same "
        "identity disconnects the first.",
        examples=["alice"],
    )
    grace_seconds: int | None = Field(
        None,
        ge=0,
        le=MAX_GRACE_SECONDS,
        description="How long after the meeting's end the token stays valid, in seconds (default: "
        f"`ROOMKEEPER_TOKEN_GRACE_SECONDS`, {DEFAULT_TOKEN_GRACE_SECONDS} unless set).",
    )


class JoinToken(BaseModel):
    """A Twilio Video access token for one participant of one meeting, and what it allows."""

    meeting_id: str = Field(description="The meeting.", examples=["standup"])
    identity: str = Field(description="Who the token is for (its identity grant).", examples=["alice"])
    room: str = Field(
        description="The only room it opens: the meeting's room name (its video grant).",
        examples=["standup"],
    )
    token: str = Field(
        description="The access token (a JWT) to give the client's Twilio Video SDK (`connect(token, "
        "{name: room})`). A credential: keep it out of logs and URLs.",
    )
    not_before: AwareDatetime = Field(
        description="Twilio refuses it before this: the room's opening (or, for a token capped at 24 "
        "hours, the moment it was issued, if later)."
    )
    expires_at: AwareDatetime = Field(
        description="Twilio refuses it from this moment on: the meeting's end plus the grace, unless "
        "`capped`."
    )
    grace_seconds: int = Field(description="The grace after the meeting's end it was given.")
    capped: bool = Field(
        description="True when Twilio's 24-hour limit on a token's lifetime made it expire before the "
        "meeting's end plus the grace: ask for a new one before `expires_at`."
    )


class TokenWindow(NamedTuple):
    not_before: datetime
    expires_at: datetime
    capped: bool


def token_window(open_at: datetime, end: datetime, grace: timedelta, now: datetime) -> TokenWindow:
    """When a token issued at ``now`` is valid: from the opening to the end plus ``grace``, in whole
    seconds (rounded down: a fraction of a second is never granted), at most 24 hours long."""
    not_before = open_at
    expires_at = end + grace
    if expires_at - not_before <= MAX_LIFETIME:
        return TokenWindow(not_before, expires_at, capped=False)
    # A longer window: 24 hours from the opening, or from now once the room is open, so a token asked
    # for later in a long meeting reaches further than the first one did.
    not_before = max(open_at, now)
    capped_at = not_before + MAX_LIFETIME
    return TokenWindow(not_before, min(expires_at, capped_at), capped=capped_at < expires_at)


def room_name(status: MeetingStatus) -> str:
    """The meeting's room name: its room's ``unique_name``, or the meeting id when it names none (as the
    workflow names the room)."""
    given = status.room.unique_name if status.room is not None else None
    return given or status.meeting_id


def refusal(status: MeetingStatus, expires_at: datetime, now: datetime) -> str | None:
    """Why no token can be issued for the meeting now, or None."""
    if status.phase in TERMINAL_PHASES:
        return f"the meeting is already over ({status.phase.value}): no one can join it any more"
    if status.phase is Phase.CLOSING:
        return "the meeting is closing (its room is being completed): no one can join it any more"
    if epoch_seconds(expires_at) <= epoch_seconds(now):
        return (
            f"the meeting ended at {status.end_time.isoformat()}: a token would have expired at "
            f"{expires_at.isoformat()} (the end plus the grace), before it was issued"
        )
    return None


async def issue_join_token(
    meetings: MeetingClient,
    issuer: JoinTokenIssuer,
    meeting_id: str,
    request: TokenRequest,
    *,
    now: datetime,
) -> JoinToken:
    """A join token for ``request.identity`` in the meeting's room, from the meeting's status now.

    Raises ``MeetingNotFound``, ``MeetingRejected`` (the meeting is over or closing, or its window has
    passed: no token would let anyone in), ``TemporalUnavailable``.
    """
    status = await meetings.status(meeting_id)
    grace = issuer.grace if request.grace_seconds is None else timedelta(seconds=request.grace_seconds)
    window = token_window(status.open_at, status.end_time, grace, now)
    refused = refusal(status, window.expires_at, now)
    if refused is not None:
        raise MeetingRejected(refused, kind="Rejected")
    room = room_name(status)
    token = VideoAccessToken(
        account_sid=issuer.account_sid,
        api_key_sid=issuer.api_key_sid,
        identity=request.identity,
        room=room,
        not_before=window.not_before,
        expires_at=window.expires_at,
        issued_at=now,
    )
    claims = token.claims()
    # Never the token itself: it is a credential. Who, where and when is what an audit needs.
    log.info(
        "join token for %r in meeting %r (room %r), valid %s to %s, signed by %s",
        request.identity,
        meeting_id,
        room,
        window.not_before.isoformat(),
        window.expires_at.isoformat(),
        issuer.api_key_sid,
    )
    return JoinToken(
        meeting_id=meeting_id,
        identity=request.identity,
        room=room,
        token=token.encode(issuer.api_key_secret),
        not_before=_moment(claims["nbf"]),
        expires_at=_moment(claims["exp"]),
        grace_seconds=int(grace.total_seconds()),
        capped=window.capped,
    )


def _moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
