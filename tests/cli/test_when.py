"""Times and durations as typed on the command line. Every "now" is passed in: nothing here depends on
today's date or on this machine's zone (except the one test that sets the zone on purpose)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from roomkeeper.when import (
    WhenError,
    day_bounds,
    format_duration,
    localize,
    parse_duration,
    parse_time,
    shown,
    zone_named,
)

NOW = datetime(2031, 6, 15, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(minutes=90)),
        ("1h 30m", timedelta(minutes=90)),
        ("90s", timedelta(seconds=90)),
        ("2d", timedelta(days=2)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        (" 15M ", timedelta(minutes=15)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not a duration: '' (write e.g. 30m, 1h, 1h30m, 90s or 2d)"),
        ("15", "not a duration: '15' (write e.g. 30m, 1h, 1h30m, 90s or 2d)"),
        ("1.5h", "not a duration: '1.5h' (write e.g. 30m, 1h, 1h30m, 90s or 2d)"),
        ("30m1h", "not a duration: '30m1h' (write e.g. 30m, 1h, 1h30m, 90s or 2d)"),
        ("-5m", "not a duration: '-5m' (write e.g. 30m, 1h, 1h30m, 90s or 2d)"),
        ("0m", "the duration '0m' is zero: give a positive one"),
        ("99999999d", "the duration '99999999d' is longer than 3650 days"),
    ],
)
def test_bad_durations(text: str, message: str) -> None:
    with pytest.raises(WhenError) as error:
        parse_duration(text)
    assert str(error.value) == message


def test_zero_is_a_duration_where_asked_for() -> None:
    assert parse_duration("0s", zero_ok=True) == timedelta(0)


@pytest.mark.parametrize("minutes", [1, 59, 60, 90, 1440, 1441, 3 * 1440 + 7])
def test_format_duration_is_parse_durations_inverse(minutes: int) -> None:
    delta = timedelta(minutes=minutes, seconds=minutes % 7)
    assert parse_duration(format_duration(delta)) == delta


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("NOW", NOW),
        ("in 10m", NOW + timedelta(minutes=10)),
        ("in 1h30m", NOW + timedelta(minutes=90)),
        ("2031-12-01 09:00 Europe/Berlin", datetime(2031, 12, 1, 8, 0, tzinfo=UTC)),  # CET, +01:00
        ("2031-07-01 09:00:30 Europe/Berlin", datetime(2031, 7, 1, 7, 0, 30, tzinfo=UTC)),  # CEST, +02:00
        ("2031-07-01T09:00 America/New_York", datetime(2031, 7, 1, 13, 0, tzinfo=UTC)),
        ("2031-07-01 Europe/Berlin", datetime(2031, 6, 30, 22, 0, tzinfo=UTC)),  # midnight
        ("2031-07-01 09:00 UTC", datetime(2031, 7, 1, 9, 0, tzinfo=UTC)),
        ("2031-07-01T09:00:00Z", datetime(2031, 7, 1, 9, 0, tzinfo=UTC)),
        ("2031-07-01T09:00+05:30", datetime(2031, 7, 1, 3, 30, tzinfo=UTC)),
        ("2031-07-01 09:00-04:00", datetime(2031, 7, 1, 13, 0, tzinfo=UTC)),
    ],
)
def test_times(text: str, expected: datetime) -> None:
    assert parse_time(text, now=NOW) == expected


def test_the_zone_given_names_the_zone_of_times_written_without_one() -> None:
    assert parse_time("2031-12-01 09:00", now=NOW, zone=BERLIN) == datetime(2031, 12, 1, 8, tzinfo=UTC)
    # ... and not of times that carry their own.
    assert parse_time("2031-12-01T09:00Z", now=NOW, zone=BERLIN) == datetime(2031, 12, 1, 9, tzinfo=UTC)
    assert parse_time("2031-12-01 09:00 UTC", now=NOW, zone=BERLIN) == datetime(2031, 12, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "2031-12-01 09:00",
            "'2031-12-01 09:00' has no time zone: add an IANA zone ('2031-12-01 09:00 Europe/Berlin') or an "
            "offset ('2031-12-01T09:00+01:00'), or give --timezone",
        ),
        (
            "tomorrow",
            "not a time: 'tomorrow' (write e.g. '2026-12-01 09:00 Europe/Berlin', 'in 10m', 'now' or "
            "'2026-12-01T09:00+01:00')",
        ),
        (
            "2031-02-30 09:00 Europe/Berlin",
            "not a time: '2031-02-30 09:00 Europe/Berlin' (write e.g. '2026-12-01 09:00 Europe/Berlin', "
            "'in 10m', 'now' or '2026-12-01T09:00+01:00')",
        ),
        ("in ten minutes", "not a duration: 'ten minutes' (write e.g. 30m, 1h, 1h30m, 90s or 2d)"),
        (
            "2031-12-01 09:00 Mars/Olympus",
            "unknown time zone 'Mars/Olympus' (an IANA name such as Europe/Berlin, America/New_York or UTC)",
        ),
        (
            "2031-12-01 09:00 europe/berlin",
            "unknown time zone 'europe/berlin' (an IANA name such as Europe/Berlin, America/New_York or UTC; "
            "did you mean Europe/Berlin?)",
        ),
        (
            # Clocks go forward at 02:00 on the last Sunday of March: 02:30 never happens.
            "2031-03-30 02:30 Europe/Berlin",
            "2031-03-30 02:30 does not exist in Europe/Berlin: the clocks skip it (from +01:00 to +02:00); "
            "pick a time outside the gap",
        ),
        (
            # Clocks go back at 03:00 on the last Sunday of October: 02:30 happens twice.
            "2031-10-26 02:30 Europe/Berlin",
            "2031-10-26 02:30 happens twice in Europe/Berlin (the clocks go back from +02:00 to +01:00): "
            "write it with the offset you mean, e.g. 2031-10-26T02:30+02:00",
        ),
    ],
)
def test_bad_times(text: str, message: str) -> None:
    with pytest.raises(WhenError) as error:
        parse_time(text, now=NOW)
    assert str(error.value) == message


def test_the_suggested_offsets_are_the_two_readings_of_a_repeated_time() -> None:
    for offset, utc in (("+02:00", datetime(2031, 10, 26, 0, 30)), ("+01:00", datetime(2031, 10, 26, 1, 30))):
        assert parse_time(f"2031-10-26T02:30{offset}", now=NOW) == utc.replace(tzinfo=UTC)


def test_gaps_and_repeats_in_the_other_direction_and_other_zones() -> None:
    new_york = ZoneInfo("America/New_York")
    with pytest.raises(
        WhenError, match=r"does not exist in America/New_York: the clocks skip it \(from -05:00 to -04:00\)"
    ):
        localize(datetime(2031, 3, 9, 2, 30), new_york)
    with pytest.raises(
        WhenError, match=r"happens twice in America/New_York \(the clocks go back from -04:00 to -05:00\)"
    ):
        localize(datetime(2031, 11, 2, 1, 30), new_york)
    # Just outside the gap and the repeat: fine.
    assert localize(datetime(2031, 3, 9, 3, 0), new_york).utcoffset() == timedelta(hours=-4)
    assert localize(datetime(2031, 11, 2, 2, 0), new_york).utcoffset() == timedelta(hours=-5)
    # Lord Howe Island moves its clocks by half an hour.
    with pytest.raises(WhenError, match=r"from \+10:30 to \+11:00"):
        localize(datetime(2031, 10, 5, 2, 15), ZoneInfo("Australia/Lord_Howe"))


def test_zone_names() -> None:
    assert zone_named("Asia/Kolkata") == ZoneInfo("Asia/Kolkata")
    for bad in ("Europe", "../etc/passwd", "/etc/localtime", ""):
        with pytest.raises(WhenError, match=r"^unknown time zone"):
            zone_named(bad)


def test_shown_in_a_zone_with_utc_beside_it() -> None:
    moment = datetime(2031, 12, 1, 8, 0, tzinfo=UTC)
    assert shown(moment, BERLIN) == "2031-12-01 09:00:00 CET"
    assert shown(moment, BERLIN, utc_too=True) == "2031-12-01 09:00:00 CET (08:00:00 UTC)"
    assert shown(moment, ZoneInfo("UTC"), utc_too=True) == "2031-12-01 08:00:00 UTC"
    late = datetime(2031, 12, 1, 23, 30, tzinfo=UTC)
    assert shown(late, BERLIN, utc_too=True) == "2031-12-02 00:30:00 CET (2031-12-01 23:30:00 UTC)"
    assert shown(moment, timezone(timedelta(hours=3))) == "2031-12-01 11:00:00 UTC+03:00"


def test_day_bounds_in_a_zone() -> None:
    # 23:30 UTC on 1 July is already 2 July in Berlin.
    start, end = day_bounds(datetime(2031, 7, 1, 23, 30, tzinfo=UTC), BERLIN)
    assert (start, end) == (datetime(2031, 7, 2, tzinfo=BERLIN), datetime(2031, 7, 3, tzinfo=BERLIN))
    # A day with a clock change lasts 23 hours (subtracting in one zone would count wall-clock hours).
    start, end = day_bounds(datetime(2031, 3, 30, 12, tzinfo=UTC), BERLIN)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)


@pytest.fixture
def machine_in_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("machine_in_new_york")
def test_without_a_zone_times_are_shown_in_this_machines() -> None:
    assert shown(datetime(2031, 7, 1, 13, tzinfo=UTC), None) == "2031-07-01 09:00:00 EDT"
    assert shown(datetime(2031, 12, 1, 14, tzinfo=UTC), None) == "2031-12-01 09:00:00 EST"
    start, end = day_bounds(datetime(2031, 7, 2, 3, 0, tzinfo=UTC), None)  # still 1 July in New York
    assert start == datetime(2031, 7, 1, 4, tzinfo=UTC) and end == datetime(2031, 7, 2, 4, tzinfo=UTC)
