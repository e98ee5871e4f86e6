"""``POST /calendars/calcom``: Cal.com's webhook, verified, then applied by the Cal.com door.

In this order, each refusal answered as ``{"error": ...}`` and none a 500:

- 503 when ``CALCOM_WEBHOOK_SECRET`` is not set (nothing could be verified, so nothing is read);
- 413 for a body over the limit (by ``Content-Length`` before reading, or while reading);
- 403 unless ``X-Cal-Signature-256`` is one header holding the hex HMAC-SHA256 of the raw body with the
  secret (checked in constant time, before the body is parsed);
- 400 for a body that is not JSON or lacks a field its trigger needs (the message names it).

A verified delivery is answered with what it did (``{"trigger", "outcome", "meeting_id", ...}``):
200 when it was applied or needed nothing (stale, repeated, ignored triggers), 409 when the meeting
refused it, 422 when no meeting can be made of the booking, 503 (with ``Retry-After``) when Temporal
did not answer in time or failed unexpectedly (logged with its traceback); delivering it again is
always safe. One log line per delivery says the trigger,
the booking's uid and the outcome, never the secret or an attendee.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from roomkeeper.calcom import signature
from roomkeeper.calcom.door import CalcomDoor, Outcome
from roomkeeper.calcom.payload import BadPayload, parse_delivery
from roomkeeper.gateway.bodies import Refused, bounded_body, clip
from roomkeeper.gateway.config import GatewayConfig
from roomkeeper.meeting_client import MeetingClient, MeetingError, TemporalUnavailable

log = logging.getLogger(__name__)

PATH = "/calendars/calcom"
#: The most one delivery may take: Temporal calls are bounded one by one, and a reschedule of an open
#: meeting waits for its room to close; past this, Cal.com hears 503 and may deliver again.
DELIVERY_BUDGET = timedelta(seconds=40)
_NO_SECRET = "CALCOM_WEBHOOK_SECRET is not set: roomkeeper refuses Cal.com deliveries it cannot verify"


def calcom_router(config: GatewayConfig, meetings: MeetingClient) -> APIRouter:
    """The Cal.com webhook route, applying deliveries to ``meetings``."""
    router = APIRouter()
    door = CalcomDoor(meetings, config.calcom_event_types)
    secret = config.calcom_webhook_secret

    @router.post(
        PATH,
        summary="Cal.com webhook",
        description="Subscriber URL of a Cal.com webhook (see docs/calcom.md); signed with "
        "CALCOM_WEBHOOK_SECRET.",
    )
    async def calcom_webhook(request: Request) -> JSONResponse:
        trigger: str | None = None
        uid: str | None = None
        try:
            if not secret:
                raise Refused(503, _NO_SECRET)
            body = await bounded_body(request, config.calcom_max_body_bytes)
            try:
                signature.check(secret, body, request.headers.getlist(signature.HEADER))
            except signature.BadSignature as bad:
                raise Refused(403, str(bad)) from None
            try:
                delivery = parse_delivery(body)
                trigger, uid = delivery.trigger, delivery.booking_uid
                async with asyncio.timeout(DELIVERY_BUDGET.total_seconds()):
                    outcome = await door.deliver(delivery)
            except BadPayload as bad:
                raise Refused(400, f"malformed Cal.com delivery: {bad}") from None
        except Refused as refusal:
            # %r throughout: the trigger and uid come from the request and may hold CR/LF.
            log.warning(
                "Cal.com delivery %r for booking %r refused: %d %r",
                None if trigger is None else clip(trigger),
                None if uid is None else clip(uid),
                refusal.status_code,
                clip(refusal.message),
            )
            return refusal.response()
        except TimeoutError:
            budget = DELIVERY_BUDGET.total_seconds()
            outcome = Outcome(503, "busy", detail=f"not done within {budget:g} s; delivering again is safe")
        except TemporalUnavailable as error:
            outcome = Outcome(503, "unavailable", detail=f"{error}; delivering it again is safe")
        except MeetingError as error:
            outcome = Outcome(409, "rejected", detail=str(error))
        except Exception as error:  # a surprise from Temporal's client: logged in full, never a bare 500
            log.exception("Cal.com delivery %r for booking %r failed", clip(trigger or ""), uid and clip(uid))
            outcome = Outcome(503, "failed", detail=f"{type(error).__name__}; delivering it again is safe")
        log.log(
            logging.INFO if outcome.status_code < 500 else logging.WARNING,
            "Cal.com delivery %r for booking %r: %s %s (%d) %r",
            clip(trigger or ""),
            None if uid is None else clip(uid),
            outcome.outcome,
            outcome.meeting_id,
            outcome.status_code,
            clip(outcome.detail),
        )
        retry = outcome.status_code == 503
        headers = {"Retry-After": str(TemporalUnavailable.retry_after)} if retry else None
        return JSONResponse(outcome.body(trigger or ""), status_code=outcome.status_code, headers=headers)

    return router
