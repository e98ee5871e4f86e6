"""The Video v1 Rooms operations, named by their ids in Twilio's OpenAPI file.

One vocabulary for everything that names a request: the client's errors and metrics, the emulator's
routes, request log and fault plans, and the retry metric of the activities (whose own names, such
as ``CompleteRoom``, are Temporal contract names and stay as they are).
"""

from __future__ import annotations

from enum import StrEnum


class Operation(StrEnum):
    """A Rooms or Participants operation (or one of their sub-resources'), by its OpenAPI ``operationId``.

    The first seven are the ones roomkeeper's client calls; the rest are served by the emulator.
    """

    CREATE_ROOM = "CreateRoom"
    FETCH_ROOM = "FetchRoom"
    UPDATE_ROOM = "UpdateRoom"
    LIST_ROOM = "ListRoom"
    LIST_ROOM_PARTICIPANT = "ListRoomParticipant"
    FETCH_ROOM_PARTICIPANT = "FetchRoomParticipant"
    UPDATE_ROOM_PARTICIPANT = "UpdateRoomParticipant"
    UPDATE_ROOM_PARTICIPANT_ANONYMIZE = "UpdateRoomParticipantAnonymize"
    LIST_ROOM_PARTICIPANT_PUBLISHED_TRACK = "ListRoomParticipantPublishedTrack"
    FETCH_ROOM_PARTICIPANT_PUBLISHED_TRACK = "FetchRoomParticipantPublishedTrack"
    LIST_ROOM_PARTICIPANT_SUBSCRIBED_TRACK = "ListRoomParticipantSubscribedTrack"
    FETCH_ROOM_PARTICIPANT_SUBSCRIBED_TRACK = "FetchRoomParticipantSubscribedTrack"
    FETCH_ROOM_PARTICIPANT_SUBSCRIBE_RULE = "FetchRoomParticipantSubscribeRule"
    UPDATE_ROOM_PARTICIPANT_SUBSCRIBE_RULE = "UpdateRoomParticipantSubscribeRule"
    FETCH_ROOM_RECORDING_RULE = "FetchRoomRecordingRule"
    UPDATE_ROOM_RECORDING_RULE = "UpdateRoomRecordingRule"
    LIST_ROOM_RECORDING = "ListRoomRecording"
    FETCH_ROOM_RECORDING = "FetchRoomRecording"
    DELETE_ROOM_RECORDING = "DeleteRoomRecording"
    LIST_ROOM_TRANSCRIPTIONS = "ListRoomTranscriptions"
    CREATE_ROOM_TRANSCRIPTIONS = "CreateRoomTranscriptions"
    FETCH_ROOM_TRANSCRIPTIONS = "FetchRoomTranscriptions"
    UPDATE_ROOM_TRANSCRIPTIONS = "UpdateRoomTranscriptions"
