"""Custom search attributes the Temporal UI filters meetings by, and how to quote a value in a visibility
query. Registered by ``roomkeeper dev``, the test fixture and ``deploy/`` (``temporal operator
search-attribute create``)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

MEETING_STATUS = SearchAttributeKey.for_keyword("MeetingStatus")
ROOM_SID = SearchAttributeKey.for_keyword("RoomSid")
MEETING_START = SearchAttributeKey.for_datetime("MeetingStart")
MEETING_END = SearchAttributeKey.for_datetime("MeetingEnd")

ALL = (MEETING_STATUS, ROOM_SID, MEETING_START, MEETING_END)


#: Characters Temporal's SQL visibility store escapes a second time before it compares (measured on the
#: dev server, SQLite: a task queue holding one is never matched by ``TaskQueue='...'``, however quoted).
_UNMATCHABLE = frozenset('\\"\b\n\r\t')


def quoted(value: str) -> str:
    """``value`` as a string literal of Temporal's visibility query language (``'`` doubled).

    Raises ``ValueError`` for a value no literal can match (a backslash, a double quote, a control
    character): a query that silently counts nothing would be worse than none.
    """
    bad = sorted(_UNMATCHABLE & set(value))
    if bad:
        raise ValueError(f"{value!r} cannot be matched in a Temporal visibility query (it contains {bad})")
    return "'" + value.replace("'", "''") + "'"
