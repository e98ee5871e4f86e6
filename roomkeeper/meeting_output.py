"""What ``roomkeeper meeting`` prints: the JSON of ``--json`` (pydantic models, so it parses back) and the
human text otherwise. Times are shown in the zone the user asked for (``--timezone``) or this machine's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta, tzinfo

from pydantic import BaseModel, Field, TypeAdapter

from roomkeeper.join_tokens import JoinToken
from roomkeeper.meeting_client import MeetingListing
from roomkeeper.when import format_duration, shown
from workflows.meeting_input import MeetingSpec
from workflows.meeting_status import MeetingStatus, MeetingSummary

#: How many of the meeting's history lines ``status`` shows (the workflow keeps the last 100).
HISTORY_LINES = 10


class ScheduleResult(BaseModel):
    """What ``roomkeeper meeting schedule --json`` prints; ``spec`` is accepted back by ``--spec``."""

    meeting_id: str = Field(description="The meeting's id (given with --id, or generated).")
    workflow_id: str = Field(description="Its workflow id, `meeting-<meeting_id>`.")
    created: bool = Field(description="False when it already existed with this spec: nothing was started.")
    spec: MeetingSpec = Field(description="The meeting as started: the workflow's input.")


class CancelResult(BaseModel):
    """What ``roomkeeper meeting cancel --json`` prints: the ``cancel`` signal was delivered."""

    meeting_id: str = Field(description="The meeting's id.")
    workflow_id: str = Field(description="Its workflow id.")
    reason: str | None = Field(None, description="The reason given, if any.")


LISTINGS = TypeAdapter(list[MeetingListing])


def as_json(value: BaseModel | None) -> str:
    """A model as indented JSON (``null`` for none), ending with a newline."""
    return ("null" if value is None else value.model_dump_json(indent=2)) + "\n"


def listings_json(meetings: Sequence[MeetingListing]) -> str:
    return LISTINGS.dump_json(list(meetings), indent=2).decode() + "\n"


def _rows(pairs: Sequence[tuple[str, str]], indent: str = "") -> list[str]:
    width = max(len(label) for label, _ in pairs)
    return [f"{indent}{label.ljust(width)}  {value}".rstrip() for label, value in pairs]


def _title(meeting_id: str, title: str) -> str:
    return f"{meeting_id} ({title})" if title else meeting_id


def scheduled_text(spec: MeetingSpec, created: bool, zone: tzinfo | None) -> str:
    headline = (
        f"scheduled {_title(spec.meeting_id, spec.title)}"
        if created
        else f"already scheduled with this spec: {_title(spec.meeting_id, spec.title)} (nothing changed)"
    )
    rows = [
        ("start", shown(spec.start_time, zone, utc_too=True)),
        ("end", shown(spec.end_time, zone, utc_too=True)),
        ("room opens", shown(spec.open_at, zone, utc_too=True)),
        ("room", f"{spec.unique_name} ({spec.room.type.value}, up to {spec.room.max_participants})"),
    ]
    follow = f"follow it with: roomkeeper meeting status {spec.meeting_id}"
    return "\n".join([headline, *_rows(rows, "  "), follow]) + "\n"


def status_text(status: MeetingStatus, zone: tzinfo | None) -> str:
    rows = [
        ("meeting", _title(status.meeting_id, status.title)),
        ("phase", status.phase.value),
        ("room", status.room_sid or "none yet"),
        ("start", shown(status.start_time, zone, utc_too=True)),
        ("end", shown(status.end_time, zone, utc_too=True)),
        (
            ("opened at", shown(status.opened_at, zone, utc_too=True))
            if status.opened_at
            else ("opens at", shown(status.open_at, zone, utc_too=True))
        ),
        ("connected", str(len(status.participants)) if status.participants else "nobody"),
    ]
    lines = _rows(rows)
    if status.participants:
        width = max(len(p.identity) for p in status.participants)
        lines += [
            f"  {p.identity.ljust(width)}  since {shown(p.connected_at, zone)}, "
            + (
                f"evicted at {shown(p.eviction_deadline, zone)}"
                if p.eviction_deadline is not None
                else "stays until the end"
            )
            for p in status.participants
        ]
    if status.trouble:
        trouble = status.trouble
        lines.append(
            f"trouble: {trouble.operation} failing since {shown(trouble.since, zone)} "
            f"({trouble.rounds} round{'s' if trouble.rounds != 1 else ''}): {trouble.last_error}"
        )
    if status.extensions:
        lines.append(f"extended: {len(status.extensions)} time{'s' if len(status.extensions) != 1 else ''}")
        lines += [
            f"  {shown(e.at, zone)}  +{e.minutes} min to {shown(e.new_end, zone)}"
            + (f" (by {e.actor})" if e.actor else "")
            for e in status.extensions
        ]
    if (events := status.events) is not None:
        if events.receiver is None:
            if events.why_none:  # asked for, and refused; silence is the default
                lines.append(f"events: none ({events.why_none})")
        else:
            failed = f", {events.failed} failed (last: {events.last_failure})" if events.failed else ""
            counts = f"{events.delivered} delivered, {events.pending} pending{failed}"
            lines.append(f"events: to {events.receiver}: {counts}")
    if status.history:
        recent = status.history[-HISTORY_LINES:]
        more = f" (last {len(recent)} of {len(status.history)})" if len(recent) < len(status.history) else ""
        lines.append(f"history{more}:")
        lines += [f"  {shown(entry.at, zone)}  {entry.what}" for entry in recent]
    return "\n".join(lines) + "\n"


def window_text(verb: str, status: MeetingStatus, zone: tzinfo | None) -> str:
    """One line after ``extend`` or ``reschedule``: the meeting's window now."""
    return (
        f"{verb} {status.meeting_id}: {shown(status.start_time, zone)} to "
        f"{shown(status.end_time, zone)} ({format_duration(status.end_time - status.start_time)}), "
        f"phase {status.phase.value}\n"
    )


