"""The ``FetchCalendarFeed`` activity: a feed's occurrences, if it changed since the last fetch.

Fetching (``calendar_feeds.fetch``) and expanding (``calendar_feeds.sandbox``, a bounded child
process) are I/O, so they live here; what to do with the occurrences is the workflow's business. A feed
that cannot be used is a non-retryable ``FeedError`` with a one-line message: the sync records it,
changes nothing, and tries again next period. A sealed address is opened here and nowhere else.
"""

from __future__ import annotations

import logging

import httpx
from pydantic import AwareDatetime, BaseModel, Field
from temporalio import activity
from temporalio.exceptions import ApplicationError

from calendar_feeds.fetch import fetch
from calendar_feeds.models import FeedError, FeedOptions, Occurrence, Skipped, Validators
from calendar_feeds.sandbox import expand_isolated
from common.metrics import CALENDAR_FETCHES
from common.sealing import Sealer, SealingError, is_sealed

log = logging.getLogger(__name__)


class FetchRequest(BaseModel):
    #: The feed's name, for metrics and logs.
    feed: str
    #: A sealed http(s) address, or a local path / file:// URL.
    source: str
    validators: Validators
    window_start: AwareDatetime
    options: FeedOptions


class FetchedFeed(BaseModel):
    """``occurrences`` is None when the feed has not changed since the request's ``validators``."""

    validators: Validators
    occurrences: list[Occurrence] | None
    skipped: list[Skipped] = Field(default_factory=list)


class CalendarActivities:
    def __init__(self, http: httpx.AsyncClient, sealer: Sealer) -> None:
        self._http = http
        self._sealer = sealer

    @activity.defn(name="FetchCalendarFeed")
    async def fetch_feed(self, request: FetchRequest) -> FetchedFeed:
        task_queue = activity.info().task_queue
        try:
            source = self._sealer.open(request.source) if is_sealed(request.source) else request.source
            fetched = await fetch(source, request.validators, self._http)
            if fetched.data is None:
                CALENDAR_FETCHES.labels(task_queue, request.feed, "unchanged").inc()
                return FetchedFeed(validators=fetched.validators, occurrences=None)
            expansion = await expand_isolated(fetched.data, request.window_start, request.options)
        except (FeedError, SealingError) as error:
            CALENDAR_FETCHES.labels(task_queue, request.feed, "failed").inc()
            log.warning("calendar %s: %s", request.feed, error)
            raise ApplicationError(str(error), type="FeedError", non_retryable=True) from None
        CALENDAR_FETCHES.labels(task_queue, request.feed, "changed").inc()
        return FetchedFeed(
            validators=fetched.validators, occurrences=expansion.occurrences, skipped=expansion.skipped
        )
