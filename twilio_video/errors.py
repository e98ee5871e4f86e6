"""What can go wrong talking to Twilio Video, as a small typed hierarchy built from Twilio's error body.

Two families: ``TransientError`` (worth retrying: 5xx, 429, timeouts, dropped connections) and every
other ``TwilioError`` (permanent: retrying gives the same answer). Messages carry the operation, the
resource, Twilio's code and Twilio's message, so a log line or a workflow failure says what happened.
"""

from __future__ import annotations

from twilio_video.error_codes import ErrorCode
from twilio_video.operations import Operation


class TwilioError(Exception):
    """A Twilio Video request failed. Permanent unless it is a ``TransientError``."""

    def __init__(
        self,
        operation: Operation,
        resource: str | None,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        more_info: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.operation = operation
        self.resource = resource
        self.twilio_message = message
        self.status = status
        self.code = code
        self.more_info = more_info
        self.retry_after = retry_after
        where = f" {resource}" if resource else ""
        codes = ", ".join(
            part for part in (f"HTTP {status}" if status else "", f"Twilio {code}" if code else "") if part
        )
        super().__init__(f"{operation}{where} failed: {message}" + (f" ({codes})" if codes else ""))


class TransientError(TwilioError):
    """Likely to succeed if tried again: 5xx, timeouts, connection errors. ``retry_after`` if Twilio said."""


class RateLimited(TransientError):
    """429 / 20429: the request was not processed; wait ``retry_after`` seconds (when given)."""


class Unauthorized(TwilioError):
    """401 / 20003: wrong or missing credentials. Retrying cannot help."""


class NotFound(TwilioError):
    """404: no such room (20404, or a name whose room is no longer in progress) or participant (53204)."""


class RoomExists(TwilioError):
    """400 / 53113: the unique name is held by an in-progress room."""


class RoomNotInProgress(TwilioError):
    """53112 on completing a room that is not in progress, or 53118 for any operation on a completed one."""


class InvalidParameter(TwilioError):
    """Any other 4xx: a parameter breaks Twilio's rules (53xxx, 20001...); or 501, a request for what
    the service does not implement (the emulator's answer for what it does not imitate)."""


_BY_CODE: dict[int, type[TwilioError]] = {
    ErrorCode.AUTHENTICATE: Unauthorized,
    ErrorCode.NOT_FOUND: NotFound,
    ErrorCode.PARTICIPANT_NOT_FOUND: NotFound,
    ErrorCode.ROOM_NOT_FOUND: NotFound,
    ErrorCode.ROOM_EXISTS: RoomExists,
    ErrorCode.ROOM_STATUS_INVALID: RoomNotInProgress,
    ErrorCode.ROOM_COMPLETED: RoomNotInProgress,
    ErrorCode.TOO_MANY_REQUESTS: RateLimited,
}


def error_class_for(status: int, code: int | None) -> type[TwilioError]:
    """The exception class for an HTTP status and Twilio code."""
    if status == 429:
        return RateLimited
    if status == 501:
        return InvalidParameter  # "Not Implemented" stays so, however often it is asked
    if status >= 500:
        return TransientError
    if code is not None and code in _BY_CODE:
        return _BY_CODE[code]
    if status == 401:
        return Unauthorized
    if status == 404:
        return NotFound
    return InvalidParameter
