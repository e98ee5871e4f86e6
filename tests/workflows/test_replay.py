"""Recorded MeetingWorkflow and CalendarFeedWorkflow histories must replay on today's code: a
non-deterministic change fails here before it can break running workflows (then guard it with
``workflow.patched``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.calendar_feed import CalendarFeedWorkflow
from workflows.meeting import MeetingWorkflow

HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))


def test_histories_are_committed() -> None:
    assert len(HISTORIES) >= 3


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())  # noqa: ASYNC240 - a small local file
    replayer = Replayer(
        workflows=[MeetingWorkflow, CalendarFeedWorkflow], data_converter=pydantic_data_converter
    )
    await replayer.replay_workflow(history)
