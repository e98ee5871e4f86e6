"""Where Twilio sends a room's status callbacks: ``{public_url}/twilio/status/{workflow_id}``.

The id of the workflow that owns the room is in the path, so the gateway can signal that workflow
directly (it may have been started from the Temporal CLI with any id), and ``CreateRoom`` can tell a
room this workflow created from one someone else did.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

PATH_PREFIX = "/twilio/status/"


def status_callback_url(public_url: str, workflow_id: str) -> str:
    return f"{public_url.rstrip('/')}{PATH_PREFIX}{quote(workflow_id, safe='')}"


def owner_of(callback_url: str | None) -> str | None:
    """The workflow id a StatusCallback URL names, or None if it is not one of ours."""
    if not callback_url:
        return None
    path = urlsplit(callback_url).path
    index = path.rfind(PATH_PREFIX)
    if index < 0:
        return None
    tail = path[index + len(PATH_PREFIX) :]
    return unquote(tail) if tail and "/" not in tail else None
