"""The emulator's one exception: an HTTP answer in Twilio's error shape."""

from __future__ import annotations

from typing import Final

from twilio_video.access_token import TokenRejected
from twilio_video.error_codes import MESSAGES, ErrorCode
from twilio_video.models import TwilioErrorBody

#: The ``code`` of the emulator's own 501 answers. Twilio has no code for "not implemented", so none
#: is invented: it is the HTTP status, which is also what twilio-python reports for a body without one.
NOT_IMPLEMENTED_CODE: Final = 501
#: Where a 501's ``more_info`` points: the table of what the emulator does not imitate.
NOT_IMPLEMENTED_INFO: Final = "docs/emulator.md#what-the-emulator-does-not-imitate"


class ApiError(Exception):
    """Raised anywhere in the emulator; rendered as ``{"code", "message", "more_info", "status"}``."""

    def __init__(
        self,
        status: int,
        code: ErrorCode | int,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        message: str | None = None,
        body_detail: str | None = None,
        more_info: str | None = None,
    ) -> None:
        base = message or MESSAGES[ErrorCode(code)]
        self.status = status
        self.code = code
        self.message = f"{base}: {detail}" if detail else base
        self.headers = headers or {}
        self.body_detail = body_detail
        self.more_info = more_info
        super().__init__(self.message)

    def body(self) -> TwilioErrorBody:
        body = TwilioErrorBody.build(self.status, int(self.code), self.message, self.body_detail)
        return body.model_copy(update={"more_info": self.more_info}) if self.more_info else body


def invalid(code: ErrorCode, detail: str) -> ApiError:
    """A 400 for a parameter that breaks a rule; ``detail`` names the parameter and the rule."""
    return ApiError(400, code, detail)


def not_found(path: str) -> ApiError:
    """Twilio's 404: the path in the message has no ``/v1`` prefix."""
    return ApiError(404, ErrorCode.NOT_FOUND, message=f"The requested resource {path} was not found")


def not_implemented(feature: str) -> ApiError:
    """The emulator's 501 for something Twilio has and it does not imitate; the message names it."""
    return ApiError(
        501,
        NOT_IMPLEMENTED_CODE,
        message=f"Not implemented by the Twilio Video emulator: {feature}",
        more_info=NOT_IMPLEMENTED_INFO,
    )


def token_refused(rejected: TokenRejected) -> ApiError:
    """A simulated join's access token refused: 403 when the token is sound but does not allow this
    join (its grants, 20106), else 401 (the token itself is bad). Twilio's SDKs carry only the code;
    the HTTP status is the emulator's choice."""
    status = 403 if rejected.code is ErrorCode.ACCESS_TOKEN_GRANTS_INVALID else 401
    return ApiError(status, rejected.code, rejected.detail)
