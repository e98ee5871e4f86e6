"""docs/reference.md is what the models say (regenerate it with `python -m roomkeeper.reference`)."""

from __future__ import annotations

from pathlib import Path

from roomkeeper.reference import render

PAGE = Path(__file__).resolve().parents[1] / "docs" / "reference.md"


def test_the_reference_page_matches_the_models() -> None:
    assert PAGE.read_text() == render(), (
        "docs/reference.md is stale: python -m roomkeeper.reference > docs/reference.md"
    )


def test_every_input_field_is_described() -> None:
    page = render()
    for field in ("meeting_id", "open_before_seconds", "max_participant_duration", "if_room_ends_early"):
        assert f"| `{field}` |" in page
    assert "| — |" not in page.split("## Live control")[0], "an input field without a default shown"
