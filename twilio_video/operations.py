"""The Video v1 operations roomkeeper uses, named by their ids in Twilio's OpenAPI file.

One vocabulary for everything that names a request: the client's errors and metrics, the emulator's
routes, request log and fault plans, and the retry metric of the activities (whose own names, such
as ``CompleteRoom``, are Temporal contract names and stay as they are).
"""

from __future__ import annotations

from enum import StrEnum


class Operation(StrEnum):
    """A Rooms or Participants operation, by its OpenAPI ``operationId``."""

    CREATE_ROOM = "CreateRoom"
    FETCH_ROOM = "FetchRoom"
    UPDATE_ROOM = "UpdateRoom"
    LIST_ROOM = "ListRoom"
    LIST_ROOM_PARTICIPANT = "ListRoomParticipant"
    FETCH_ROOM_PARTICIPANT = "FetchRoomParticipant"
    UPDATE_ROOM_PARTICIPANT = "UpdateRoomParticipant"
