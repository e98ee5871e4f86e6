"""``roomkeeper gateway``: the gateway as its own process, configured by the environment."""

from __future__ import annotations

import asyncio
import logging

from roomkeeper.gateway.app import GatewayConfig, create_gateway
from roomkeeper.meeting_signals import MeetingSignaller
from roomkeeper.serving import bind, serve
from roomkeeper.settings import Settings


def run(host: str, port: int) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    if settings.twilio_auth_token is None:
        raise SystemExit("TWILIO_AUTH_TOKEN is required: Twilio signs status callbacks with the auth token")
    auth_token = settings.twilio_auth_token.get_secret_value()

    async def main() -> None:
        from worker import connect

        client = await connect(settings)
        app = create_gateway(
            GatewayConfig(settings.public_url, auth_token),
            MeetingSignaller(client),
        )
        _server, task = await serve(app, bind(host, port), log_level="info")
        logging.getLogger("roomkeeper.gateway").info(
            "gateway on http://%s:%d (public URL %s)", host, port, settings.public_url
        )
        await task

    asyncio.run(main())
    return 0
