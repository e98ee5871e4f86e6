"""Lifecycle events, the worker's side: what the deployment's configuration says (``MeetingDefaults``, a
local activity a meeting runs once when it starts) and delivering one event (``DeliverMeetingEvent``).

Delivery follows the Standard Webhooks convention (``common.standard_webhooks``): a JSON body, the
``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature`` headers, a fresh timestamp and signature
on each attempt and the same id on all of them. A 2xx is delivered. A 408, 425, 429 or 5xx, a timeout
or a refused connection is retried (after ``Retry-After`` when the receiver sends one, up to
``activities.policy.EVENT_ATTEMPTS`` attempts); any other 4xx is the receiver's refusal and is not
(410 Gone says the endpoint is no more). Nothing here logs a URL's query or user info, or a secret.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from pydantic import BaseModel, ConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.policy import EVENT_ATTEMPTS, deployment_queue
from common.event_endpoints import EventEndpoints, shown
from common.extend_policy import DeploymentCaps
from common.meeting_events import MeetingEventDelivery
from common.metrics import MEETING_EVENTS
from common.standard_webhooks import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

log = logging.getLogger(__name__)

#: How long one attempt may take, connecting included: a receiver should answer at once and work later.
ATTEMPT_TIMEOUT = httpx.Timeout(10.0)
#: The longest ``Retry-After`` honoured; a longer one is cut to this (the budget is about four minutes).
MAX_RETRY_AFTER = timedelta(minutes=2)
#: Statuses that mean "not now" rather than "no".
_RETRYABLE_STATUSES = frozenset({408, 425, 429})
USER_AGENT = "roomkeeper-events/1"


class DefaultsRequest(BaseModel):
    """What the meeting asked for: its receiver (None: the deployment's) and whether it wants events."""

    model_config = ConfigDict(frozen=True)

    url: str | None = None
    enabled: bool = True


class MeetingDefaults(BaseModel):
    """What the deployment decides for a meeting when it starts (recorded in its history, so a replay,
    or a worker configured differently later, sees the same)."""

    model_config = ConfigDict(frozen=True)

    receiver: str | None = None
    why_none: str | None = None
    extend_caps: DeploymentCaps = DeploymentCaps()


class MeetingEventActivities:
    """The activities of lifecycle events, on the worker's receivers, caps and HTTP client."""

    def __init__(self, http: httpx.AsyncClient, endpoints: EventEndpoints, caps: DeploymentCaps) -> None:
        self._http = http
        self._endpoints = endpoints
        self._caps = caps

    @activity.defn(name="MeetingDefaults")
    async def meeting_defaults(self, request: DefaultsRequest) -> MeetingDefaults:
        route = self._endpoints.route(request.url, enabled=request.enabled)
        return MeetingDefaults(receiver=route.url, why_none=route.why, extend_caps=self._caps)

    @activity.defn(name="DeliverMeetingEvent")
    async def deliver(self, delivery: MeetingEventDelivery) -> None:
        event, url = delivery.event, delivery.url
        secrets = self._endpoints.secrets_for(url)
        if secrets is None:  # the configuration changed since the meeting started
            self._count(event.type, "failed")
            raise ApplicationError(
                f"no signing secret is configured for {shown(url)} any more",
                type="NoEventSecret",
                non_retryable=True,
            )
        body = json.dumps(event.body(), separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            ID_HEADER: event.id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(secrets, event.id, timestamp, body),
        }
        last = activity.info().attempt >= EVENT_ATTEMPTS
        try:
            response = await self._http.post(url, content=body, headers=headers, timeout=ATTEMPT_TIMEOUT)
        except httpx.HTTPError as error:
            self._count(event.type, "failed" if last else "retried")
            raise ApplicationError(
                f"{shown(url)} could not be reached: {type(error).__name__}", type="ReceiverUnreachable"
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            self._count(event.type, "delivered")
            return
        answer = f"{shown(url)} answered {status} {response.reason_phrase}".rstrip()
        if status == 410:
            self._count(event.type, "failed")
            raise ApplicationError(f"{answer}: the endpoint is gone", type="ReceiverGone", non_retryable=True)
        if status < 500 and status not in _RETRYABLE_STATUSES:
            self._count(event.type, "failed")
            raise ApplicationError(answer, type="ReceiverRefused", non_retryable=True)
        self._count(event.type, "failed" if last else "retried")
        raise ApplicationError(answer, type="ReceiverBusy", next_retry_delay=_retry_after(response))

    def _count(self, event_type: str, outcome: str) -> None:
        MEETING_EVENTS.labels(deployment_queue(activity.info().task_queue), event_type, outcome).inc()


def _retry_after(response: httpx.Response) -> timedelta | None:
    """The receiver's ``Retry-After`` (seconds or an HTTP date), at most ``MAX_RETRY_AFTER``."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        if value.replace(".", "", 1).isdigit():
            delay = timedelta(seconds=float(value))
        else:
            delay = parsedate_to_datetime(value) - datetime.now(UTC)
    except (TypeError, ValueError, OverflowError):
        return None
    return max(timedelta(0), min(delay, MAX_RETRY_AFTER))
