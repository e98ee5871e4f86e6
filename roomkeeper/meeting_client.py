"""Start and steer meetings on Temporal: the one place where the meetings API, the ``roomkeeper meeting``
command and the calendar doors turn a request into a MeetingWorkflow start, update, signal, query or
visibility listing, and Temporal's errors into a few that say what happened.

A meeting ``M`` is the workflow ``meeting-M``. Starting is idempotent: the spec a meeting was started
with is kept in the workflow's memo (``spec``, in a canonical form), so a repeated start with the same
spec is recognised (``Scheduled.created`` is false) and a different one is a ``SpecConflict`` listing
each difference. A workflow id, once used, stays taken (a finished meeting is not started again under
its id) unless the caller says otherwise (the Cal.com door restarts a cancelled booking series).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, Field
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from common.search_attributes import MEETING_END, MEETING_START, MEETING_STATUS, ROOM_SID, quoted
from workflows.meeting import MeetingWorkflow, search_attributes_for
from workflows.meeting_control import CancelRequest, EndRequest, ExtendRequest, RescheduleRequest
from workflows.meeting_input import MeetingSpec
from workflows.meeting_state import MeetingInput
from workflows.meeting_status import MeetingStatus, MeetingSummary, Phase

T = TypeVar("T")

#: ``meeting-<meeting_id>`` is the workflow id of every meeting roomkeeper starts.
WORKFLOW_ID_PREFIX = "meeting-"
#: The memo key holding the spec a meeting was started with (canonical JSON, see ``canonical``).
MEMO_SPEC = "spec"
#: How long one call to Temporal may take before Temporal counts as unreachable.
DEFAULT_RPC_TIMEOUT = timedelta(seconds=5)
#: Largest page a listing returns.
MAX_PAGE_SIZE = 500

_CLOSED_PHASE = {
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed out",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "continued",
}


def workflow_id(meeting_id: str) -> str:
    return WORKFLOW_ID_PREFIX + meeting_id


# --------------------------------------------------------------------------------------- errors


class MeetingError(Exception):
    """Something the caller asked for did not happen; ``str()`` says what, in one line."""


class NotFoundError(MeetingError):
    """What was named (a meeting, a calendar) does not exist."""


class MeetingNotFound(NotFoundError):
    def __init__(self, meeting_id: str) -> None:
        super().__init__(f"no meeting {meeting_id!r} (no workflow {workflow_id(meeting_id)!r})")
        self.meeting_id = meeting_id


class SpecConflict(MeetingError):
    """A start for an existing meeting id with a different spec."""

    def __init__(self, meeting_id: str, state: str, differences: list[str]) -> None:
        listed = "; ".join(differences)
        super().__init__(
            f"meeting {meeting_id!r} already exists ({state}) with a different spec: {listed}"
            if differences
            else f"meeting {meeting_id!r} already exists ({state}); it was started without a "
            "recorded spec, so it cannot be compared"
        )
        self.meeting_id = meeting_id
        self.state = state
        self.differences = differences


class MeetingRejected(MeetingError):
    """The workflow refused the request (an update's validator, or a meeting that is over)."""

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        #: The workflow's error type, e.g. ``Rejected`` or ``InvalidMeeting``.
        self.kind = kind


class TemporalUnavailable(MeetingError):
    """Temporal did not answer (down, unreachable, or no worker to answer a query)."""

    #: Seconds after which asking again is reasonable (an HTTP ``Retry-After``).
    retry_after = 5


# ------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Scheduled:
    meeting_id: str
    workflow_id: str
    #: False when the meeting already existed with the same spec (nothing was started).
    created: bool
    run_id: str | None


class MeetingListing(BaseModel):
    """One meeting in a listing, from Temporal's visibility store (no query to the workflow)."""

    meeting_id: str = Field(description="The meeting's id.")
    workflow_id: str = Field(description="Its workflow id (`meeting-<meeting_id>`).")
    title: str = Field(description="The spec's title (from the memo), or empty.")
    phase: str = Field(
        description="`scheduled`, `opening`, `open`, `closing`, `completed`, `cancelled`, `failed`."
    )
    start_time: AwareDatetime | None = Field(description="The scheduled start (after any reschedule).")
    end_time: AwareDatetime | None = Field(description="The scheduled end (after any reschedule or extend).")
    room_sid: str | None = Field(None, description="The current or last room's SID.")


class MeetingPage(BaseModel):
    """One page of a listing; follow `next_page_token` for the rest."""

    meetings: list[MeetingListing] = Field(description="This page's meetings, as Temporal lists them.")
    next_page_token: str | None = Field(
        None, description="Pass as `page_token` for the next page; absent on the last page."
    )


def canonical(spec: MeetingSpec) -> dict[str, Any]:
    """``spec`` as JSON with every default filled in and times in UTC: equal meetings compare equal."""
    in_utc = spec.model_copy(
        update={"start_time": spec.start_time.astimezone(UTC), "end_time": spec.end_time.astimezone(UTC)}
    )
    dumped: dict[str, Any] = in_utc.model_dump(mode="json")
    return dumped


def differences(existing: Mapping[str, Any], requested: Mapping[str, Any], where: str = "") -> list[str]:
    """Each field that differs, as ``path: existing → requested``."""
    found = []
    for key in sorted(set(existing) | set(requested)):
        path = f"{where}{key}"
        old, new = existing.get(key), requested.get(key)
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            found += differences(old, new, f"{path}.")
        elif old != new:
            found.append(f"{path}: {_shown(old)} → {_shown(new)}")
    return found


def _shown(value: Any) -> str:
    return "(unset)" if value is None else repr(value) if isinstance(value, str) else str(value)


async def within(call: Awaitable[T], rpc_timeout: timedelta) -> T:
    """``call``, given up after ``rpc_timeout``: the SDK's own retries of a refused connection outlast
    its ``rpc_timeout``, and a caller waiting on a dead Temporal must hear so promptly."""
    try:
        return await asyncio.wait_for(call, rpc_timeout.total_seconds())
    except (TimeoutError, RPCTimeoutOrCancelledError):
        # The SDK's own deadline may come first: an update no worker takes (none is polling).
        raise TemporalUnavailable(
            f"Temporal did not answer within {rpc_timeout.total_seconds():g} s"
        ) from None


class MeetingClient:
    """The meetings on one Temporal namespace and task queue."""

    def __init__(
        self, client: Client, task_queue: str, *, rpc_timeout: timedelta = DEFAULT_RPC_TIMEOUT
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._rpc_timeout = rpc_timeout

    async def _within(self, call: Awaitable[T]) -> T:
        return await within(call, self._rpc_timeout)

    @property
    def temporal(self) -> Client:
        return self._client

    def _handle(self, meeting_id: str) -> WorkflowHandle[MeetingWorkflow, MeetingSummary]:
        return self._client.get_workflow_handle_for(MeetingWorkflow.run, workflow_id(meeting_id))

    # ------------------------------------------------------------------------------- start

    async def schedule(
        self,
        spec: MeetingSpec,
        *,
        memo: Mapping[str, Any] | None = None,
        restart_if_closed: bool = False,
    ) -> Scheduled:
        """Start ``spec``'s meeting, or recognise it as already started with the same spec.

        ``memo`` adds fields to the workflow's memo (who the meeting is for, where it came from).
        ``restart_if_closed`` starts a new run when the id's last run has finished.
        Raises ``SpecConflict``, ``TemporalUnavailable``.
        """
        wanted = canonical(spec)
        wf_id = workflow_id(spec.meeting_id)
        try:
            handle = await self._within(
                self._client.start_workflow(
                    MeetingWorkflow.run,
                    MeetingInput(spec),
                    **self._start_options(spec, memo, wanted),
                    id_reuse_policy=(
                        WorkflowIDReusePolicy.ALLOW_DUPLICATE
                        if restart_if_closed
                        else WorkflowIDReusePolicy.REJECT_DUPLICATE
                    ),
                    id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                )
            )
        except WorkflowAlreadyStartedError:
            existing, state = await self._started_spec(spec.meeting_id)
            if existing is not None and (found := differences(existing, wanted)) == []:
                return Scheduled(spec.meeting_id, wf_id, created=False, run_id=None)
            raise SpecConflict(spec.meeting_id, state, found if existing is not None else []) from None
        except (RPCError, RuntimeError) as error:
            raise _unavailable_or(error, spec.meeting_id) from None
        return Scheduled(spec.meeting_id, wf_id, created=True, run_id=handle.first_execution_run_id)

    def _start_options(
        self, spec: MeetingSpec, memo: Mapping[str, Any] | None, spec_json: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """What every start of ``spec``'s meeting says: its id, queue, search attributes, memo, summary
        (``spec_json``: ``canonical(spec)``, when the caller has it already)."""
        return {
            "id": workflow_id(spec.meeting_id),
            "task_queue": self._task_queue,
            "search_attributes": search_attributes_for(spec),
            "memo": {**(memo or {}), MEMO_SPEC: spec_json if spec_json is not None else canonical(spec)},
            "static_summary": spec.title or spec.meeting_id,
            "rpc_timeout": self._rpc_timeout,
        }

    async def schedule_cancelled(
        self, spec: MeetingSpec, request: CancelRequest, *, memo: Mapping[str, Any] | None = None
    ) -> None:
        """Cancel ``spec``'s meeting, starting it already cancelled if it was never started.

        For a calendar whose cancel can overtake the booking it cancels: a running meeting gets the
        ``cancel`` signal; with no meeting yet, one is started with the signal in its first task, so it
        ends cancelled without a room, and the late booking then finds it over. Raises
        ``MeetingRejected`` when the id's last run is over, ``TemporalUnavailable``.
        """
        try:
            await self._within(
                self._client.start_workflow(
                    MeetingWorkflow.run,
                    MeetingInput(spec),
                    **self._start_options(spec, memo),
                    # Signal-with-start: a running meeting is signalled, a finished one is left alone.
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    start_signal="cancel",
                    start_signal_args=[request],
                )
            )
        except WorkflowAlreadyStartedError:
            raise MeetingRejected("the meeting is already over", kind="Rejected") from None
        except (RPCError, RuntimeError) as error:
            raise _unavailable_or(error, spec.meeting_id) from None

    async def _started_spec(self, meeting_id: str) -> tuple[dict[str, Any] | None, str]:
        """The spec the meeting's latest run was started with (from its memo), and its state in words."""
        description = await self._describe(meeting_id)
        state = (
            "running"
            if description.status is WorkflowExecutionStatus.RUNNING
            else _CLOSED_PHASE.get(description.status, "closed")
            if description.status
            else "closed"
        )
        memo = await description.memo()
        spec = memo.get(MEMO_SPEC)
        return (spec if isinstance(spec, dict) else None), state

    async def _describe(self, meeting_id: str) -> Any:
        try:
            return await self._within(self._handle(meeting_id).describe(rpc_timeout=self._rpc_timeout))
        except (RPCError, RuntimeError) as error:
            raise _unavailable_or(error, meeting_id) from None

    async def memo(self, meeting_id: str) -> dict[str, Any]:
        """The meeting's memo (its started spec under ``spec``, plus what its starter added)."""
        description = await self._describe(meeting_id)
        return dict(await description.memo())

    async def is_running(self, meeting_id: str) -> bool:
        description = await self._describe(meeting_id)
        return bool(description.status is WorkflowExecutionStatus.RUNNING)

    # ------------------------------------------------------------------------------- read

    async def status(self, meeting_id: str) -> MeetingStatus:
        """The meeting's ``status`` query. Raises ``MeetingNotFound``, ``MeetingRejected`` (an invalid
        meeting says why), ``TemporalUnavailable`` (also when no worker answers in time)."""
        try:
            return await self._within(
                self._handle(meeting_id).query(MeetingWorkflow.status, rpc_timeout=self._rpc_timeout)
            )
        except WorkflowQueryFailedError as error:
            raise MeetingRejected(str(error), kind="InvalidMeeting") from None
        except (RPCError, RuntimeError) as error:
            raise _unavailable_or(error, meeting_id) from None

    async def list_meetings(
        self,
        *,
        phase: Phase | None = None,
        start_from: datetime | None = None,
        start_to: datetime | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> MeetingPage:
        """One page of meetings from visibility: by phase, and by scheduled start in ``[from, to)``.

        Raises ``ValueError`` for a malformed ``page_token``, ``TemporalUnavailable``.
        """
        clauses = [f"WorkflowType = {quoted('MeetingWorkflow')}"]
        if phase is not None:
            clauses.append(f"{MEETING_STATUS.name} = {quoted(phase.value)}")
        if start_from is not None:
            clauses.append(f"{MEETING_START.name} >= {quoted(_rfc3339(start_from))}")
        if start_to is not None:
            clauses.append(f"{MEETING_START.name} < {quoted(_rfc3339(start_to))}")
        # A continued meeting's earlier runs are not meetings of their own.
        clauses.append(f"ExecutionStatus != {quoted('ContinuedAsNew')}")
        token = _decode_token(page_token)
        executions = self._client.list_workflows(
            " AND ".join(clauses),
            page_size=max(1, min(page_size, MAX_PAGE_SIZE)),
            next_page_token=token,
            rpc_timeout=self._rpc_timeout,
        )
        try:
            await self._within(executions.fetch_next_page())
        except (RPCError, RuntimeError) as error:
            if (
                isinstance(error, RPCError)
                and token is not None
                and error.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.UNKNOWN)
            ):
                raise ValueError(_BAD_TOKEN) from None
            raise _unavailable_or(error, None) from None
        meetings = [await _listing(execution) for execution in executions.current_page or []]
        next_token = executions.next_page_token
        return MeetingPage(
            meetings=meetings,
            next_page_token=_encode_token(next_token) if next_token else None,
        )

    # ------------------------------------------------------------------------------- change

    async def reschedule(self, meeting_id: str, request: RescheduleRequest) -> MeetingStatus:
        status: MeetingStatus = await self._update(
            meeting_id, MeetingWorkflow.reschedule, request, MeetingStatus
        )
        return status

    async def extend(self, meeting_id: str, minutes: int, *, actor: str | None = None) -> MeetingStatus:
        """Move the end ``minutes`` later; ``actor`` (who asks) is shown in the history and status."""
        status: MeetingStatus = await self._update(
            meeting_id, MeetingWorkflow.extend, ExtendRequest(minutes=minutes, actor=actor), MeetingStatus
        )
        return status

    async def end(
        self, meeting_id: str, reason: str | None = None, *, wait: timedelta = timedelta(seconds=30)
    ) -> MeetingSummary | None:
        """End the meeting now. Returns its summary, or None if it was still closing after ``wait``
        (it keeps closing; the request was accepted)."""
        handle = self._handle(meeting_id)
        try:
            update = await self._within(
                handle.start_update(
                    MeetingWorkflow.end_now,
                    EndRequest(reason=reason),
                    wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                    rpc_timeout=self._rpc_timeout,
                )
            )
            return await asyncio.wait_for(update.result(), wait.total_seconds())
        except TimeoutError:
            return None
        except WorkflowUpdateFailedError as error:
            raise _rejection(error) from None
        except (RPCError, RuntimeError) as error:
            raise await self._closed_or(error, meeting_id) from None

    async def cancel(
        self, meeting_id: str, reason: str | None = None, *, revision: int | None = None
    ) -> None:
        """Send the ``cancel`` signal (of the source's ``revision``, if given: the meeting ignores a cancel
        of an older revision than its own). Raises ``MeetingRejected`` when the meeting is already over."""
        request = CancelRequest(reason=reason, revision=revision)
        try:
            await self._within(
                self._handle(meeting_id).signal(
                    MeetingWorkflow.cancel, request, rpc_timeout=self._rpc_timeout
                )
            )
        except (RPCError, RuntimeError) as error:
            raise await self._closed_or(error, meeting_id) from None

    async def _update(self, meeting_id: str, update: Any, request: BaseModel, result: type[Any]) -> Any:
        try:
            return await self._within(
                self._handle(meeting_id).execute_update(
                    update, request, result_type=result, rpc_timeout=self._rpc_timeout
                )
            )
        except WorkflowUpdateFailedError as error:
            raise _rejection(error) from None
        except (RPCError, RuntimeError) as error:
            raise await self._closed_or(error, meeting_id) from None

    async def _closed_or(self, error: RPCError | RuntimeError, meeting_id: str) -> Exception:
        """A NOT_FOUND from an update or signal: the meeting never existed, or it is over."""
        if not isinstance(error, RPCError) or error.status is not RPCStatusCode.NOT_FOUND:
            return _unavailable_or(error, meeting_id)
        description = await self._describe(meeting_id)  # raises MeetingNotFound if it never existed
        state = _CLOSED_PHASE.get(description.status, "closed") if description.status else "closed"
        phase = description.typed_search_attributes.get(MEETING_STATUS)
        return MeetingRejected(f"the meeting is already over ({phase or state})", kind="Rejected")


def _rejection(error: WorkflowUpdateFailedError) -> MeetingRejected:
    cause = error.cause
    if isinstance(cause, ApplicationError):
        return MeetingRejected(cause.message, kind=cause.type)
    return MeetingRejected(str(cause or error))


_UNAVAILABLE = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.UNKNOWN,
}


def _unavailable_or(error: RPCError | RuntimeError, meeting_id: str | None) -> Exception:
    if not isinstance(error, RPCError):
        # A lazy client's first call connects; a refused connection surfaces as a RuntimeError.
        if "connect" in str(error):
            return TemporalUnavailable(f"Temporal did not answer: {str(error).splitlines()[0][:200]}")
        return error
    if error.status is RPCStatusCode.NOT_FOUND and meeting_id is not None:
        return MeetingNotFound(meeting_id)
    if error.status in _UNAVAILABLE:
        return TemporalUnavailable(f"Temporal did not answer: {error.message or error.status.name}")
    return MeetingRejected(f"Temporal refused the request: {error.message}", kind=error.status.name)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


_BAD_TOKEN = "page_token is not one this listing returned"


def _encode_token(token: bytes) -> str:
    # A checksum, so a mangled or made-up token is refused here instead of failing inside Temporal.
    return base64.urlsafe_b64encode(token).decode() + "." + hashlib.sha256(token).hexdigest()[:16]


def _decode_token(token: str | None) -> bytes | None:
    if not token:
        return None
    encoded, _, checksum = token.partition(".")
    try:
        raw = base64.b64decode(encoded.encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ValueError(_BAD_TOKEN) from None
    if not hmac.compare_digest(hashlib.sha256(raw).hexdigest()[:16], checksum):
        raise ValueError(_BAD_TOKEN)
    return raw


async def _listing(execution: Any) -> MeetingListing:
    attributes = execution.typed_search_attributes
    memo = await execution.memo()
    spec = memo.get(MEMO_SPEC) if isinstance(memo.get(MEMO_SPEC), dict) else {}
    wf_id: str = execution.id
    phase = attributes.get(MEETING_STATUS)
    if phase is None:  # started by someone else without search attributes
        phase = "running" if execution.status is WorkflowExecutionStatus.RUNNING else "closed"
    title = str(spec.get("title") or "")
    return MeetingListing(
        meeting_id=wf_id.removeprefix(WORKFLOW_ID_PREFIX),
        workflow_id=wf_id,
        title=title,
        phase=phase,
        start_time=attributes.get(MEETING_START),
        end_time=attributes.get(MEETING_END),
        room_sid=attributes.get(ROOM_SID),
    )


__all__ = [
    "DEFAULT_RPC_TIMEOUT",
    "MEMO_SPEC",
    "WORKFLOW_ID_PREFIX",
    "MeetingClient",
    "MeetingError",
    "MeetingListing",
    "MeetingNotFound",
    "MeetingPage",
    "MeetingRejected",
    "Scheduled",
    "SpecConflict",
    "TemporalUnavailable",
    "canonical",
    "differences",
    "workflow_id",
]
