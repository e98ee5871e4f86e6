"""Twilio SIDs: a two-letter prefix and 32 lowercase hex digits."""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Final

from pydantic import StringConstraints

SID_HEX_LENGTH: Final = 32


def new_sid(prefix: str) -> str:
    """A fresh random SID such as ``RM3f…`` (34 characters)."""
    return prefix + secrets.token_hex(SID_HEX_LENGTH // 2)


def sid_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^{prefix}[0-9a-fA-F]{{{SID_HEX_LENGTH}}}$")


def is_sid(value: str, prefix: str) -> bool:
    return sid_pattern(prefix).fullmatch(value) is not None


AccountSid = Annotated[str, StringConstraints(pattern=r"^AC[0-9a-fA-F]{32}$")]
RoomSid = Annotated[str, StringConstraints(pattern=r"^RM[0-9a-fA-F]{32}$")]
ParticipantSid = Annotated[str, StringConstraints(pattern=r"^PA[0-9a-fA-F]{32}$")]
TrackSid = Annotated[str, StringConstraints(pattern=r"^MT[0-9a-fA-F]{32}$")]
RecordingSid = Annotated[str, StringConstraints(pattern=r"^RT[0-9a-fA-F]{32}$")]
