"""CalendarFeedWorkflow: one iCalendar feed kept in sync with its meetings, durably, for as long as it exists.

Every ``every`` (or when asked with the ``sync_now`` update) it fetches the feed (``FetchCalendarFeed``:
a conditional request, so an unchanged feed costs one ``304`` and nothing else), compares the occurrences
with the meetings it started before, and asks ``ApplyMeetingChanges`` for exactly the difference: a
meeting per new occurrence, a reschedule per moved one, a cancel per removed or cancelled one.
Unchanged occurrences are not touched: their meetings get no update and no history.

What it knows of each occurrence (its meeting id and the times the feed last gave) is the workflow's
own state, carried across continue-as-new, so the feed needs no database. A feed that fails to fetch
or parse changes nothing: the failure is shown in ``status``, the Temporal UI and the
``roomkeeper_calendar_fetches_total{result="failed"}`` metric, and the next period tries again.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

import pydantic
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.calendar import CalendarActivities, FetchedFeed, FetchRequest
    from calendar_feeds.models import Occurrence
    from common.lifecycle import Step, fields
    from workflows.calendar_models import (
        CHANGES_PER_BATCH,
        LOOKBACK,
        ChangeBatch,
        ChangeKind,
        ChangeResults,
        ContinuedFeed,
        FeedInput,
        FeedState,
        FeedStatus,
        KnownMeeting,
        MeetingChange,
        RemoveRequest,
        SyncOutcome,
        SyncReport,
        UpcomingMeeting,
        meeting_id_for,
    )
    from workflows.meeting_input import explain
    from workflows.rejections import parse, reject

#: Syncs before the workflow continues as new (each writes ~10 events; continue-as-new keeps the history
#: of a feed that lives for years short, and carries the state).
SYNCS_PER_RUN = 100
#: Skipped events shown in a report (a feed of 5,000 all-day events does not need 5,000 lines).
SKIPPED_SHOWN = 20
#: Upcoming meetings shown by ``status``.
UPCOMING_SHOWN = 50
APPLY_CHANGES = "ApplyMeetingChanges"

_FETCH_RETRIES = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=2))
# Temporal being briefly unavailable is retried; a change the meeting refuses is a result, not an error.
_APPLY_RETRIES = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


def occurrence_key(occurrence: Occurrence) -> str:
    uid, recurrence = occurrence.key
    return f"{uid}\x1f{recurrence}"


@workflow.defn(name="CalendarFeedWorkflow")
class CalendarFeedWorkflow:
    @workflow.init
    def __init__(self, feed: Any = None) -> None:
        given = FeedInput.model_validate(feed).root
        if isinstance(given, ContinuedFeed):
            self._feed, self._state = given.feed, given.state
        else:
            self._feed, self._state = given, FeedState()
        self._sync_requested = False
        self._removal: RemoveRequest | None = None
        #: Syncs started and finished in this run (every started sync finishes with one report).
        self._started = 0
        self._syncs = 0
        self._finished = False
        self._next_sync_at: datetime | None = None

    @workflow.run
    async def run(self, feed: Any = None) -> FeedStatus:
        """``feed`` is a ``FeedInput``: a ``CalendarFeed`` as JSON, or a ``ContinuedFeed``."""
        while self._removal is None:
            await self._sync()
            if self._removal is not None:
                break
            if self._syncs >= SYNCS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(ContinuedFeed(feed=self._feed, state=self._state))
            self._next_sync_at = workflow.now() + self._feed.every
            self._publish()
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._sync_requested or self._removal is not None, timeout=self._feed.every
                )
        if self._removal.cancel_meetings:
            await self._cancel_all()
        self._next_sync_at = None
        self._finished = True
        self._publish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    # --------------------------------------------------------------------------------- sync

    async def _sync(self) -> None:
        self._sync_requested = False
        self._started += 1
        now = workflow.now()
        try:
            fetched: FetchedFeed = await workflow.execute_activity_method(
                CalendarActivities.fetch_feed,
                FetchRequest(
                    feed=self._feed.name,
                    source=self._feed.source,
                    validators=self._state.validators,
                    window_start=now - LOOKBACK,
                    options=self._feed.options.model_copy(
                        update={"horizon": self._feed.options.horizon + LOOKBACK}
                    ),
                ),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=_FETCH_RETRIES,
            )
        except ActivityError as error:
            self._report(SyncReport(at=now, outcome=SyncOutcome.FAILED, message=_cause(error)))
            return
        self._state.validators = fetched.validators
        if fetched.occurrences is None:
            known = self._state.known.values()
            self._report(
                SyncReport(
                    at=now,
                    outcome=SyncOutcome.UNCHANGED,
                    unchanged=sum(1 for k in known if k.end > now and not k.cancelled),
                )
            )
            return
        report = await self._reconcile(now, fetched)
        self._report(report)

    async def _reconcile(self, now: datetime, fetched: FetchedFeed) -> SyncReport:
        assert fetched.occurrences is not None
        feed, known = self._feed, self._state.known
        report = SyncReport(at=now, outcome=SyncOutcome.SYNCED, skipped=fetched.skipped[:SKIPPED_SHOWN])
        changes: list[tuple[str, MeetingChange, KnownMeeting]] = []
        refusals: list[str] = []
        wanted = {occurrence_key(o): o for o in fetched.occurrences if o.end > now}
        for key, occurrence in wanted.items():
            before = known.get(key)
            meeting_id = before.meeting_id if before else meeting_id_for(feed.name, occurrence)
            after = KnownMeeting(
                meeting_id=meeting_id,
                start=occurrence.start,
                end=occurrence.end,
                title=occurrence.title,
                cancelled=occurrence.cancelled,
            )
            if occurrence.cancelled:
                if before is not None and not before.cancelled:
                    changes.append((key, self._cancel(meeting_id, "cancelled in the calendar"), after))
                continue
            if before is None or before.cancelled:
                try:
                    spec = feed.template.spec(meeting_id, occurrence, feed.name)
                except pydantic.ValidationError as error:
                    refusals.append(f"{occurrence.uid}: {explain(error)}")
                    report.refused += 1
                    continue
                memo = {"source": "calendar", "calendar": feed.name, "uid": occurrence.uid}
                start = MeetingChange(kind=ChangeKind.START, meeting_id=meeting_id, spec=spec, memo=memo)
                changes.append((key, start, after))
            elif (before.start, before.end) != (occurrence.start, occurrence.end):
                move = MeetingChange(
                    kind=ChangeKind.RESCHEDULE,
                    meeting_id=meeting_id,
                    start_time=occurrence.start,
                    end_time=occurrence.end,
                )
                changes.append((key, move, after))
            else:
                report.unchanged += 1
        window_start = now - LOOKBACK
        for key, before in known.items():
            gone = key not in wanted and not before.cancelled and before.end > now
            if gone and before.start >= window_start:
                removed = before.model_copy(update={"cancelled": True})
                changes.append((key, self._cancel(before.meeting_id, "removed from the calendar"), removed))

        results = await self._apply([change for _, change, _ in changes])
        for (key, change, after), result in zip(changes, results.results, strict=True):
            if result.ok:
                known[key] = after
                counter = {"start": "started", "reschedule": "moved", "cancel": "cancelled"}[change.kind]
                setattr(report, counter, getattr(report, counter) + 1)
            else:
                report.refused += 1
                refusals.append(f"{change.kind.value} {change.meeting_id}: {result.message}")
        # Meetings that ended a while ago are forgotten: the state stays as small as the horizon.
        for key in [k for k, m in known.items() if m.end < window_start]:
            del known[key]
        if refusals:
            more = len(refusals) - 10
            report.message = "; ".join(refusals[:10]) + (f" (and {more} more)" if more > 0 else "")
        return report

    async def _apply(self, changes: list[MeetingChange]) -> ChangeResults:
        results: list[Any] = []
        for first in range(0, len(changes), CHANGES_PER_BATCH):
            batch = ChangeBatch(changes=changes[first : first + CHANGES_PER_BATCH])
            done: ChangeResults = await workflow.execute_activity(
                APPLY_CHANGES,
                batch,
                result_type=ChangeResults,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=_APPLY_RETRIES,
            )
            results += done.results
        return ChangeResults(results=results)

    async def _cancel_all(self) -> None:
        now = workflow.now()
        ahead = [(k, m) for k, m in self._state.known.items() if m.end > now and not m.cancelled]
        results = await self._apply(
            [self._cancel(m.meeting_id, f"calendar {self._feed.name} removed") for _, m in ahead]
        )
        for (key, meeting), result in zip(ahead, results.results, strict=True):
            if result.ok:
                self._state.known[key] = meeting.model_copy(update={"cancelled": True})

    def _cancel(self, meeting_id: str, reason: str) -> MeetingChange:
        return MeetingChange(kind=ChangeKind.CANCEL, meeting_id=meeting_id, reason=reason)

    def _report(self, report: SyncReport) -> None:
        self._syncs += 1
        state = self._state
        state.last = report
        if report.outcome is SyncOutcome.FAILED:
            state.failing_since = state.failing_since or report.at
        else:
            state.last_success_at, state.failing_since = report.at, None
        counts = {
            name: getattr(report, name) for name in ("started", "moved", "cancelled", "unchanged", "refused")
        }
        workflow.logger.log(
            logging.WARNING if report.outcome is SyncOutcome.FAILED else logging.INFO,
            "calendar %s sync %s%s",
            self._feed.name,
            report.outcome.value,
            f": {report.message}" if report.message else "",
            extra=fields(Step.CALENDAR_SYNCED, feed=self._feed.name, outcome=report.outcome.value, **counts),
        )
        self._publish()

    # ------------------------------------------------------------------------------ control

    @workflow.update
    async def sync_now(self) -> SyncReport:
        """Sync at once (instead of at the next period); returns that sync's report."""
        # The next sync to start began after this request, so it sees the feed as it is now.
        target = self._started + 1
        self._sync_requested = True
        await workflow.wait_condition(lambda: self._syncs >= target)
        assert self._state.last is not None
        return self._state.last

    @sync_now.validator
    def _validate_sync_now(self) -> None:
        if self._removal is not None:
            reject("the calendar is being removed")

    @workflow.update
    async def remove(self, request: Any = None) -> FeedStatus:
        """Stop syncing; with ``cancel_meetings``, cancel every meeting the feed started that has not
        ended. The workflow then completes."""
        self._removal = RemoveRequest.model_validate(request or {})
        await workflow.wait_condition(lambda: self._finished)
        return self.status()

    @remove.validator
    def _validate_remove(self, request: Any = None) -> None:
        if self._removal is not None:
            reject("the calendar is already being removed")
        parse(RemoveRequest, request or {}, "remove", ())

    @workflow.query
    def status(self) -> FeedStatus:
        now = workflow.now()
        ahead = sorted(
            (m for m in self._state.known.values() if m.end > now), key=lambda m: (m.start, m.meeting_id)
        )
        feed, state = self._feed, self._state
        return FeedStatus(
            name=feed.name,
            source=feed.source_shown,
            every=feed.every,
            horizon=feed.options.horizon,
            removed=self._removal is not None,
            last=state.last,
            last_success_at=state.last_success_at,
            failing_since=state.failing_since,
            next_sync_at=self._next_sync_at,
            meetings_ahead=sum(1 for m in ahead if not m.cancelled),
            upcoming=[UpcomingMeeting(**m.model_dump()) for m in ahead[:UPCOMING_SHOWN]],
        )

    def _publish(self) -> None:
        """The Temporal UI's current details: what the feed is and how its last sync went."""
        status, last = self.status(), self._state.last
        lines = [f"**calendar {self._feed.name}** — {self._feed.source_shown}, every {self._feed.every}"]
        if last is not None:
            line = f"last sync {last.at.isoformat()}: {last.outcome.value}"
            if last.outcome is SyncOutcome.SYNCED:
                line += (
                    f" (started {last.started}, moved {last.moved}, cancelled {last.cancelled}, "
                    f"unchanged {last.unchanged}, refused {last.refused})"
                )
            lines.append(line)
            if last.message:
                lines.append(("⚠ " if last.outcome is SyncOutcome.FAILED else "") + last.message)
        if self._state.failing_since:
            lines.append(f"failing since {self._state.failing_since.isoformat()}")
        lines.append(f"{status.meetings_ahead} meetings ahead")
        if self._next_sync_at:
            lines.append(f"next sync {self._next_sync_at.isoformat()}")
        workflow.set_current_details("\n\n".join(lines))


def _cause(error: ActivityError) -> str:
    cause = error.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause or error)
