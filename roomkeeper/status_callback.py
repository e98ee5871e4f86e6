"""Where Twilio sends a meeting's status callbacks: ``{public_url}/twilio/status/{meeting_id}``.

The meeting id in the path routes each callback to its workflow, and tells a room this meeting created
from one someone else did (see ``activities.rooms.RoomActivities.create_room``).
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

PATH_PREFIX = "/twilio/status/"


def status_callback_url(public_url: str, meeting_id: str) -> str:
    return f"{public_url.rstrip('/')}{PATH_PREFIX}{quote(meeting_id, safe='')}"


def meeting_id_of(callback_url: str | None) -> str | None:
    """The meeting id a StatusCallback URL names, or None if it is not one of ours."""
    if not callback_url:
        return None
    path = urlsplit(callback_url).path
    index = path.rfind(PATH_PREFIX)
    if index < 0:
        return None
    tail = path[index + len(PATH_PREFIX) :]
    return unquote(tail) if tail and "/" not in tail else None
