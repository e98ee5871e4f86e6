"""CalendarFeedWorkflow's messages: the feed, what a sync found and did, and the changes it asks for.

A feed is one long-running workflow, ``calendar-<name>``. Its input (``CalendarFeed``) is what
``roomkeeper calendar add`` was told; the address of a feed fetched over HTTP is sealed
(``common.sealing``), because calendar addresses are often secret.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, RootModel, StringConstraints

from calendar_feeds.models import FeedOptions, Occurrence, Skipped, Validators
from workflows.meeting_input import FrozenModel, MeetingSpec, RoomEndsEarly, RoomSpec

#: ``calendar-<name>`` is a feed's workflow id.
FEED_WORKFLOW_PREFIX = "calendar-"
#: The changes one ``ApplyMeetingChanges`` activity makes: small enough for one history event each.
CHANGES_PER_BATCH = 50
#: How far back a sync looks, so a meeting under way is still seen (and can be cancelled or moved).
LOOKBACK = timedelta(days=1)

#: Names the gateway's ``/calendars/<name>`` routes use for something else.
RESERVED_FEED_NAMES = frozenset({"calcom"})


def _not_reserved(name: str) -> str:
    if name in RESERVED_FEED_NAMES:
        raise ValueError(f"{name!r} is reserved (the gateway's /calendars/{name} is another door)")
    return name


FeedName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$"),
    AfterValidator(_not_reserved),
]


def feed_workflow_id(name: str) -> str:
    return FEED_WORKFLOW_PREFIX + name


def meeting_id_for(feed: str, occurrence: Occurrence) -> str:
    """The meeting of one occurrence: the same (feed, UID, RECURRENCE-ID) always gives the same id, so a
    sync run twice can never start a second meeting for it."""
    uid = hashlib.sha256(occurrence.uid.encode()).hexdigest()[:12]
    if occurrence.recurrence_id is None:
        return f"cal-{feed}-{uid}"
    instance = datetime.fromisoformat(occurrence.recurrence_id).strftime("%Y%m%dT%H%MZ")
    return f"cal-{feed}-{uid}-{instance}"


class MeetingTemplate(FrozenModel):
    """What every meeting of a feed gets besides its times and title (the meeting input's defaults)."""

    open_before_seconds: int = Field(120, ge=0, le=86_400, description="As in the meeting input.")
    room: RoomSpec = Field(default_factory=RoomSpec, description="The rooms' options.")
    if_room_ends_early: RoomEndsEarly = Field(RoomEndsEarly.RECREATE, description="As in the meeting input.")

    def spec(self, meeting_id: str, occurrence: Occurrence, feed: str) -> MeetingSpec:
        """The meeting input for ``occurrence``; raises ``pydantic.ValidationError`` if it breaks a rule."""
        return MeetingSpec.model_validate(
            {
                "meeting_id": meeting_id,
                "title": occurrence.title or f"{feed} meeting",
                "start_time": occurrence.start,
                "end_time": occurrence.end,
                "open_before_seconds": self.open_before_seconds,
                "room": self.room.model_dump(exclude_defaults=True),
                "if_room_ends_early": self.if_room_ends_early,
            }
        )


class CalendarFeed(FrozenModel):
    """The workflow input: one feed."""

    name: FeedName = Field(description="The feed's name: 1-40 lower-case letters, digits and `-`.")
    source: str = Field(
        description="A sealed http(s) address (`sealed:v1:…`), or a local path / `file://` URL."
    )
    source_shown: str = Field(description="The address with its secret parts cut out, for display.")
    every: timedelta = Field(
        timedelta(minutes=5),
        ge=timedelta(minutes=1),
        le=timedelta(days=1),
        description="How often the feed is fetched.",
    )
    options: FeedOptions = Field(default_factory=FeedOptions, description="How events become meetings.")
    template: MeetingTemplate = Field(default_factory=MeetingTemplate, description="The meetings' options.")


class KnownMeeting(BaseModel):
    """An occurrence the feed has started a meeting for, as the feed last described it."""

    meeting_id: str
    start: AwareDatetime
    end: AwareDatetime
    title: str
    cancelled: bool = False


class SyncOutcome(StrEnum):
    #: The feed was fetched and reconciled (changes or not).
    SYNCED = "synced"
    #: The feed had not changed since the last sync: nothing was parsed or sent.
    UNCHANGED = "unchanged"
    #: The feed could not be fetched or used: nothing was changed.
    FAILED = "failed"


class SyncReport(BaseModel):
    """What one sync found and did."""

    at: AwareDatetime = Field(description="When the sync ran (workflow time).")
    outcome: SyncOutcome
    message: str | None = Field(None, description="Why it failed, or the changes that were refused.")
    started: int = 0
    moved: int = 0
    cancelled: int = 0
    unchanged: int = 0
    refused: int = Field(0, description="Changes the meeting (or Temporal) refused; see `message`.")
    skipped: list[Skipped] = Field(default_factory=list, description="Events not turned into meetings.")


class FeedState(BaseModel):
    validators: Validators = Field(default_factory=Validators)
    #: Per occurrence key (``uid`` + U+001F + recurrence id): the meeting started for it.
    known: dict[str, KnownMeeting] = Field(default_factory=dict)
    last: SyncReport | None = None
    last_success_at: AwareDatetime | None = None
    failing_since: AwareDatetime | None = None


class ContinuedFeed(BaseModel):
    continued: Literal[True] = True
    feed: CalendarFeed
    state: FeedState


class FeedInput(RootModel[ContinuedFeed | CalendarFeed]):
    """A new feed, or one carried over by continue-as-new."""


class UpcomingMeeting(BaseModel):
    meeting_id: str
    start: AwareDatetime
    end: AwareDatetime
    title: str
    cancelled: bool


class FeedStatus(BaseModel):
    """The `status` query."""

    name: str
    source: str = Field(description="The address, secret parts cut out.")
    every: timedelta
    horizon: timedelta
    removed: bool = False
    last: SyncReport | None
    last_success_at: AwareDatetime | None
    failing_since: AwareDatetime | None
    next_sync_at: AwareDatetime | None
    meetings_ahead: int = Field(description="Meetings not yet ended that the feed started.")
    upcoming: list[UpcomingMeeting] = Field(description="The next ones (at most 50), earliest first.")


class RemoveRequest(FrozenModel):
    cancel_meetings: bool = Field(False, description="Also cancel every meeting the feed started.")


# ------------------------------------------------- the ApplyMeetingChanges activity (roomkeeper)


class ChangeKind(StrEnum):
    START = "start"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"


class MeetingChange(BaseModel):
    kind: ChangeKind
    meeting_id: str
    #: START: the meeting input.
    spec: MeetingSpec | None = None
    #: RESCHEDULE: the new window.
    start_time: AwareDatetime | None = None
    end_time: AwareDatetime | None = None
    #: START and CANCEL: shown in the meeting's history.
    reason: str | None = None
    #: START: put in the meeting's memo (who it is for, where it came from).
    memo: dict[str, str] = Field(default_factory=dict)


class ChangeResult(BaseModel):
    meeting_id: str
    kind: ChangeKind
    ok: bool
    #: What happened instead, when not ``ok`` (or a note, e.g. "only the end moved: the room is open").
    message: str | None = None


class ChangeBatch(BaseModel):
    changes: list[MeetingChange]


class ChangeResults(BaseModel):
    results: list[ChangeResult]
