"""``roomkeeper gateway``: the gateway as its own process, configured by the environment."""

from __future__ import annotations

import asyncio
import logging
from typing import NoReturn

from pydantic import SecretStr

from common.room_events import MeetingSignaller
from common.sealing import Sealer, SealingError
from common.settings import ConfigurationError, LogFormat, Settings, exit_for, reveal, settings_or_exit
from roomkeeper import logs
from roomkeeper.calcom.event_types import EventTypes, load_event_types
from roomkeeper.calendar_client import CalendarClient
from roomkeeper.gateway.app import create_gateway
from roomkeeper.gateway.config import GatewayConfig
from roomkeeper.join_tokens import JoinTokenIssuer
from roomkeeper.meeting_client import MeetingClient
from roomkeeper.serving import bind, exit_after, serve


def _auth_token(settings: Settings) -> SecretStr:
    if settings.twilio_auth_token is None:
        exit_for(
            "gateway",
            ConfigurationError(
                [
                    "TWILIO_AUTH_TOKEN is required: Twilio signs status callbacks with the auth token, "
                    "even when the REST API uses an API key"
                ]
            ),
        )
    return settings.twilio_auth_token


def sealer_or_exit(settings: Settings, process: str) -> Sealer:
    """The calendar addresses' sealer, checked at start: a bad or unkeepable key is one line, exit 2."""
    try:
        return Sealer.from_setting(reveal(settings.secret_key))
    except SealingError as error:
        exit_for(process, ConfigurationError([str(error)]))


def calcom_event_types(settings: Settings, process: str = "gateway") -> EventTypes:
    """The Cal.com event-type options file, checked now: a bad one stops the process before it serves."""
    if settings.calcom_event_types is None:
        return EventTypes()
    try:
        return load_event_types(settings.calcom_event_types)
    except ConfigurationError as error:
        exit_for(process, error)


async def _serve(  # noqa: PLR0917 - one private call site
    settings: Settings, auth_token: SecretStr, event_types: EventTypes, sealer: Sealer, host: str, port: int
) -> None:
    from common.temporal import connect

    try:
        client = await connect(settings)
    except RuntimeError as error:
        raise SystemExit(f"roomkeeper gateway: cannot connect to Temporal: {error}") from None
    try:
        join_tokens: JoinTokenIssuer | None = JoinTokenIssuer.from_settings(settings)
        tokens_off = None
    except ConfigurationError as error:  # the gateway serves all the rest without an API key
        join_tokens, tokens_off = None, "; ".join(error.problems)
    app = create_gateway(
        GatewayConfig(
            settings.public_url,
            auth_token.get_secret_value(),
            api_token=reveal(settings.api_token),
            calcom_webhook_secret=reveal(settings.calcom_webhook_secret),
            calcom_event_types=event_types,
            join_tokens=join_tokens,
        ),
        MeetingSignaller(client),
        MeetingClient(client, settings.task_queue),
        CalendarClient(client, settings.task_queue, sealer),
    )
    # log_config=None: uvicorn's lines go through the process's own log format (JSON included).
    _server, task = await serve(app, bind(host, port), log_level="info", log_config=None)
    log = logging.getLogger("roomkeeper.gateway")
    log.info("gateway on http://%s:%d (public URL %s)", host, port, settings.public_url)
    if settings.calcom_webhook_secret is None:
        log.info("Cal.com webhook off: CALCOM_WEBHOOK_SECRET is not set, so /calendars/calcom refuses (503)")
    else:
        log.info(
            "Cal.com webhook at %s/calendars/calcom (%d event types with their own room options)",
            settings.public_url.rstrip("/"),
            len(event_types.by_key),
        )
    if tokens_off is not None:
        log.info("join tokens off (POST /meetings/{id}/tokens answers 503): %s", tokens_off)
    else:
        assert join_tokens is not None
        log.info("join tokens signed with API key %s", join_tokens.api_key_sid)
    await task  # uvicorn ends it on SIGTERM or SIGINT


def run(host: str, port: int, log_format: LogFormat | None = None) -> NoReturn:
    """``roomkeeper gateway``: exit status 0 after SIGTERM/SIGINT, 2 for a configuration problem, 1 (and
    one line) when Temporal cannot be reached. ``log_format`` wins over ``ROOMKEEPER_LOG_FORMAT``."""
    settings = settings_or_exit("gateway")
    logs.configure(log_format or settings.log_format)
    auth_token = _auth_token(settings)
    event_types = calcom_event_types(settings)
    sealer = sealer_or_exit(settings, "gateway")
    exit_after(lambda: asyncio.run(_serve(settings, auth_token, event_types, sealer, host, port)))
