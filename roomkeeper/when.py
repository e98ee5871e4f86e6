"""Times and durations as people type them on a command line, and times shown back to them.

Durations: one or more of ``<n>d``, ``<n>h``, ``<n>m``, ``<n>s`` in that order (``30m``, ``1h30m``,
``90s``, ``2d``). Times: ``now``; ``in <duration>``; a wall-clock time in a named IANA zone
(``2026-12-01 09:00 Europe/Berlin``, the time optional for midnight); or ISO 8601 with an offset
(``2026-12-01T09:00+01:00``, ``…Z``).

A time without a zone is refused unless the caller names a zone for it (``--timezone``): the machine's
own zone is an accident of where a command runs (a UTC server, a laptop abroad), and a meeting an hour
off is worse than a question. A wall-clock time that does not exist (skipped when clocks go forward) or
happens twice (when they go back) is refused too, saying which and how to write it unambiguously.

Everything here is pure: "now" is always passed in, so tests need no clock.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from datetime import UTC, datetime, timedelta, tzinfo

#: Examples quoted by the error messages (and docs/cli.md).
TIME_EXAMPLES = "'2026-12-01 09:00 Europe/Berlin', 'in 10m', 'now' or '2026-12-01T09:00+01:00'"
DURATION_EXAMPLES = "30m, 1h, 1h30m, 90s or 2d"

_DURATION = re.compile(
    r"(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m)?\s*(?:(?P<s>\d+)\s*s)?", re.IGNORECASE
)
_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_RELATIVE = re.compile(r"in\s+(?P<duration>.+)", re.IGNORECASE)
#: A date, an optional time, then a zone name (IANA names hold letters, digits, ``/ _ + -``).
_IN_ZONE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?:[ T](?P<time>\d{1,2}:\d{2}(?::\d{2})?))?\s+(?P<zone>[A-Za-z][\w/+\-]*)"
)
#: The largest duration accepted: far beyond any meeting, small enough that date arithmetic never
#: overflows on a typo such as ``99999999d``.
_MAX_DURATION = timedelta(days=3_650)


class WhenError(ValueError):
    """A time, duration or zone that cannot be used; ``str()`` says why and what to write instead."""


def parse_duration(text: str, *, zero_ok: bool = False) -> timedelta:
    """``30m``, ``1h30m``, ``90s``, ``2d``… as a ``timedelta``: positive unless ``zero_ok``."""
    written = text.strip()
    match = _DURATION.fullmatch(written)
    if not written or match is None or not any(match.groupdict().values()):
        raise WhenError(f"not a duration: {text!r} (write e.g. {DURATION_EXAMPLES})")
    seconds = sum(int(count) * _UNIT_SECONDS[unit] for unit, count in match.groupdict().items() if count)
    if seconds == 0 and not zero_ok:
        raise WhenError(f"the duration {text!r} is zero: give a positive one")
    if seconds > _MAX_DURATION.total_seconds():
        raise WhenError(f"the duration {text!r} is longer than {_MAX_DURATION.days} days")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The inverse of ``parse_duration`` for whole seconds: ``timedelta(minutes=90)`` → ``1h30m``."""
    left = int(delta.total_seconds())
    if left <= 0:
        return "0s"
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def zone_named(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone ``name`` (``Europe/Berlin``, ``UTC``), or a ``WhenError`` suggesting a near name."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a directory of the database such as "Europe"; ValueError: a path-like key.
        pass
    known = zoneinfo.available_timezones()
    folded = {zone.lower(): zone for zone in known}
    guess = folded.get(name.lower()) or next(iter(difflib.get_close_matches(name, known, n=1)), None)
    hint = f"; did you mean {guess}?" if guess else ""
    raise WhenError(
        f"unknown time zone {name!r} (an IANA name such as Europe/Berlin, America/New_York or UTC{hint})"
    )


def parse_time(text: str, *, now: datetime, zone: tzinfo | None = None) -> datetime:
    """An aware datetime from ``now``, ``in 10m``, ``2026-12-01 09:00 Europe/Berlin`` or ISO 8601.

    ``zone`` is the zone for a time written without one (the ``--timezone`` option); without it such a
    time is refused. ``now`` must be aware.
    """
    written = text.strip()
    if written.lower() == "now":
        return now
    if relative := _RELATIVE.fullmatch(written):
        return now + parse_duration(relative["duration"])
    if in_zone := _IN_ZONE.fullmatch(written):
        wall = _iso(f"{in_zone['date']}T{in_zone['time'] or '00:00'}", text)
        return localize(wall, zone_named(in_zone["zone"]))
    moment = _iso(written, text)
    if moment.tzinfo is not None:
        return moment
    if zone is None:
        raise WhenError(
            f"{text!r} has no time zone: add an IANA zone ('{written} Europe/Berlin') or an offset "
            f"('{moment.isoformat(timespec='minutes')}+01:00'), or give --timezone"
        )
    return localize(moment, zone)


def _iso(written: str, text: str) -> datetime:
    try:
        return datetime.fromisoformat(written)
    except ValueError:
        raise WhenError(f"not a time: {text!r} (write e.g. {TIME_EXAMPLES})") from None


def localize(wall: datetime, zone: tzinfo) -> datetime:
    """The naive wall-clock time ``wall`` in ``zone``; refused when it is skipped or repeated there."""
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    before, after = first.utcoffset(), second.utcoffset()
    if before == after:
        return first
    shown = f"{wall:%Y-%m-%d %H:%M}" + (f":{wall:%S}" if wall.second else "")
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        raise WhenError(
            f"{shown} does not exist in {zone}: the clocks skip it (from {_offset(before)} to "
            f"{_offset(after)}); pick a time outside the gap"
        )
    raise WhenError(
        f"{shown} happens twice in {zone} (the clocks go back from {_offset(before)} to "
        f"{_offset(after)}): write it with the offset you mean, e.g. "
        f"{wall.isoformat(timespec='minutes')}{_offset(before)}"
    )


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def day_bounds(now: datetime, zone: tzinfo | None) -> tuple[datetime, datetime]:
    """Midnight to midnight of ``now``'s day in ``zone`` (``None``: this machine's zone)."""
    local = now.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    next_midnight = midnight + timedelta(days=1)
    if zone is None:  # a naive time's astimezone() reads it as this machine's local time
        return midnight.astimezone(), next_midnight.astimezone()
    return midnight.replace(tzinfo=zone), next_midnight.replace(tzinfo=zone)


def shown(moment: datetime, zone: tzinfo | None, *, utc_too: bool = False) -> str:
    """``moment`` as ``2026-12-01 09:00:00 CET`` in ``zone`` (``None``: this machine's zone), and with
    ``utc_too`` followed by ``(08:00:00 UTC)`` (the date too when it differs) unless it is UTC already."""
    local = moment.astimezone(zone)
    text = f"{local:%Y-%m-%d %H:%M:%S} {local.tzname() or _offset(local.utcoffset())}"
    if not utc_too or local.utcoffset() == timedelta(0):
        return text
    utc = moment.astimezone(UTC)
    return text + (
        f" ({utc:%H:%M:%S} UTC)" if utc.date() == local.date() else f" ({utc:%Y-%m-%d %H:%M:%S} UTC)"
    )
