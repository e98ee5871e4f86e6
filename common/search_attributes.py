"""Custom search attributes the Temporal UI filters meetings by; registered by ``roomkeeper dev``,
the test fixture and ``deploy/`` (``temporal operator search-attribute create``)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

MEETING_STATUS = SearchAttributeKey.for_keyword("MeetingStatus")
ROOM_SID = SearchAttributeKey.for_keyword("RoomSid")
MEETING_START = SearchAttributeKey.for_datetime("MeetingStart")
MEETING_END = SearchAttributeKey.for_datetime("MeetingEnd")

ALL = (MEETING_STATUS, ROOM_SID, MEETING_START, MEETING_END)

#: ``--search-attribute`` flags for ``temporal server start-dev``.
DEV_SERVER_FLAGS = [
    flag
    for key in ALL
    for flag in (
        "--search-attribute",
        f"{key.name}={'Keyword' if key in (MEETING_STATUS, ROOM_SID) else 'Datetime'}",
    )
]
