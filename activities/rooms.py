"""One activity per Twilio Video REST operation, as methods of a class that holds the client.

The worker and the tests build ``RoomActivities`` the same way (a client and the public URL), so what
is tested is what runs. Each activity is idempotent: a retry after a lost response, or a request for a
state that already holds (completing a completed room, disconnecting someone who left), succeeds.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import translate_twilio_errors
from activities.policy import deployment_queue
from common.metrics import (
    PARTICIPANTS_EVICTED,
    ROOM_END_LAG,
    ROOM_OPEN_LEAD,
    ROOMS_COMPLETED,
    ROOMS_CREATED,
    ROOMS_RECREATED,
)
from common.status_callback import owner_of, status_callback_url
from twilio_video.client import VideoClient
from twilio_video.errors import NotFound, RoomExists, RoomNotInProgress
from twilio_video.models import HttpMethod, Participant, ParticipantStatus, Room, RoomStatus
from twilio_video.params import CreateRoomParams
from twilio_video.sids import is_sid


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True)


class CreateRoomRequest(_Message):
    #: The workflow that owns the room: status callbacks are routed to it, and it may adopt the room.
    workflow_id: str
    #: Room options; ``status_callback`` is set by the activity from ``workflow_id``.
    params: CreateRoomParams
    #: The meeting's scheduled start, for its first room only: the open lead (ready minus start) is
    #: recorded when the room is created. None: a replacement room, counted as recreated.
    scheduled_start: AwareDatetime | None = None


class CreatedRoom(_Message):
    room: Room
    #: True when a retry found the room an earlier attempt had created and took it over.
    adopted: bool


class RoomRef(_Message):
    room_sid: str


class CompleteRoomRequest(_Message):
    room_sid: str
    #: Why roomkeeper completes the room (``schedule``, ``end_now``, ``cancelled``), for the metrics.
    ended_by: str | None = None
    #: The meeting's scheduled end, when it ends on schedule: the end lag is recorded on completion.
    scheduled_end: AwareDatetime | None = None


class ParticipantRef(_Message):
    room_sid: str
    #: Participant SID (any status) or identity (connected only).
    participant: str
    #: Why roomkeeper disconnects them (e.g. ``max_participant_duration``): counted as an eviction.
    reason: str | None = None


class ListParticipantsRequest(_Message):
    room_sid: str
    status: ParticipantStatus | None = None


def temporal_now(attempt_began: float) -> datetime:
    """Now on the Temporal server's clock, the one a meeting's times are kept by: this attempt's start
    (the server's timestamp) plus what the attempt has taken since ``attempt_began`` (monotonic). Under
    the tests' time skipping it is the workflow's virtual clock, where the wall clock would be hours off."""
    return activity.info().started_time + timedelta(seconds=time.monotonic() - attempt_began)


class RoomActivities:
    def __init__(self, client: VideoClient, public_url: str) -> None:
        self._client = client
        self._public_url = public_url

    @activity.defn(name="CreateRoom")
    @translate_twilio_errors
    async def create_room(self, request: CreateRoomRequest) -> CreatedRoom:
        """Create the meeting's room, or adopt the one an earlier attempt of ours already created."""
        began = time.monotonic()
        params = request.params.model_copy(
            update={
                "status_callback": status_callback_url(self._public_url, request.workflow_id),
                "status_callback_method": HttpMethod.POST,
            }
        )
        try:
            return self._opened(
                request, CreatedRoom(room=await self._client.create_room(params), adopted=False), began
            )
        except RoomExists:
            if params.unique_name is None:
                raise
        try:
            existing = await self._client.fetch_room(params.unique_name)
        except NotFound:
            # The holder completed between our create and our fetch: the name is free, go again.
            raise ApplicationError(
                f"CreateRoom {params.unique_name}: the name was freed between attempts; retrying",
                type="RoomNameRace",
            ) from None
        if owner_of(existing.status_callback) == request.workflow_id:
            activity.logger.debug(  # the workflow logs the adoption (step room_adopted)
                "adopting room %s (%s) created by an earlier attempt", existing.sid, existing.unique_name
            )
            return self._opened(request, CreatedRoom(room=existing, adopted=True), began)
        raise ApplicationError(
            f"CreateRoom {params.unique_name}: the name is held by in-progress room {existing.sid}, which "
            f"workflow {request.workflow_id!r} did not create "
            f"(its StatusCallback is {existing.status_callback!r})",
            {"room_sid": existing.sid, "unique_name": existing.unique_name},
            type="RoomNameTaken",
            non_retryable=True,
        )

    @staticmethod
    def _opened(request: CreateRoomRequest, created: CreatedRoom, began: float) -> CreatedRoom:
        task_queue = deployment_queue(activity.info().task_queue)
        ROOMS_CREATED.labels(task_queue, str(created.adopted).lower()).inc()
        if request.scheduled_start is not None:
            ROOM_OPEN_LEAD.labels(task_queue).observe(
                (temporal_now(began) - request.scheduled_start).total_seconds()
            )
        else:  # only a meeting's first room carries its start: this one replaces a room that ended
            ROOMS_RECREATED.labels(task_queue).inc()
        return created

    @activity.defn(name="FetchRoom")
    @translate_twilio_errors
    async def fetch_room(self, ref: RoomRef) -> Room:
        return await self._client.fetch_room(ref.room_sid)

    @activity.defn(name="CompleteRoom")
    @translate_twilio_errors
    async def complete_room(self, request: CompleteRoomRequest) -> Room:
        """End the room now; a room that has already ended counts as done (and is not counted)."""
        began = time.monotonic()
        try:
            room = await self._client.complete_room(request.room_sid)
        except RoomNotInProgress:
            room = await self._client.fetch_room(request.room_sid)
            if room.status is RoomStatus.IN_PROGRESS:
                raise
            return room
        task_queue = deployment_queue(activity.info().task_queue)
        ROOMS_COMPLETED.labels(task_queue, request.ended_by or "unknown").inc()
        if request.scheduled_end is not None:
            ROOM_END_LAG.labels(task_queue).observe(
                (temporal_now(began) - request.scheduled_end).total_seconds()
            )
        return room

    @activity.defn(name="ListParticipants")
    @translate_twilio_errors
    async def list_participants(self, request: ListParticipantsRequest) -> list[Participant]:
        return [p async for p in self._client.list_participants(request.room_sid, status=request.status)]

    @activity.defn(name="FetchParticipant")
    @translate_twilio_errors
    async def fetch_participant(self, ref: ParticipantRef) -> Participant:
        return await self._client.fetch_participant(ref.room_sid, ref.participant)

    @activity.defn(name="DisconnectParticipant")
    @translate_twilio_errors
    async def disconnect_participant(self, ref: ParticipantRef) -> Participant | None:
        """Disconnect a participant; one who already left counts as done (None if Twilio forgot them)."""
        try:
            participant = await self._client.disconnect_participant(ref.room_sid, ref.participant)
        except NotFound:
            if not is_sid(ref.participant, "PA"):
                return None  # identities only match connected participants: this one has left
            try:
                participant = await self._client.fetch_participant(ref.room_sid, ref.participant)
            except NotFound:
                return None
            if participant.status is ParticipantStatus.CONNECTED:
                raise
            return participant
        if ref.reason is not None:
            PARTICIPANTS_EVICTED.labels(deployment_queue(activity.info().task_queue), ref.reason).inc()
        return participant
