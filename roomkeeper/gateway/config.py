"""What the gateway is told at start: where Twilio reaches it and the secrets it checks requests with."""

from __future__ import annotations

from dataclasses import dataclass, field

from roomkeeper.calcom.event_types import EventTypes
from roomkeeper.join_tokens import JoinTokenIssuer

#: Twilio's status callbacks are a few hundred bytes; this is generous and still cheap to parse.
MAX_BODY_BYTES = 64 * 1024
#: A Cal.com delivery carries the whole booking (description, responses, every attendee): a few KiB,
#: tens for a crowded seated event.
MAX_CALCOM_BODY_BYTES = 256 * 1024


@dataclass(frozen=True)
class GatewayConfig:
    """What the gateway needs to know: where Twilio reaches it and how Twilio signs."""

    #: The base URL Twilio calls (``ROOMKEEPER_PUBLIC_URL``); signatures are checked against it.
    public_url: str
    #: The account's auth token: Twilio signs callbacks with it even when the API uses a key.
    #: Kept out of the repr, so no log or traceback of the config shows it.
    auth_token: str = field(repr=False)
    #: Largest callback body read, and largest request target (path + query) accepted, in bytes.
    max_body_bytes: int = MAX_BODY_BYTES
    #: The meetings API's bearer token (``ROOMKEEPER_API_TOKEN``); None (or empty) closes the API: every
    #: ``/meetings`` request, reads too, is a 503 (a status names the meeting's participants).
    api_token: str | None = field(default=None, repr=False)
    #: Cal.com's webhook secret (``CALCOM_WEBHOOK_SECRET``); None refuses every Cal.com delivery.
    calcom_webhook_secret: str | None = field(default=None, repr=False)
    #: Room options per Cal.com event type (``ROOMKEEPER_CALCOM_EVENT_TYPES``); empty: the defaults.
    calcom_event_types: EventTypes = field(default_factory=EventTypes)
    #: Largest Cal.com delivery read, in bytes.
    calcom_max_body_bytes: int = MAX_CALCOM_BODY_BYTES
    #: Signs join tokens (``POST /meetings/{id}/tokens``) with the account's API key; None answers 503.
    #: Out of the repr: it holds the API key's secret.
    join_tokens: JoinTokenIssuer | None = field(default=None, repr=False)