def ended_text(meeting_id: str, summary: MeetingSummary | None, zone: tzinfo | None) -> str:
    if summary is None:
        return (
            f"{meeting_id} is ending: its room is still being completed "
            f"(see roomkeeper meeting status {meeting_id})\n"
        )
    closed = (
        f", room {summary.room_sid} closed at {shown(summary.closed_at, zone)}" if summary.closed_at else ""
    )
    evicted = f", {len(summary.participants_evicted)} evicted" if summary.participants_evicted else ""
    return (
        f"ended {meeting_id} ({summary.ended_by.value}){closed}; "
        f"{summary.participants_seen} participant connection(s) seen{evicted}\n"
    )


def listing_table(meetings: Sequence[MeetingListing], zone: tzinfo | None) -> str:
    header = ("ID", "PHASE", "START", "END", "TITLE")
    rows = [
        (
            m.meeting_id,
            m.phase,
            shown(m.start_time, zone) if m.start_time else "-",
            shown(m.end_time, zone) if m.end_time else "-",
            m.title,
        )
        for m in meetings
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
        for row in (header, *rows)
    )


def token_text(token: JoinToken, zone: tzinfo | None) -> str:
    """What ``meeting token`` says about the token it prints: who, which room, from when until when."""
    until = (
        "capped at Twilio's 24-hour limit: ask for another before then"
        if token.capped
        else f"the meeting's end plus {format_duration(timedelta(seconds=token.grace_seconds))} of grace"
        if token.grace_seconds
        else "the meeting's end"
    )
    rows = [
        ("valid from", shown(token.not_before, zone, utc_too=True)),
        ("until", f"{shown(token.expires_at, zone, utc_too=True)}, {until}"),
    ]
    headline = f"join token for {token.identity!r} in room {token.room!r} (meeting {token.meeting_id})"
    return "\n".join([headline, *_rows(rows, "  ")]) + "\n"
