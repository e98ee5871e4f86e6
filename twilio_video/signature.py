"""``X-Twilio-Signature``: HMAC-SHA1 over the URL and the sorted POST parameters (reference §4.1).

Used by the emulator to sign status callbacks and by the gateway to verify them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence

Params = Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]


def _pairs(params: Params | None) -> list[tuple[str, str]]:
    if params is None:
        return []
    if isinstance(params, Mapping):
        pairs: list[tuple[str, str]] = []
        for name, value in params.items():
            if isinstance(value, str):
                pairs.append((name, value))
            else:
                pairs.extend((name, item) for item in value)
        return pairs
    return list(params)


def compute_signature(auth_token: str, url: str, params: Params | None = None) -> str:
    """The signature Twilio puts in ``X-Twilio-Signature`` for a request to ``url``.

    ``params`` are the POST form parameters (none for GET, whose parameters are part of the URL).
    Names are sorted by code unit; repeated names contribute each value, values sorted too, as
    twilio-python's ``RequestValidator`` does.
    """
    payload = url + "".join(name + value for name, value in sorted(_pairs(params)))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def is_valid_signature(auth_token: str, url: str, params: Params | None, signature: str) -> bool:
    """Constant-time check of a received ``X-Twilio-Signature``."""
    expected = compute_signature(auth_token, url, params)
    return hmac.compare_digest(expected, signature)
