"""Where Twilio sends a room's status callbacks: ``{public_url}/twilio/status/{workflow_id}``.

The id of the workflow that owns the room is in the path, so the gateway can signal that workflow
directly (it may have been started from the Temporal CLI with any id), and ``CreateRoom`` can tell a
room this workflow created from one someone else did.

The id is one path segment, percent-encoded with nothing left unescaped but RFC 3986's unreserved
characters, so any id ("/", "%", "?", spaces, non-ASCII) survives the trip. The gateway reads it back
from the raw, still-encoded path with ``workflow_id_in_path``: the decoded path has lost the difference
between ``a%2Fb`` and ``a/b``.
"""

from __future__ import annotations

from urllib.parse import quote, unquote_to_bytes, urlsplit

PATH_PREFIX = "/twilio/status/"

#: Path segments that URL normalisation (RFC 3986 §5.2.4, as httpx and other clients do) would remove.
_DOT_SEGMENTS = {".": "%2E", "..": "%2E%2E"}


class BadCallbackPath(ValueError):
    """The path does not name a workflow the way ``status_callback_url`` does; the message says why."""


def encode_workflow_id(workflow_id: str) -> str:
    """``workflow_id`` as one path segment. Raises ``ValueError`` for ids no workflow can have."""
    if not workflow_id:
        raise ValueError("a workflow id is never empty")
    try:
        segment = quote(workflow_id, safe="")
    except UnicodeEncodeError:
        raise ValueError(f"workflow id {workflow_id!r} is not valid Unicode text") from None
    # "." and ".." are unreserved, so quote leaves them; a client would then drop the segment.
    return _DOT_SEGMENTS.get(segment, segment)


def status_callback_url(public_url: str, workflow_id: str) -> str:
    """The ``StatusCallback`` URL that routes a room's callbacks to ``workflow_id``."""
    return f"{public_url.rstrip('/')}{PATH_PREFIX}{encode_workflow_id(workflow_id)}"


def workflow_id_in_path(path: str) -> str:
    """The workflow id a raw (still percent-encoded) path ending in ``/twilio/status/{id}`` names.

    Raises ``BadCallbackPath`` when the path names none: no prefix, an empty id, a literal "/" in the
    id (``status_callback_url`` always encodes it), or escapes that are not UTF-8.
    """
    index = path.rfind(PATH_PREFIX)
    if index < 0:
        raise BadCallbackPath(f"the path does not contain {PATH_PREFIX}")
    tail = path[index + len(PATH_PREFIX) :]
    if not tail:
        raise BadCallbackPath(f"the path has no workflow id after {PATH_PREFIX}")
    if "/" in tail:
        raise BadCallbackPath("the workflow id contains a literal '/' (ours are always encoded as %2F)")
    try:
        # Strict decoding: urllib's unquote would turn bad escapes into U+FFFD, naming another id.
        return unquote_to_bytes(tail).decode("utf-8")
    except UnicodeDecodeError:
        raise BadCallbackPath("the workflow id's percent-escapes are not UTF-8") from None


def owner_of(callback_url: str | None) -> str | None:
    """The workflow id a StatusCallback URL names, or None if it is not one of ours."""
    if not callback_url:
        return None
    try:
        return workflow_id_in_path(urlsplit(callback_url).path)
    except ValueError:
        return None
