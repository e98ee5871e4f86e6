"""Seal a secret (a calendar's secret address) so it can travel through Temporal without being readable.

A workflow's input and history are stored by Temporal and shown in its UI, and a secret must never be
there in the clear. A ``Sealed`` value is the secret encrypted and authenticated with Fernet
(``cryptography``: AES-128-CBC + HMAC-SHA256, a timestamped token) under ``ROOMKEEPER_SECRET_KEY``;
only the processes holding the key (the CLI or gateway that seals, the worker's activity that opens)
can read it.

``ROOMKEEPER_SECRET_KEY`` holds one or more Fernet keys separated by commas: the first seals, all open,
so a key can be rotated by putting the new one first. Without it, a key is generated once in
``$XDG_STATE_HOME/roomkeeper/secret.key`` (mode 0600) and shared by every process of that user on this
machine, which is what ``roomkeeper dev`` needs; production sets the variable (or the secrets
directory's ``roomkeeper_secret_key`` file) on every worker and gateway alike.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

#: What every sealed value starts with, so a sealed value is never mistaken for a plain one.
PREFIX = "sealed:v1:"


class SealingError(ValueError):
    """A key or a sealed value that cannot be used; the message never contains either."""


def local_key_file() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "roomkeeper" / "secret.key"


def keys_from(configured: str | None) -> list[bytes]:
    """The configured keys, or this machine's own key (created on first use)."""
    if configured:
        keys = [part.strip().encode() for part in configured.split(",") if part.strip()]
        for position, key in enumerate(keys, 1):
            try:
                Fernet(key)
            except ValueError:
                raise SealingError(
                    f"ROOMKEEPER_SECRET_KEY: key {position} is not a Fernet key (32 url-safe "
                    "base64-encoded bytes; make one with `roomkeeper calendar new-key`)"
                ) from None
        if keys:
            return keys
    try:
        return [_local_key()]
    except OSError as error:  # no key set, and none can be kept here (a read-only file system?)
        raise SealingError(
            f"ROOMKEEPER_SECRET_KEY is not set and no key can be kept in {local_key_file()} "
            f"({error.strerror or type(error).__name__}): set ROOMKEEPER_SECRET_KEY"
        ) from None


def _local_key() -> bytes:
    path = local_key_file()
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Fernet.generate_key()
    # The key is written whole under a name of its own, then linked into place: two
    # processes starting at once agree on whichever key was linked first, and neither ever reads the
    # other's file before its key is in it (an O_EXCL create then write left a moment when it was empty).
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    draft = Path(name)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key + b"\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        return path.read_bytes().strip()
    finally:
        draft.unlink()
    return key


class Sealer:
    """Seals with the first key, opens with any."""

    def __init__(self, keys: list[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    @classmethod
    def from_setting(cls, configured: str | None) -> Sealer:
        return cls(keys_from(configured))

    def seal(self, secret: str) -> str:
        return PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        if not is_sealed(sealed):
            raise SealingError("the value is not sealed")
        try:
            return self._fernet.decrypt(sealed[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SealingError(
                "the value was sealed with another ROOMKEEPER_SECRET_KEY (every worker and gateway must "
                "share the key; after a rotation keep the old key listed after the new one)"
            ) from None


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)
