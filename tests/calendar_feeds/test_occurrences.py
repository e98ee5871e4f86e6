"""A feed's occurrences, checked exactly in UTC: DST, EXDATE, overrides, cancellations, Google's zone,
all-day, floating, free and end-less events. The window is fixed, so nothing depends on today."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from calendar_feeds.models import Expansion, FeedError, FeedOptions
from calendar_feeds.occurrences import check_shape, expand

FEEDS = Path(__file__).parent / "feeds"
WINDOW = datetime(2026, 10, 1, tzinfo=UTC)


def feed(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def utc(moment: datetime | str) -> str:
    """``MM-DD HH:MM`` in UTC: short enough for a table, exact to the minute."""
    moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    assert moment.utcoffset() == timedelta(0)
    return moment.strftime("%m-%d %H:%M")


def table(expansion: Expansion) -> list[tuple[str, str, str, str, bool]]:
    """(original start, start, end, title, cancelled) per occurrence, times in UTC."""
    return [
        (utc(o.recurrence_id or o.start), utc(o.start), utc(o.end), o.title, o.cancelled)
        for o in expansion.occurrences
    ]


def test_a_weekly_berlin_series_across_the_october_dst_change() -> None:
    found = expand(feed("berlin_weekly.ics"), WINDOW, FeedOptions(horizon=timedelta(days=60)))
    # 09:00 in Berlin is 07:00 UTC in summer time and 08:00 UTC after 25 October.
    assert table(found) == [
        ("10-13 07:00", "10-13 07:00", "10-13 07:15", "Weekly standup", False),
        # 20 October: EXDATE, no occurrence. 27 October: moved to 11:00-11:30 local.
        ("10-27 08:00", "10-27 10:00", "10-27 10:30", "Weekly standup (moved)", False),
        # 3 November: cancelled, kept so that a sync cancels its meeting.
        ("11-03 08:00", "11-03 08:00", "11-03 08:15", "Weekly standup", True),
        ("11-10 08:00", "11-10 08:00", "11-10 08:15", "Weekly standup", False),
        ("11-17 08:00", "11-17 08:00", "11-17 08:15", "Weekly standup", False),
    ]
    assert {o.uid for o in found.occurrences} == {"weekly-standup@example.com"}
    assert {o.zone for o in found.occurrences} == {"Europe/Berlin"}
    assert found.skipped == []


def test_the_horizon_bounds_the_window() -> None:
    found = expand(feed("berlin_weekly.ics"), datetime(2026, 10, 27, 9, tzinfo=UTC), FeedOptions())
    # Starts in [27 Oct 09:00Z, 10 Nov 09:00Z): the moved instance (10:00Z) and 3 Nov; 10 Nov at 08:00Z.
    assert [o.start.isoformat() for o in found.occurrences] == [
        "2026-10-27T10:00:00+00:00",
        "2026-11-03T08:00:00+00:00",
        "2026-11-10T08:00:00+00:00",
    ]


def test_a_google_feed_recurs_in_its_x_wr_timezone() -> None:
    found = expand(feed("google_x_wr_timezone.ics"), WINDOW, FeedOptions(horizon=timedelta(days=60)))
    # Written as 13:00Z (09:00 in New York, summer time); New York leaves DST on 1 November, and the
    # meeting stays at 09:00 local: 14:00Z.
    assert [(o.start.isoformat(), o.end.isoformat()) for o in found.occurrences] == [
        ("2026-10-20T13:00:00+00:00", "2026-10-20T13:30:00+00:00"),
        ("2026-10-27T13:00:00+00:00", "2026-10-27T13:30:00+00:00"),
        ("2026-11-03T14:00:00+00:00", "2026-11-03T14:30:00+00:00"),
    ]
    assert found.feed_zone == "America/New_York"


def test_all_day_floating_free_and_endless_events_by_default() -> None:
    found = expand(feed("mixed.ics"), datetime(2026, 10, 19, tzinfo=UTC), FeedOptions())
    assert [(o.uid, o.start.isoformat(), o.end.isoformat()) for o in found.occurrences] == [
        ("this-and-future@example.com", "2026-10-19T14:00:00+00:00", "2026-10-19T14:30:00+00:00"),
        ("this-and-future@example.com", "2026-10-20T14:00:00+00:00", "2026-10-20T14:30:00+00:00"),
        # RANGE=THISANDFUTURE from 21 October: an hour later from then on, keyed by the original start.
        ("this-and-future@example.com", "2026-10-21T15:00:00+00:00", "2026-10-21T15:30:00+00:00"),
        ("this-and-future@example.com", "2026-10-22T15:00:00+00:00", "2026-10-22T15:30:00+00:00"),
        # No DTEND and no DURATION: the default length (30 min).
        ("no-end@example.com", "2026-10-23T12:00:00+00:00", "2026-10-23T12:30:00+00:00"),
        ("duration@example.com", "2026-10-23T13:00:00+00:00", "2026-10-23T13:45:00+00:00"),
        ("this-and-future@example.com", "2026-10-23T15:00:00+00:00", "2026-10-23T15:30:00+00:00"),
    ]
    # A single event's key has no recurrence id, so moving it keeps its meeting.
    assert {o.recurrence_id for o in found.occurrences if not o.uid.startswith("this-and")} == {None}
    daily = [o.recurrence_id for o in found.occurrences if o.uid.startswith("this-and-future")]
    assert daily == [f"2026-10-{day}T14:00:00+00:00" for day in (19, 20, 21, 22, 23)]
    assert [(s.uid, s.reason) for s in found.skipped] == [
        ("all-day@example.com", "an all-day event (all-day events are not meetings by default)"),
        (
            "floating@example.com",
            "a floating time (no TZID, no Z) and neither X-WR-TIMEZONE nor a configured time zone "
            "to place it",
        ),
        ("free@example.com", "marked free (TRANSP:TRANSPARENT)"),
    ]


def test_all_day_floating_and_free_events_when_configured() -> None:
    options = FeedOptions(timezone="Europe/Berlin", include_all_day=True, include_free=True)
    found = expand(feed("mixed.ics"), datetime(2026, 10, 19, tzinfo=UTC), options)
    by_uid = {o.uid: o for o in found.occurrences if not o.uid.startswith("this-and-future")}
    # The all-day event is its whole day in Berlin; the floating 15:00 is Berlin's 15:00.
    assert (by_uid["all-day@example.com"].start, by_uid["all-day@example.com"].end) == (
        datetime(2026, 10, 20, 22, tzinfo=UTC),
        datetime(2026, 10, 21, 22, tzinfo=UTC),
    )
    assert by_uid["floating@example.com"].start == datetime(2026, 10, 22, 13, tzinfo=UTC)
    assert by_uid["floating@example.com"].zone == "Europe/Berlin"
    assert by_uid["free@example.com"].start == datetime(2026, 10, 23, 10, tzinfo=UTC)
    assert found.skipped == []


def test_a_higher_sequence_wins_and_method_cancel_cancels_everything() -> None:
    base = feed("berlin_weekly.ics").decode()
    cancelled = base.replace("VERSION:2.0", "VERSION:2.0\r\nMETHOD:CANCEL", 1).encode()
    found = expand(cancelled, WINDOW, FeedOptions(horizon=timedelta(days=60)))
    assert found.occurrences and all(o.cancelled for o in found.occurrences)


def test_events_without_uid_or_start_are_reported_not_fatal() -> None:
    data = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
        b"BEGIN:VEVENT\r\nUID:no-start\r\nSUMMARY:x\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nSUMMARY:no uid\r\nDTSTART:20261002T100000Z\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:fine\r\nDTSTART:20261002T100000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\n"
        b"END:VCALENDAR\r\n"
    )
    found = expand(data, WINDOW, FeedOptions())
    assert [o.uid for o in found.occurrences] == ["fine"]
    assert [(s.uid, s.reason) for s in found.skipped] == [
        ("(no UID: 'no uid')", "the event has no UID"),
        ("no-start", "the event has no DTSTART"),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html>login</html>", "not an iCalendar feed: it does not start with BEGIN:VCALENDAR"),
        (b"BEGIN:VCALENDAR\r\n" + b"BEGIN:X\r\n" * 9, "components are nested more than 8 deep"),
        (
            b"BEGIN:VCALENDAR\r\n" + b"BEGIN:VEVENT\r\nEND:VEVENT\r\n" * 20_001,
            "the feed has more than 20000 components",
        ),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nRRULE:FREQ=SECONDLY;COUNT=1000000000\r\n",
            "an event recurs FREQ=SECONDLY: sub-hourly recurrence is not a meeting series and is refused",
        ),
        (
            b"BEGIN:VCALENDAR\r\n" + b"X" * (5 * 1024 * 1024),
            "the feed is 5242897 bytes; the limit is 5242880 bytes",
        ),
    ],
    ids=["not-ics", "nested", "too-many-components", "secondly", "huge"],
)
def test_hostile_shapes_are_refused_before_parsing(data: bytes, message: str) -> None:
    with pytest.raises(FeedError) as refused:
        check_shape(data)
    assert str(refused.value) == message


def test_unknown_zones_and_garbage_are_feed_errors() -> None:
    with pytest.raises(ValueError, match="'Mars/Olympus' is not an IANA time zone"):
        FeedOptions(timezone="Mars/Olympus")
    google = feed("google_x_wr_timezone.ics").replace(b"America/New_York", b"Mars/Olympus")
    with pytest.raises(FeedError, match="'Mars/Olympus' is not an IANA time zone"):
        expand(google, WINDOW, FeedOptions())
    broken_rule = feed("berlin_weekly.ics").replace(b"BYDAY=TU;COUNT=6", b"BYDAY=XX;COUNT=six")
    with pytest.raises(
        FeedError, match=r"^(not a valid iCalendar feed|cannot expand the feed's recurrences): "
    ):
        expand(broken_rule, WINDOW, FeedOptions())


def test_rdate_adds_an_instance() -> None:
    data = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:rdate\r\nDTSTART:20261005T100000Z\r\n"
        b"DURATION:PT1H\r\nRRULE:FREQ=WEEKLY;COUNT=2\r\nRDATE:20261007T150000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    found = expand(data, WINDOW, FeedOptions())
    assert [(utc(o.recurrence_id or ""), utc(o.start)) for o in found.occurrences] == [
        ("10-05 10:00", "10-05 10:00"),
        ("10-07 15:00", "10-07 15:00"),
        ("10-12 10:00", "10-12 10:00"),
    ]
