"""Twilio error codes the Rooms API answers with (reference §3.2), and their canonical messages.

The emulator produces them; the client maps them onto its exception classes. The access token codes
(201xx) are those of Twilio's error dictionary (twilio.com/docs/api/errors/20101 to 20107), which the
Video SDKs raise when a client connects with a bad token (``TwilioException``, ``TVIError``); the
emulator's simulated join answers with them (docs/emulator.md).
"""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    INVALID_PARAMETER = 20001
    AUTHENTICATE = 20003
    METHOD_NOT_ALLOWED = 20004
    ACCESS_TOKEN_INVALID = 20101
    ACCESS_TOKEN_HEADER_INVALID = 20102
    ACCESS_TOKEN_ISSUER_INVALID = 20103
    ACCESS_TOKEN_EXPIRED = 20104
    ACCESS_TOKEN_NOT_YET_VALID = 20105
    ACCESS_TOKEN_GRANTS_INVALID = 20106
    ACCESS_TOKEN_SIGNATURE_INVALID = 20107
    NOT_FOUND = 20404
    TOO_MANY_REQUESTS = 20429
    INTERNAL_ERROR = 20500
    SERVICE_UNAVAILABLE = 20503
    ROOM_NAME_INVALID = 53100
    ROOM_NAME_TOO_LONG = 53101
    ROOM_NAME_INVALID_CHARACTERS = 53102
    ROOM_CREATE_FAILED = 53103
    ROOM_TOO_MANY_PARTICIPANTS = 53105
    ROOM_NOT_FOUND = 53106
    MAX_PARTICIPANTS_OUT_OF_RANGE = 53107
    ROOM_TYPE_INVALID = 53108
    TIMEOUT_OUT_OF_RANGE = 53109
    STATUS_CALLBACK_METHOD_INVALID = 53110
    STATUS_CALLBACK_INVALID = 53111
    ROOM_STATUS_INVALID = 53112
    ROOM_EXISTS = 53113
    ROOM_COMPLETED = 53118
    ROOMS_QUOTA_EXCEEDED = 53119
    RECORDING_RULES_INVALID = 53120
    RECORDING_NOT_SUPPORTED = 53122
    AUDIO_ONLY_NOT_SUPPORTED = 53124
    TRACK_KIND_NOT_SUPPORTED = 53125
    PARTICIPANT_IDENTITY_INVALID = 53200
    PARTICIPANT_IDENTITY_TOO_LONG = 53201
    PARTICIPANT_NOT_FOUND = 53204
    PARTICIPANT_DUPLICATE_IDENTITY = 53205
    PARTICIPANTS_QUOTA_EXCEEDED = 53206
    PARTICIPANT_STATUS_INVALID = 53209
    SUBSCRIBE_RULES_INVALID = 53215
    PARTICIPANT_DURATION_EXCEEDED = 53216


MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.INVALID_PARAMETER: "Invalid parameter",
    ErrorCode.AUTHENTICATE: "Authenticate",
    ErrorCode.METHOD_NOT_ALLOWED: "Method not allowed",
    ErrorCode.ACCESS_TOKEN_INVALID: "Invalid Access Token",
    ErrorCode.ACCESS_TOKEN_HEADER_INVALID: "Invalid Access Token header",
    ErrorCode.ACCESS_TOKEN_ISSUER_INVALID: "Invalid Access Token issuer/subject",
    ErrorCode.ACCESS_TOKEN_EXPIRED: "Access Token expired or expiration date invalid",
    ErrorCode.ACCESS_TOKEN_NOT_YET_VALID: "Access Token not yet valid",
    ErrorCode.ACCESS_TOKEN_GRANTS_INVALID: "Invalid Access Token grants",
    ErrorCode.ACCESS_TOKEN_SIGNATURE_INVALID: "Invalid Access Token signature",
    ErrorCode.NOT_FOUND: "The requested resource was not found",
    ErrorCode.TOO_MANY_REQUESTS: "Too Many Requests",
    ErrorCode.INTERNAL_ERROR: "Internal server error",
    ErrorCode.SERVICE_UNAVAILABLE: "Service unavailable",
    ErrorCode.ROOM_NAME_INVALID: "Room name is invalid",
    ErrorCode.ROOM_NAME_TOO_LONG: "Room name is too long",
    ErrorCode.ROOM_NAME_INVALID_CHARACTERS: "Room name contains invalid characters",
    ErrorCode.ROOM_CREATE_FAILED: "Unable to create Room",
    ErrorCode.ROOM_TOO_MANY_PARTICIPANTS: "Room contains too many Participants",
    ErrorCode.ROOM_NOT_FOUND: "Room not found",
    ErrorCode.MAX_PARTICIPANTS_OUT_OF_RANGE: "MaxParticipants is out of range",
    ErrorCode.ROOM_TYPE_INVALID: "RoomType is not valid",
    ErrorCode.TIMEOUT_OUT_OF_RANGE: "Timeout is out of range",
    ErrorCode.STATUS_CALLBACK_METHOD_INVALID: "StatusCallbackMethod is invalid",
    ErrorCode.STATUS_CALLBACK_INVALID: "StatusCallback is invalid",
    ErrorCode.ROOM_STATUS_INVALID: "Status is invalid",
    ErrorCode.ROOM_EXISTS: "Room exists",
    ErrorCode.ROOM_COMPLETED: "Room Completed Error",
    ErrorCode.ROOMS_QUOTA_EXCEEDED: "Concurrent Rooms quota exceeded",
    ErrorCode.RECORDING_RULES_INVALID: "Invalid Recording Rule(s)",
    ErrorCode.RECORDING_NOT_SUPPORTED: "Recording operation not supported for the Room type",
    ErrorCode.AUDIO_ONLY_NOT_SUPPORTED: "AudioOnly is not supported for the Room type",
    ErrorCode.TRACK_KIND_NOT_SUPPORTED: "Track kind not supported",
    ErrorCode.PARTICIPANT_IDENTITY_INVALID: "Participant identity is invalid",
    ErrorCode.PARTICIPANT_IDENTITY_TOO_LONG: "Participant identity is too long",
    ErrorCode.PARTICIPANT_NOT_FOUND: "Participant not found",
    ErrorCode.PARTICIPANT_DUPLICATE_IDENTITY: "Participant disconnected because of duplicate identity",
    ErrorCode.PARTICIPANTS_QUOTA_EXCEEDED: "Concurrent Participants quota exceeded",
    ErrorCode.PARTICIPANT_STATUS_INVALID: "Participant status is invalid",
    ErrorCode.SUBSCRIBE_RULES_INVALID: "Invalid Subscribe Rule(s)",
    ErrorCode.PARTICIPANT_DURATION_EXCEEDED: "Participant session length exceeded",
}
