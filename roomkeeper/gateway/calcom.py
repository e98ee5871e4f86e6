"""The Cal.com webhook: ``/calendars/calcom`` on the meeting client (placeholder: built by issue 9)."""

from __future__ import annotations

from fastapi import APIRouter

from roomkeeper.gateway.config import GatewayConfig
from roomkeeper.meeting_client import MeetingClient


def calcom_router(config: GatewayConfig, meetings: MeetingClient) -> APIRouter:
    return APIRouter()
