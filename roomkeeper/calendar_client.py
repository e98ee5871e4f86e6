"""Add, list, inspect, sync and remove calendar feeds on Temporal: what ``roomkeeper calendar`` and the
``/calendars`` API share. A feed is the workflow ``calendar-<name>`` (CalendarFeedWorkflow); there is no
other store. An http(s) address is sealed here, before it reaches Temporal (``common.sealing``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from calendar_feeds.fetch import redacted, validate_source
from calendar_feeds.models import FeedError, FeedOptions
from common.sealing import Sealer
from common.search_attributes import quoted
from roomkeeper.meeting_client import (
    DEFAULT_RPC_TIMEOUT,
    MeetingError,
    NotFoundError,
    TemporalUnavailable,
    within,
)
from workflows.calendar_feed import CalendarFeedWorkflow
from workflows.calendar_models import (
    FEED_WORKFLOW_PREFIX,
    CalendarFeed,
    FeedInput,
    FeedStatus,
    MeetingTemplate,
    RemoveRequest,
    SyncReport,
    feed_workflow_id,
)

T = TypeVar("T")

#: How long ``sync_now`` and ``remove`` wait: a sync fetches, parses and applies up to thousands of changes.
UPDATE_WAIT = timedelta(minutes=5)


class CalendarNotFound(NotFoundError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no calendar {name!r}")


class CalendarExists(MeetingError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"calendar {name!r} already exists; remove it first (`roomkeeper calendar remove {name}`)"
        )


class CalendarRefused(MeetingError):
    """The feed's workflow (or its address) refused the request; the message says why."""


@dataclass(frozen=True)
class CalendarSummary:
    """A feed as ``calendar list`` shows it (its status, or why it could not be asked)."""

    name: str
    running: bool
    status: FeedStatus | None
    problem: str | None = None


class CalendarClient:
    def __init__(
        self, client: Client, task_queue: str, sealer: Sealer, *, rpc_timeout: timedelta = DEFAULT_RPC_TIMEOUT
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._sealer = sealer
        self._rpc_timeout = rpc_timeout

    async def add(
        self,
        name: str,
        source: str,
        *,
        every: timedelta = timedelta(minutes=5),
        options: FeedOptions | None = None,
        template: MeetingTemplate | None = None,
    ) -> FeedStatus | None:
        """Start the feed's sync; returns its first status if it answers quickly, else None.

        Raises ``CalendarRefused`` (a bad address), ``CalendarExists``, ``TemporalUnavailable``;
        ``pydantic.ValidationError`` for a bad name, period or option.
        """
        try:
            source = validate_source(source)
        except FeedError as error:
            raise CalendarRefused(str(error)) from None
        remote = source.startswith(("http://", "https://"))
        feed = CalendarFeed(
            name=name,
            source=self._sealer.seal(source) if remote else source,
            source_shown=redacted(source),
            every=every,
            options=options or FeedOptions(),
            template=template or MeetingTemplate(),
        )
        try:
            await self._within(
                self._client.start_workflow(
                    CalendarFeedWorkflow.run,
                    FeedInput(feed),
                    id=feed_workflow_id(name),
                    task_queue=self._task_queue,
                    # A removed calendar's name may be used again; a running one's may not.
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                    static_summary=f"calendar {name}: {feed.source_shown}",
                    rpc_timeout=self._rpc_timeout,
                )
            )
        except WorkflowAlreadyStartedError:
            raise CalendarExists(name) from None
        except RPCError as error:
            raise _unavailable(error) from None
        return None

    async def status(self, name: str) -> FeedStatus:
        try:
            return await self._within(
                self._handle(name).query(CalendarFeedWorkflow.status, rpc_timeout=self._rpc_timeout)
            )
        except RPCError as error:
            raise _not_found_or_unavailable(error, name) from None

    async def first_sync(self, name: str, within: timedelta) -> FeedStatus | None:
        """The feed's status once its first sync reported, or None if that takes longer than ``within``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within.total_seconds()
        while loop.time() < deadline:
            status = await self.status(name)
            if status.last is not None:
                return status
            await asyncio.sleep(0.2)
        return None

    async def list(self) -> list[CalendarSummary]:
        """Every feed being synced on this task queue, with its status."""
        # This deployment's calendars: those its workers (its task queue) sync.
        query = (
            f"WorkflowType = {quoted('CalendarFeedWorkflow')} AND ExecutionStatus = {quoted('Running')} "
            f"AND TaskQueue = {quoted(self._task_queue)}"
        )
        try:
            names = sorted(
                [
                    execution.id.removeprefix(FEED_WORKFLOW_PREFIX)
                    async for execution in self._client.list_workflows(query, rpc_timeout=self._rpc_timeout)
                ]
            )
        except RPCError as error:
            raise _unavailable(error) from None
        summaries = []
        for name in names:
            try:
                summaries.append(CalendarSummary(name, True, await self.status(name)))
            except MeetingError as error:
                summaries.append(CalendarSummary(name, True, None, str(error)))
        return summaries

    async def sync_now(self, name: str) -> SyncReport:
        """Sync now and return the report (the fetch and the changes: up to a few minutes)."""
        handle = self._handle(name)
        report: SyncReport = await self._update(name, handle.execute_update(CalendarFeedWorkflow.sync_now))
        return report

    async def remove(self, name: str, *, cancel_meetings: bool = False) -> FeedStatus:
        handle = self._handle(name)
        request = RemoveRequest(cancel_meetings=cancel_meetings)
        status: FeedStatus = await self._update(
            name, handle.execute_update(CalendarFeedWorkflow.remove, request)
        )
        return status

    async def _update(self, name: str, call: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(call, UPDATE_WAIT.total_seconds())
        except TimeoutError:
            raise TemporalUnavailable(f"calendar {name!r} did not answer within {UPDATE_WAIT}") from None
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(error)
            raise CalendarRefused(message) from None
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                raise CalendarNotFound(name) from None
            raise _unavailable(error) from None

    async def is_running(self, name: str) -> bool:
        try:
            described = await self._within(self._handle(name).describe(rpc_timeout=self._rpc_timeout))
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                return False
            raise _unavailable(error) from None
        return bool(described.status is WorkflowExecutionStatus.RUNNING)

    def _handle(self, name: str) -> WorkflowHandle[CalendarFeedWorkflow, FeedStatus]:
        return self._client.get_workflow_handle_for(CalendarFeedWorkflow.run, feed_workflow_id(name))

    async def _within(self, call: Awaitable[T]) -> T:
        return await within(call, self._rpc_timeout)


def _unavailable(error: RPCError) -> MeetingError:
    if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNKNOWN):
        return TemporalUnavailable(f"Temporal did not answer: {error.message}")
    if "Workflow Task in failed state" in error.message:
        # A worker died mid-task (a restart): Temporal retries the task; asking again soon will work.
        return TemporalUnavailable(
            "the calendar's workflow is recovering from an interrupted worker; ask again in a moment"
        )
    return CalendarRefused(f"Temporal refused the request: {error.message}")


def _not_found_or_unavailable(error: RPCError, name: str) -> MeetingError:
    if error.status is RPCStatusCode.NOT_FOUND:
        return CalendarNotFound(name)
    return _unavailable(error)
