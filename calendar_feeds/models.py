"""The values the feed layer hands out and takes: options, occurrences, what a fetch remembers."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator


class FeedError(ValueError):
    """The feed cannot be used as it is; the message says why, in one line."""


class FeedOptions(BaseModel):
    """How a feed's events become meetings, where RFC 5545 leaves the choice to the reader."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    horizon: timedelta = Field(
        timedelta(days=14),
        ge=timedelta(hours=1),
        le=timedelta(days=366),
        description="How far ahead occurrences become meetings (1 hour to 366 days).",
    )
    timezone: str | None = Field(
        None,
        description="IANA zone for floating times when the feed has no `X-WR-TIMEZONE` "
        "(without either, floating events are skipped and reported).",
    )
    include_all_day: bool = Field(
        False, description="Make all-day events meetings lasting their whole day(s), in the feed's zone."
    )
    include_free: bool = Field(False, description="Also make meetings of events marked `TRANSP:TRANSPARENT`.")
    default_duration: timedelta = Field(
        timedelta(minutes=30), description="Length of an event that has neither `DTEND` nor `DURATION`."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value


class Occurrence(BaseModel):
    """One occurrence of an event, in UTC. ``key`` is stable across edits of the same instance."""

    model_config = ConfigDict(frozen=True)

    uid: str
    #: The instance's RECURRENCE-ID (its original start) in UTC, or None for a non-recurring event.
    recurrence_id: str | None
    start: AwareDatetime
    end: AwareDatetime
    title: str
    #: The component's SEQUENCE: higher means a later edit by the organiser.
    sequence: int = 0
    #: STATUS:CANCELLED (a cancelled instance, or a cancelled event).
    cancelled: bool = False
    #: The zone the event is written in (its TZID, X-WR-TIMEZONE or the configured zone), if any.
    zone: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.uid, self.recurrence_id or "")


class Skipped(BaseModel):
    """An event deliberately not turned into meetings, and why (shown in the sync's status)."""

    model_config = ConfigDict(frozen=True)

    uid: str
    reason: str


class Expansion(BaseModel):
    """What a feed holds within ``[window_start, window_end)``."""

    occurrences: list[Occurrence]
    skipped: list[Skipped] = Field(default_factory=list)
    #: The feed's own zone (X-WR-TIMEZONE), if it names one.
    feed_zone: str | None = None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FeedError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)") from None


class Validators(BaseModel):
    """What the previous fetch answered with, for a conditional request."""

    model_config = ConfigDict(frozen=True)

    etag: str | None = None
    last_modified: str | None = None
    #: SHA-256 of the body: a server that ignores conditional requests still costs no re-sync.
    digest: str | None = None
