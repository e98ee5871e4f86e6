"""The gateway's ASGI app.

``/twilio/status/{workflow_id}`` checks ``X-Twilio-Signature`` against the URL Twilio called (the public
URL, not whatever a proxy turned it into), turns the callback into a ``RoomEvent`` and signals the
workflow named in the path. Forged requests get 403, malformed ones 400; a callback for a meeting that
is no longer running is acknowledged (200) so nothing retries it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.service import RPCError

from roomkeeper.gateway.callbacks import BadCallback, room_event_from_callback
from roomkeeper.meeting_signals import WorkflowGone
from roomkeeper.status_callback import PATH_PREFIX
from twilio_video.signature import is_valid_signature
from workflows.meeting_models import RoomEvent

log = logging.getLogger(__name__)


class Signaller(Protocol):
    async def room_event(self, workflow_id: str, event: RoomEvent) -> None: ...


@dataclass(frozen=True)
class GatewayConfig:
    public_url: str
    #: The account's auth token: Twilio signs callbacks with it even when the API uses a key.
    auth_token: str


def create_gateway(config: GatewayConfig, signaller: Signaller) -> FastAPI:
    app = FastAPI(title="roomkeeper gateway", docs_url="/docs", redoc_url=None)
    public_url = config.public_url.rstrip("/")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.api_route(PATH_PREFIX + "{workflow_id}", methods=["GET", "POST"], include_in_schema=False)
    async def status_callback(workflow_id: str, request: Request) -> JSONResponse:
        query = request.url.query
        signed_url = public_url + request.url.path + (f"?{query}" if query else "")
        if request.method == "POST":
            try:
                body = (await request.body()).decode()
            except UnicodeDecodeError:
                return JSONResponse({"error": "body is not UTF-8"}, status_code=400)
            form = parse_qsl(body, keep_blank_values=True)
            signed_params: list[tuple[str, str]] = form
            params = dict(form)
        else:
            signed_params = []
            params = dict(parse_qsl(query, keep_blank_values=True))
        signature = request.headers.get("x-twilio-signature", "")
        if not signature or not is_valid_signature(config.auth_token, signed_url, signed_params, signature):
            log.warning("rejected status callback for %s: bad or missing X-Twilio-Signature", workflow_id)
            return JSONResponse({"error": "invalid X-Twilio-Signature"}, status_code=403)
        try:
            event = room_event_from_callback(params)
        except BadCallback as exc:
            return JSONResponse({"error": f"malformed status callback: {exc}"}, status_code=400)
        if event is None:
            return JSONResponse({"ignored": params.get("StatusCallbackEvent")}, status_code=200)
        try:
            await signaller.room_event(workflow_id, event)
        except WorkflowGone:
            return JSONResponse({"ignored": f"workflow {workflow_id} is not running"}, status_code=200)
        except RPCError as error:
            log.error("could not signal %s: %s", workflow_id, error)
            return JSONResponse({"error": "Temporal is unavailable; try again"}, status_code=503)
        return JSONResponse({"signalled": workflow_id, "event": event.kind.value}, status_code=202)

    return app
