"""The Standard Webhooks signature (https://www.standardwebhooks.com), as roomkeeper signs its events.

A message is signed over ``{webhook-id}.{webhook-timestamp}.{body}`` with HMAC-SHA256, keyed by the
base64 bytes after a secret's ``whsec_`` prefix; the ``webhook-signature`` header carries
``v1,<base64 signature>``, one per secret, separated by spaces. Signing with two secrets at once is how
a secret is rotated: receivers accept a message if any signature matches one of theirs, so the new
secret can be deployed on both sides one after the other without losing a message.

Receivers verify with the convention's own libraries (``standardwebhooks`` on PyPI and npm, and
others); this module is the sending side only, written against the convention rather than borrowed
from one receiver's library.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Final

SECRET_PREFIX: Final = "whsec_"
#: The headers, as the convention names them.
ID_HEADER: Final = "webhook-id"
TIMESTAMP_HEADER: Final = "webhook-timestamp"
SIGNATURE_HEADER: Final = "webhook-signature"
#: Key sizes the convention allows: 24 to 64 bytes (a new secret has 32).
MIN_KEY_BYTES: Final = 24
MAX_KEY_BYTES: Final = 64


class SecretError(ValueError):
    """A secret that cannot sign. The message never contains the secret."""


def key_of(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise SecretError(f"a signing secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise SecretError(f"a signing secret is {SECRET_PREFIX!r} followed by base64") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise SecretError(f"a signing secret's key is {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes long")
    return key


def secrets_of(value: str) -> list[str]:
    """One or more secrets separated by whitespace (two while rotating), each checked."""
    found = value.split()
    if not found:
        raise SecretError("no signing secret given")
    if any("," in secret for secret in found):
        raise SecretError("two secrets are separated by a space, not a comma")
    for secret in found:
        key_of(secret)
    return found


def new_secret() -> str:
    """A fresh secret for an endpoint (32 random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secrets_: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header of a message: ``v1,<sig>`` for each secret."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key_of(s), signed, hashlib.sha256).digest()).decode()
        for s in secrets_
    )
