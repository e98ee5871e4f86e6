"""``X-Cal-Signature-256``: the hex HMAC-SHA256 of the raw body with the webhook's secret.

Checked before anything in the body is looked at, in constant time. Cal.com sends the literal
``no-secret-provided`` when its webhook has no secret: that is named, since it is a set-up mistake.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Cal-Signature-256"
#: What Cal.com puts in the header when its webhook has no secret.
NO_SECRET = "no-secret-provided"


class BadSignature(Exception):
    """The delivery is not signed with the secret; ``str()`` says how, never with any part of it."""


def sign(secret: str, body: bytes) -> str:
    """The signature Cal.com sends for ``body``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check(secret: str, body: bytes, headers: list[str]) -> None:
    """Raise ``BadSignature`` unless ``headers`` (every value of the header) is one valid signature."""
    if not headers:
        raise BadSignature(f"the {HEADER} header is missing")
    if len(headers) > 1:
        raise BadSignature(f"the {HEADER} header is repeated ({len(headers)} values)")
    given = headers[0].strip()
    if given == NO_SECRET:
        raise BadSignature(
            f"{HEADER} is '{NO_SECRET}': the webhook in Cal.com has no secret; give it the same secret as "
            "CALCOM_WEBHOOK_SECRET"
        )
    # compare_digest on str needs ASCII; anything else cannot be a hex digest anyway.
    if not given.isascii() or not hmac.compare_digest(sign(secret, body), given.lower()):
        raise BadSignature(
            f"{HEADER} does not match the HMAC-SHA256 of the body with CALCOM_WEBHOOK_SECRET (is the "
            "webhook's secret in Cal.com the same?)"
        )
