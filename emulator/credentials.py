"""The emulated account's credentials and HTTP Basic authentication against them."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from emulator.errors import ApiError
from twilio_video.error_codes import ErrorCode

#: The fixed test account ``roomkeeper emulator`` and ``roomkeeper dev`` use unless told otherwise.
#: These are not secrets: they only ever open the local emulator.
TEST_ACCOUNT_SID: Final = "AC" + "f00dfeed" * 4
TEST_AUTH_TOKEN: Final = "7e57" * 8
TEST_API_KEY_SID: Final = "SK" + "c0ffee00" * 4
TEST_API_KEY_SECRET: Final = "roomkeeper-emulator-api-key-secret"


@dataclass(frozen=True)
class Credentials:
    """The account the emulator answers for, and the only secrets that open it."""

    account_sid: str = TEST_ACCOUNT_SID
    auth_token: str = TEST_AUTH_TOKEN
    #: API key SID -> secret. Unset (``None``): the public test API key with the public test account,
    #: and no API key at all with an account SID or auth token of your own, because a published key
    #: must not open an emulator started with private credentials.
    api_keys: Mapping[str, str] | None = None

    @property
    def is_public_test_account(self) -> bool:
        """Whether these are the fixed, published test credentials (safe to print)."""
        return (self.account_sid, self.auth_token) == (TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)

    @property
    def keys(self) -> Mapping[str, str]:
        """The API keys that open the emulator (SID -> secret)."""
        if self.api_keys is not None:
            return self.api_keys
        return {TEST_API_KEY_SID: TEST_API_KEY_SECRET} if self.is_public_test_account else {}

    def authenticate(self, authorization: str | None) -> str:
        """The account SID the ``Authorization`` header proves, or a 401/20003."""
        if not authorization or not authorization.lower().startswith("basic "):
            raise _unauthorized("Authentication Error - No credentials provided")
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise _unauthorized("Authentication Error - malformed Basic credentials") from None
        username, _, password = decoded.partition(":")
        if username == self.account_sid and hmac.compare_digest(password, self.auth_token):
            return self.account_sid
        secret = self.keys.get(username)
        if secret is not None and hmac.compare_digest(password, secret):
            return self.account_sid
        raise _unauthorized("Your AccountSid or AuthToken was incorrect.")


def _unauthorized(detail: str) -> ApiError:
    return ApiError(
        401,
        ErrorCode.AUTHENTICATE,
        headers={"WWW-Authenticate": 'Basic realm="Twilio API"'},
        body_detail=detail,
    )
