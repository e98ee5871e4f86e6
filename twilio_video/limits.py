"""Twilio Video's documented limits and defaults, each stated once.

Sources are in ``shared/reference/twilio-video-rooms.md`` (§1.2, §1.6, §6). Where the sources disagree
(§9 there) the choice made here is noted beside the constant.
"""

from __future__ import annotations

from typing import Final

from twilio_video.models import RoomType, TrackKind, VideoCodec

API_PREFIX: Final = "/v1"
PRODUCTION_BASE_URL: Final = "https://video.twilio.com"

MAX_UNIQUE_NAME_LENGTH: Final = 128
MAX_IDENTITY_LENGTH: Final = 128
#: A StatusCallback must be shorter than this (error 53111 otherwise).
STATUS_CALLBACK_MAX_LENGTH: Final = 1024

#: UnusedRoomTimeout and EmptyRoomTimeout, whole minutes.
ROOM_TIMEOUT_MIN_MINUTES: Final = 1
ROOM_TIMEOUT_MAX_MINUTES: Final = 60
DEFAULT_ROOM_TIMEOUT_MINUTES: Final = 5

#: MaxParticipantDuration in seconds: range from error 53216, default from the docs' text (the spec's
#: examples show 86400; the text and the docs say 14400).
MIN_PARTICIPANT_DURATION_SECONDS: Final = 600
MAX_PARTICIPANT_DURATION_SECONDS: Final = 86_400
DEFAULT_PARTICIPANT_DURATION_SECONDS: Final = 14_400

#: An access token may be valid for at most 24 hours: Twilio refuses one whose expiry is further ahead
#: (error 20104, "expiration times can be set up to 24 hours in the future").
MAX_ACCESS_TOKEN_LIFETIME_SECONDS: Final = 86_400

#: A REST-created room lives at most 24 h from creation.
MAX_ROOM_LIFETIME_SECONDS: Final = 86_400

#: The pre-2024 spec default; the HEAD spec calls the other types deprecated.
DEFAULT_ROOM_TYPE: Final = RoomType.GROUP
MAX_PARTICIPANTS_BY_TYPE: Final[dict[RoomType, int]] = {
    RoomType.GROUP: 50,
    RoomType.PEER_TO_PEER: 10,
    RoomType.GROUP_SMALL: 4,
    RoomType.GO: 2,
}
MAX_CONCURRENT_PUBLISHED_TRACKS_BY_TYPE: Final[dict[RoomType, int]] = {
    RoomType.GROUP: 170,
    RoomType.PEER_TO_PEER: 0,
    RoomType.GROUP_SMALL: 16,
    RoomType.GO: 0,
}
DEFAULT_VIDEO_CODECS: Final = (VideoCodec.VP8,)
DEFAULT_MEDIA_REGION: Final = "us1"
#: Region codes Twilio documents for media (the Insights spec's enum).
MEDIA_REGIONS: Final = frozenset({"us1", "us2", "au1", "br1", "ie1", "jp1", "sg1", "in1", "de1", "gll"})

#: Room types whose media goes through Twilio's media servers: only these can be recorded or
#: transcribed (peer-to-peer and Go rooms carry media between the clients; recording them is 53122).
MEDIA_SERVER_ROOM_TYPES: Final = (RoomType.GROUP, RoomType.GROUP_SMALL)

#: Recording rules and subscribe rules: 1 to 20 rules, each ``include`` or ``exclude`` with its
#: filters (reference §2.3, §2.4). A recording rule's ``kind`` is audio or video; a subscribe rule's
#: may also be data.
MAX_TRACK_RULES: Final = 20
RECORDING_RULE_KINDS: Final = (TrackKind.AUDIO, TrackKind.VIDEO)
SUBSCRIBE_RULE_KINDS: Final = (TrackKind.AUDIO, TrackKind.VIDEO, TrackKind.DATA)
#: A published track's name: at most 128 characters, unique among its participant's tracks.
MAX_TRACK_NAME_LENGTH: Final = 128

DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 1000

#: Per-account REST quotas.
READS_PER_SECOND: Final = 80
WRITES_PER_SECOND: Final = 20
MAX_CONCURRENT_ROOMS: Final = 10_000
MAX_CONCURRENT_PARTICIPANTS: Final = 10_000
