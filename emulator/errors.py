"""The emulator's one exception: an HTTP answer in Twilio's error shape."""

from __future__ import annotations

from twilio_video.error_codes import MESSAGES, ErrorCode
from twilio_video.models import TwilioErrorBody


class ApiError(Exception):
    """Raised anywhere in the emulator; rendered as ``{"code", "message", "more_info", "status"}``."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        message: str | None = None,
        body_detail: str | None = None,
    ) -> None:
        base = message or MESSAGES[code]
        self.status = status
        self.code = code
        self.message = f"{base}: {detail}" if detail else base
        self.headers = headers or {}
        self.body_detail = body_detail
        super().__init__(self.message)

    def body(self) -> TwilioErrorBody:
        return TwilioErrorBody.build(self.status, int(self.code), self.message, self.body_detail)


def invalid(code: ErrorCode, detail: str) -> ApiError:
    """A 400 for a parameter that breaks a rule; ``detail`` names the parameter and the rule."""
    return ApiError(400, code, detail)


def not_found(path: str) -> ApiError:
    """Twilio's 404: the path in the message has no ``/v1`` prefix."""
    return ApiError(404, ErrorCode.NOT_FOUND, message=f"The requested resource {path} was not found")
