"""Cal.com deliveries for tests: the captured-shape payloads in ``payloads/`` with a series' own ids,
times and sequences put in, sent signed over the exact bytes, as Cal.com's ``sendPayload`` does."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "whsec-calcom-test-4f1c9a"
_TEMPLATES = {
    name: json.loads((PAYLOADS / f"{name}.json").read_text())
    for name in ("booking_created", "booking_rescheduled", "booking_cancelled")
}


def cal_time(moment: datetime, *, offset: bool = False) -> str:
    """A time as Cal.com writes it: ``…Z`` without milliseconds (dayjs), or ``+00:00`` (the cancel path)."""
    text = moment.astimezone(UTC).replace(microsecond=0).isoformat()
    return text if offset else text.replace("+00:00", "Z")


def created_at() -> str:
    """``createdAt`` as Cal.com writes it: ``toISOString()``, with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Series:
    """One booking series (one ``iCalUID``) and the deliveries Cal.com sends for it."""

    ical_uid: str = field(default_factory=lambda: f"{uuid.uuid4().hex[:22]}@Cal.com")
    event_type: str = "30min"
    event_type_id: int = 123456

    def _delivery(self, template: str, trigger: str, **payload: Any) -> dict[str, Any]:
        document = copy.deepcopy(_TEMPLATES[template])
        document["triggerEvent"] = trigger
        document["createdAt"] = created_at()
        document["payload"].update(
            {"iCalUID": self.ical_uid, "type": self.event_type, "eventTypeId": self.event_type_id, **payload}
        )
        return document

    def created(
        self,
        start: datetime,
        end: datetime,
        *,
        uid: str | None = None,
        sequence: int = 0,
        trigger: str = "BOOKING_CREATED",
        **payload: Any,
    ) -> dict[str, Any]:
        """``BOOKING_CREATED`` (or ``BOOKING_REQUESTED``) of a booking of this series."""
        return self._delivery(
            "booking_created",
            trigger,
            uid=uid or uuid.uuid4().hex[:22],
            iCalSequence=sequence,
            startTime=cal_time(start),
            endTime=cal_time(end),
            **payload,
        )

    def rescheduled(
        self, previous: dict[str, Any], start: datetime, end: datetime, *, uid: str | None = None
    ) -> dict[str, Any]:
        """``BOOKING_RESCHEDULED``: a new booking (new ``uid``, sequence + 1) naming ``previous``."""
        old = previous["payload"]
        return self._delivery(
            "booking_rescheduled",
            "BOOKING_RESCHEDULED",
            uid=uid or uuid.uuid4().hex[:22],
            iCalSequence=old["iCalSequence"] + 1,
            startTime=cal_time(start),
            endTime=cal_time(end),
            rescheduleUid=old["uid"],
            rescheduleStartTime=old["startTime"],
            rescheduleEndTime=old["endTime"],
        )

    def cancelled(
        self, booking: dict[str, Any], *, request_reschedule: bool = False, reason: str = "Project postponed"
    ) -> dict[str, Any]:
        """``BOOKING_CANCELLED`` of ``booking``: Cal.com sends its iCalSequence + 1, times as ``+00:00``."""
        old = booking["payload"]
        return self._delivery(
            "booking_cancelled",
            "BOOKING_CANCELLED",
            uid=old["uid"],
            iCalSequence=old["iCalSequence"] + 1,
            startTime=old["startTime"].replace("Z", "+00:00"),
            endTime=old["endTime"].replace("Z", "+00:00"),
            requestReschedule=request_reschedule,
            cancellationReason=reason,
        )


@dataclass
class CalcomSender:
    """Posts deliveries to a gateway's ``/calendars/calcom``, signed like Cal.com."""

    url: str
    http: httpx.AsyncClient
    secret: str = SECRET

    async def send(
        self,
        delivery: dict[str, Any] | bytes,
        *,
        signatures: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST ``delivery`` (JSON, or raw bytes) with its signature, or with ``signatures`` instead
        (none, several, forged)."""
        body = delivery if isinstance(delivery, bytes) else json.dumps(delivery).encode()
        sent = [("Content-Type", "application/json"), ("X-Cal-Webhook-Version", "2021-10-20")]
        for value in [signature(body, self.secret)] if signatures is None else signatures:
            sent.append(("X-Cal-Signature-256", value))
        sent += list((headers or {}).items())
        return await self.http.post(f"{self.url}/calendars/calcom", content=body, headers=sent)
