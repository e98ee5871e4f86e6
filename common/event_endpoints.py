"""Where lifecycle events may go, and the secrets that sign them: the deployment's receivers.

A meeting names its receiver (``events.url``) or takes the deployment's (``ROOMKEEPER_EVENTS_URL``).
Events are only ever sent to a receiver the deployment holds a signing secret for:

- ``ROOMKEEPER_EVENTS_SECRET`` signs for ``ROOMKEEPER_EVENTS_URL`` and for every URL on its origin
  (same scheme, host and port), so an application can take each meeting's events on a path of its own;
- ``ROOMKEEPER_EVENTS_ENDPOINTS`` names a JSON file of further receivers, ``{"<URL prefix>": "<secret>"}``,
  for applications elsewhere; a prefix covers URLs under it (``https://a.example/hooks/`` covers
  ``https://a.example/hooks/standup``), the longest matching prefix wins.

So whoever can schedule a meeting cannot make the worker post signed events to an address of their
choosing (where they could be captured and replayed to the real receiver): an unknown receiver gets
nothing, and the meeting's status says why. A value may hold two secrets separated by a space while one
is rotated: each message is then signed with both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from common.standard_webhooks import SecretError, secrets_of

#: The longest receiver URL a meeting may name.
MAX_URL_LENGTH = 2000


def check_http_url(value: str) -> str:
    """``value`` if it is an absolute http(s) URL with a host; ``ValueError`` saying so if not."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError("must be an http:// or https:// URL with a host (and a numeric port)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


def shown(url: str) -> str:
    """``url`` fit for logs and status: scheme, host, port and path; no user info, no query (either may
    hold a token)."""
    parts = urlsplit(url)
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return f"{parts.scheme}://{host}{parts.path}" + ("?…" if parts.query else "")


def _origin(parts: SplitResult) -> tuple[str, str, int]:
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


def _covers(prefix: str, url: str) -> bool:
    """Whether ``prefix`` covers ``url``: the same origin, and the path at or under the prefix's path."""
    want, have = urlsplit(prefix), urlsplit(url)
    if _origin(want) != _origin(have) or have.username or have.password:
        return False
    base, path = want.path or "/", have.path or "/"
    if base.endswith("/"):
        return path.startswith(base)
    return path == base or path.startswith(base + "/")


class EndpointsError(ValueError):
    """A receivers file that cannot be used: one line per problem, never a secret."""


@dataclass(frozen=True)
class Route:
    """Where a meeting's events go: ``url``, or nowhere and ``why``."""

    url: str | None
    why: str | None = None


@dataclass(frozen=True)
class EventEndpoints:
    """The deployment's receivers: the default one and the listed ones, each with its secrets."""

    default_url: str | None = None
    default_secrets: tuple[str, ...] = ()
    listed: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, default_url: str | None, default_secret: str | None, file: Path | None) -> EventEndpoints:
        """From the settings' values; ``EndpointsError`` naming the variable and the problem."""
        problems: list[str] = []
        defaults: tuple[str, ...] = ()
        if (default_url is None) != (default_secret is None):
            problems.append("ROOMKEEPER_EVENTS_URL and ROOMKEEPER_EVENTS_SECRET must be set together")
        if default_secret is not None:
            try:
                defaults = tuple(secrets_of(default_secret))
            except SecretError as error:
                problems.append(f"ROOMKEEPER_EVENTS_SECRET: {error}")
        listed = _read_listed(file, problems) if file is not None else {}
        if problems:
            raise EndpointsError("; ".join(problems))
        return cls(default_url if default_secret else None, defaults, listed)

    def route(self, url: str | None, *, enabled: bool = True) -> Route:
        """Where a meeting asking for ``url`` (None: the default) sends its events."""
        if not enabled:
            return Route(None, "this meeting's events are turned off (events.enabled is false)")
        if url is None:
            # Nothing asked, nothing configured: the quiet default, not a problem to explain.
            return Route(self.default_url)
        if self.secrets_for(url) is None:
            return Route(
                None,
                f"no signing secret for {shown(url)}: the deployment sends events only to "
                "ROOMKEEPER_EVENTS_URL's origin and the receivers in ROOMKEEPER_EVENTS_ENDPOINTS",
            )
        return Route(url)

    def secrets_for(self, url: str) -> tuple[str, ...] | None:
        """The secrets that sign messages to ``url``, or None if the deployment has none for it."""
        matches = [prefix for prefix in self.listed if _covers(prefix, url)]
        if matches:
            return self.listed[max(matches, key=len)]
        parts = urlsplit(url)
        if (
            self.default_url is not None
            and _origin(urlsplit(self.default_url)) == _origin(parts)
            and not (parts.username or parts.password)
        ):
            return self.default_secrets
        return None


def _read_listed(file: Path, problems: list[str]) -> dict[str, tuple[str, ...]]:
    where = "ROOMKEEPER_EVENTS_ENDPOINTS"
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        problems.append(f"{where}: cannot read {file}: {error.strerror or type(error).__name__}")
        return {}
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        problems.append(f"{where}: {file} is not JSON: {error}")
        return {}
    if not isinstance(data, dict):
        problems.append(f'{where}: {file} must hold an object {{"<URL prefix>": "<whsec_ secret>", ...}}')
        return {}
    listed: dict[str, tuple[str, ...]] = {}
    for prefix, secret in data.items():
        try:
            check_http_url(prefix)
        except ValueError as error:
            problems.append(f"{where}: key {prefix!r} {error}")
            continue
        if not isinstance(secret, str):
            problems.append(f"{where}: the value for {shown(prefix)} must be a string of whsec_ secrets")
            continue
        try:
            listed[prefix] = tuple(secrets_of(secret))
        except SecretError as error:
            problems.append(f"{where}: the secret for {shown(prefix)}: {error}")
    return listed
