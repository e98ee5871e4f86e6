"""What ``roomkeeper meeting`` prints for states the end-to-end tests do not reach cheaply (trouble, long
histories, a meeting still closing), and the ids it makes up. No Temporal needed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from roomkeeper.meeting_cli import generated_id
from roomkeeper.meeting_client import MeetingListing
from roomkeeper.meeting_output import ended_text, listing_table, status_text
from workflows.meeting_input import MeetingSpec
from workflows.meeting_status import HistoryEntry, MeetingStatus, Phase, Trouble

UTC_ZONE = ZoneInfo("UTC")
START = datetime(2031, 12, 1, 9, 0, tzinfo=UTC)


def test_status_with_trouble_and_a_long_history() -> None:
    status = MeetingStatus(
        meeting_id="standup",
        title="",
        phase=Phase.CLOSING,
        room_sid="RM" + "0" * 32,
        start_time=START,
        end_time=START + timedelta(minutes=30),
        open_at=START - timedelta(minutes=2),
        opened_at=START - timedelta(minutes=2),
        participants=[],
        trouble=Trouble(
            operation="CompleteRoom",
            since=START + timedelta(minutes=30),
            rounds=3,
            last_error="503 from Twilio",
        ),
        history=[HistoryEntry(at=START + timedelta(minutes=i), what=f"event {i}") for i in range(23)],
    )
    lines = status_text(status, UTC_ZONE).splitlines()
    assert lines[:9] == [
        "meeting    standup",
        "phase      closing",
        "room       RM" + "0" * 32,
        "start      2031-12-01 09:00:00 UTC",
        "end        2031-12-01 09:30:00 UTC",
        "opened at  2031-12-01 08:58:00 UTC",
        "connected  nobody",
        "trouble: CompleteRoom failing since 2031-12-01 09:30:00 UTC (3 rounds): 503 from Twilio",
        "history (last 10 of 23):",
    ]
    assert lines[9:] == [f"  2031-12-01 09:{i:02d}:00 UTC  event {i}" for i in range(13, 23)]


def test_a_meeting_still_closing_and_a_listing_without_times() -> None:
    assert ended_text("standup", None, UTC_ZONE) == (
        "standup is ending: its room is still being completed (see roomkeeper meeting status standup)\n"
    )
    started_elsewhere = MeetingListing(
        meeting_id="by-hand",
        workflow_id="meeting-by-hand",
        title="",
        phase="running",
        start_time=None,
        end_time=None,
    )
    assert listing_table([started_elsewhere], UTC_ZONE).splitlines() == [
        "ID       PHASE    START  END  TITLE",
        "by-hand  running  -      -",
    ]


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Daily standup", "daily-standup"),
        ("Café \u2013 Réunion d'équipe!", "cafe-reunion-d-equipe"),
        ("  ---  ", ""),
        ("会議", ""),
        ("A" * 60 + " tail", "a" * 40),
        ("word " * 20, "word-word-word-word-word-word-word-word"),  # cut at 40, no trailing dash
    ],
)
def test_generated_ids_are_readable_and_valid(title: str, slug: str) -> None:
    made = generated_id(title)
    suffix = r"[a-z0-9]{6}" if slug else r"[a-z0-9]{8}"
    assert re.fullmatch((re.escape(slug) + "-" if slug else "") + suffix, made), made
    MeetingSpec.model_validate(
        {"meeting_id": made, "start_time": START, "end_time": START + timedelta(hours=1)}
    )  # a valid id
    assert generated_id(title) != made
