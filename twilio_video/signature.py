"""``X-Twilio-Signature``: HMAC-SHA1 over the URL and the sorted POST parameters (reference §4.1).

Used by the emulator to sign status callbacks and by the gateway to verify them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

Params = Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]

#: The port a URL means when it names none; Twilio may sign the URL with or without it.
DEFAULT_PORTS: Mapping[str, int] = {"http": 80, "https": 443}


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


def _sign(auth_token: str, url: str, pairs: Iterable[tuple[str, str]]) -> bytes:
    payload = url + "".join(name + value for name, value in sorted(pairs))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest)


def compute_signature(auth_token: str, url: str, params: Params | None = None) -> str:
    """The signature Twilio puts in ``X-Twilio-Signature`` for a request to ``url``.

    ``params`` are the POST form parameters (none for GET, whose parameters are part of the URL).
    Names are sorted by code unit; repeated names contribute each value, values sorted too. (For
    repeated *identical* pairs twilio-python's ``RequestValidator`` counts the pair once;
    ``is_valid_signature`` accepts both readings.)
    """
    return _sign(auth_token, url, _pairs(params)).decode("ascii")


def default_port_forms(url: str) -> list[str]:
    """``url`` as given, then the same URL with its default port added or removed, if that differs.

    ``https://h/x`` gives ``[https://h/x, https://h:443/x]`` and the reverse for ``https://h:443/x``;
    other ports and schemes give only ``url``. Only the authority is touched, so every other byte of the
    URL (percent-escapes, query) is exactly what Twilio signed.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # an unparseable port: nothing to add or remove
        return [url]
    default = DEFAULT_PORTS.get(parts.scheme.lower())
    netloc = parts.netloc
    start = url.find("//") + 2
    if default is None or not netloc or url[start : start + len(netloc)] != netloc:
        return [url]
    if port is None:
        if netloc.endswith(":"):  # "host:" names no port; leave such oddities alone
            return [url]
        other = f"{netloc}:{default}"
    elif port == default:
        other = netloc[: netloc.rfind(":")]
    else:
        return [url]
    return [url, url[:start] + other + url[start + len(netloc) :]]


def is_valid_signature(auth_token: str, url: str, params: Params | None, signature: str) -> bool:
    """Whether ``signature`` is Twilio's for this request, checked as twilio-python's validator does.

    Accepted: the URL with or without its default port (``:443``/``:80``), since Twilio signs whichever
    form it was given; and, for repeated identical parameters, each pair counted once or every time.
    Unlike that validator, a non-default port is never stripped: a signature for ``https://h/x`` does
    not authorise ``https://h:8443/x``. Never raises: a signature that is not ASCII is simply wrong.
    """
    if not signature or not signature.isascii():
        return False
    received = signature.encode("ascii")
    pairs = _pairs(params)
    forms = [pairs]
    unique = sorted(set(pairs))
    if len(unique) != len(pairs):
        forms.append(unique)
    # Every candidate is computed and compared, so the time taken does not depend on which one matched.
    matches = [
        hmac.compare_digest(_sign(auth_token, candidate, form), received)
        for candidate in default_port_forms(url)
        for form in forms
    ]
    return any(matches)
