"""``roomkeeper gateway``: the gateway as its own process, configured by the environment."""

from __future__ import annotations

import asyncio
import logging
from typing import NoReturn

from pydantic import SecretStr

from common.room_events import MeetingSignaller
from common.settings import ConfigurationError, Settings, exit_for, settings_or_exit
from roomkeeper.gateway.app import create_gateway
from roomkeeper.gateway.config import GatewayConfig
from roomkeeper.meeting_client import MeetingClient
from roomkeeper.serving import bind, exit_after, serve


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


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


async def _serve(settings: Settings, auth_token: SecretStr, host: str, port: int) -> None:
    from common.temporal import connect

    try:
        client = await connect(settings)
    except RuntimeError as error:
        raise SystemExit(f"roomkeeper gateway: cannot connect to Temporal: {error}") from None
    app = create_gateway(
        GatewayConfig(
            settings.public_url,
            auth_token.get_secret_value(),
            api_token=_secret(settings.api_token),
            calcom_webhook_secret=_secret(settings.calcom_webhook_secret),
        ),
        MeetingSignaller(client),
        MeetingClient(client, settings.task_queue),
    )
    _server, task = await serve(app, bind(host, port), log_level="info")
    logging.getLogger("roomkeeper.gateway").info(
        "gateway on http://%s:%d (public URL %s)", host, port, settings.public_url
    )
    await task  # uvicorn ends it on SIGTERM or SIGINT


def run(host: str, port: int) -> NoReturn:
    """``roomkeeper gateway``: exit status 0 after SIGTERM/SIGINT, 2 for a configuration problem."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = settings_or_exit("gateway")
    auth_token = _auth_token(settings)
    exit_after(lambda: asyncio.run(_serve(settings, auth_token, host, port)))
