"""An iCalendar feed's occurrences within a window: RFC 5545 recurrence done by ``recurring-ical-events``,
Google's ``X-WR-TIMEZONE`` repaired by ``x-wr-timezone``, and a few choices of our own (floating times,
all-day and free events, events without an end) made explicit in ``FeedOptions``.

No recurrence or time-zone arithmetic is written here: the libraries expand each series in its own zone
(so a 09:00 Europe/Berlin meeting stays at 09:00 across the DST change), and this module only turns
their components into ``Occurrence`` values in UTC, keyed the RFC 5545 way by (UID, RECURRENCE-ID).

A hostile feed is refused with ``FeedError`` by cheap checks before expanding (size, nesting, number of
components, sub-minute recurrence); what those checks cannot see (a rule that is slow to expand) is
bounded by running the expansion in a separate process (``calendar_feeds.sandbox``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from calendar_feeds.models import Expansion, FeedError, FeedOptions, Occurrence, Skipped, zone

#: Largest feed accepted, in bytes (a year of a busy person's calendar is a few hundred KiB).
MAX_FEED_BYTES = 5 * 1024 * 1024
#: Most components (events, time zones, alarms...) a feed may hold.
MAX_COMPONENTS = 20_000
#: Deepest BEGIN/END nesting accepted (VCALENDAR > VEVENT > VALARM is 3; VTIMEZONE > STANDARD is 3).
MAX_NESTING = 8
#: Most occurrences a feed may have in its horizon: each becomes a meeting workflow.
MAX_OCCURRENCES = 2_000
#: Recurrence frequencies refused: no meeting recurs every second or minute, and expanding such a rule
#: up to today can take hours.
REFUSED_FREQUENCIES = frozenset({"SECONDLY", "MINUTELY"})
#: Longest title kept (the meeting's own limit).
MAX_TITLE = 200


_LINE_START = re.compile(rb"^(BEGIN|END):", re.IGNORECASE | re.MULTILINE)
_FREQ = re.compile(rb"^RRULE[^:\r\n]*:[^\r\n]*FREQ=([A-Za-z]+)", re.IGNORECASE | re.MULTILINE)


def check_shape(data: bytes) -> None:
    """Cheap checks on the raw bytes, before any parsing: size, nesting, components, frequencies."""
    if len(data) > MAX_FEED_BYTES:
        raise FeedError(f"the feed is {len(data)} bytes; the limit is {MAX_FEED_BYTES} bytes")
    if not data.lstrip().upper().startswith(b"BEGIN:VCALENDAR"):
        raise FeedError("not an iCalendar feed: it does not start with BEGIN:VCALENDAR")
    depth = deepest = components = 0
    for match in _LINE_START.finditer(data):
        if match.group(1).upper() == b"BEGIN":
            depth += 1
            components += 1
            deepest = max(deepest, depth)
            if deepest > MAX_NESTING:
                raise FeedError(f"components are nested more than {MAX_NESTING} deep")
            if components > MAX_COMPONENTS:
                raise FeedError(f"the feed has more than {MAX_COMPONENTS} components")
        else:
            depth -= 1
    for frequency in _FREQ.findall(data):
        if frequency.upper().decode() in REFUSED_FREQUENCIES:
            raise FeedError(
                f"an event recurs FREQ={frequency.decode()}: sub-hourly recurrence is not a meeting "
                "series and is refused"
            )


def expand(data: bytes, window_start: datetime, options: FeedOptions) -> Expansion:
    """The feed's occurrences that start in ``[window_start, window_start + horizon)``.

    Cancelled instances inside the window are included (marked ``cancelled``) so that a sync can cancel
    a meeting it started before. Raises ``FeedError`` for a feed that cannot be used.
    """
    import icalendar
    import recurring_ical_events
    import x_wr_timezone

    check_shape(data)
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except Exception as error:  # icalendar raises ValueError, but also KeyError/IndexError on garbage
        raise FeedError(f"not a valid iCalendar feed: {_one_line(error)}") from None
    if not isinstance(calendar, icalendar.Calendar):
        raise FeedError("not a valid iCalendar feed: the top component is not a VCALENDAR")
    feed_zone_name = _text(calendar.get("X-WR-TIMEZONE"))
    feed_zone = zone(feed_zone_name) if feed_zone_name else None
    try:
        # Google writes UTC (or floating) times and names the calendar's zone in X-WR-TIMEZONE; the
        # library rewrites them into that zone so recurrences expand across DST as the user sees them.
        calendar = x_wr_timezone.to_standard(calendar)
    except Exception as error:
        raise FeedError(f"cannot apply X-WR-TIMEZONE {feed_zone_name!r}: {_one_line(error)}") from None
    floating_zone = feed_zone or (zone(options.timezone) if options.timezone else None)
    cancel_all = _text(calendar.get("METHOD")).upper() == "CANCEL"
    skipped = _drop_incomplete(calendar)
    reading = _Reading(options, floating_zone, cancel_all, *_series(calendar.walk("VEVENT")))

    window_end = window_start + options.horizon
    occurrences: dict[tuple[str, str], Occurrence] = {}
    try:
        query = recurring_ical_events.of(calendar, skip_bad_series=False)
        # A day of slack each side: floating and all-day occurrences are compared after they get a zone.
        found: Iterable[Any] = query.between(window_start - timedelta(days=1), window_end + timedelta(days=1))
        for component in found:
            uid = _text(component.get("UID")) or "(no UID)"
            if uid in skipped:
                continue
            verdict = reading.occurrence(component, uid)
            if isinstance(verdict, Skipped):
                skipped[uid] = verdict
                continue
            if not window_start <= verdict.start < window_end:
                continue
            previous = occurrences.get(verdict.key)
            if previous is None or verdict.sequence >= previous.sequence:
                occurrences[verdict.key] = verdict
            if len(occurrences) > MAX_OCCURRENCES:
                raise FeedError(
                    f"the feed has more than {MAX_OCCURRENCES} occurrences in the next "
                    f"{_days(options.horizon)}; shorten the horizon or split the calendar"
                )
    except FeedError:
        raise
    except Exception as error:  # a malformed RRULE, RDATE or date deep inside a component
        raise FeedError(f"cannot expand the feed's recurrences: {_one_line(error)}") from None
    return Expansion(
        occurrences=sorted(occurrences.values(), key=lambda o: (o.start, o.uid)),
        skipped=sorted(skipped.values(), key=lambda s: s.uid),
        feed_zone=feed_zone_name or None,
    )


@dataclass(frozen=True)
class _Reading:
    """What turning one component into an ``Occurrence`` needs to know about the whole feed."""

    options: FeedOptions
    floating_zone: tzinfo | None
    cancel_all: bool
    #: Per UID: the series' main component (without RECURRENCE-ID) and its overrides.
    masters: dict[str, Any]
    overrides: dict[str, list[Any]]

    def occurrence(self, component: Any, uid: str) -> Occurrence | Skipped:
        options, floating_zone = self.options, self.floating_zone
        master = self.masters.get(uid)
        start_value = component["DTSTART"].dt
        end_value = component["DTEND"].dt if "DTEND" in component else None
        all_day = not isinstance(start_value, datetime)
        if all_day and not options.include_all_day:
            return Skipped(uid=uid, reason="an all-day event (all-day events are not meetings by default)")
        if _text(component.get("TRANSP")).upper() == "TRANSPARENT" and not options.include_free:
            return Skipped(uid=uid, reason="marked free (TRANSP:TRANSPARENT)")
        zone_name = _zone_name(start_value)
        if all_day or start_value.tzinfo is None:
            if floating_zone is None:
                what = "an all-day event" if all_day else "a floating time (no TZID, no Z)"
                return Skipped(
                    uid=uid, reason=f"{what} and neither X-WR-TIMEZONE nor a configured time zone to place it"
                )
            zone_name = str(floating_zone)
        start = _instant(start_value, floating_zone)
        if end_value is None or (master is not None and not _has_end(master) and not all_day):
            # No DTEND and no DURATION: RFC 5545 makes it zero-length; a meeting needs a length.
            end = start + options.default_duration
        else:
            end = _instant(end_value, floating_zone)
        if end <= start:
            end = start + options.default_duration
        recurrence_id = (
            _original_start(component, self.overrides.get(uid, []), floating_zone)
            if _recurs(master) or uid in self.overrides
            else None  # the library gives single events a RECURRENCE-ID too; a move must keep the key
        )
        return Occurrence(
            uid=uid,
            recurrence_id=recurrence_id,
            start=start,
            end=end,
            title=_text(component.get("SUMMARY"))[:MAX_TITLE],
            sequence=_int(component.get("SEQUENCE")),
            cancelled=self.cancel_all or _text(component.get("STATUS")).upper() == "CANCELLED",
            zone=zone_name,
        )


def _drop_incomplete(calendar: Any) -> dict[str, Skipped]:
    """Remove events that RFC 5545 requires a UID and DTSTART of but lack one: reported, not fatal."""
    skipped: dict[str, Skipped] = {}
    kept = []
    for component in calendar.subcomponents:
        if component.name == "VEVENT" and ("UID" not in component or "DTSTART" not in component):
            uid = _text(component.get("UID")) or f"(no UID: {_text(component.get('SUMMARY'))[:60]!r})"
            missing = " and ".join(name for name in ("UID", "DTSTART") if name not in component)
            skipped[uid] = Skipped(uid=uid, reason=f"the event has no {missing}")
            continue
        kept.append(component)
    calendar.subcomponents[:] = kept
    return skipped


def _original_start(component: Any, overrides: list[Any], zone: tzinfo | None) -> str | None:
    """The instance's original start (its RECURRENCE-ID) in UTC: the key that survives edits.

    An override with ``RANGE=THISANDFUTURE`` moves every later instance too, and the library hands each
    of those out with the override's own RECURRENCE-ID; their original start is their start moved back
    by the override's shift, in local wall-clock time (the zone's DST rules then place it).
    """
    recurrence = component.get("RECURRENCE-ID")
    if recurrence is None:
        return None
    original = recurrence.dt
    if recurrence.params.get("RANGE", "").upper() == "THISANDFUTURE":
        override_start = _override_start(overrides, original)
        start = component["DTSTART"].dt
        if override_start is not None and start != override_start:
            shift = _wall(override_start) - _wall(original)
            moved_back = _wall(start) - shift
            original = moved_back.replace(tzinfo=start.tzinfo) if isinstance(start, datetime) else moved_back
    return _instant(original, zone).isoformat()


def _override_start(overrides: list[Any], recurrence_id: date | datetime) -> date | datetime | None:
    for override in overrides:
        if override["RECURRENCE-ID"].dt == recurrence_id:
            start: date | datetime = override["DTSTART"].dt
            return start
    return None


def _wall(value: date | datetime) -> datetime:
    """Local wall-clock time, without a zone (a date is its midnight)."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0))
    return value.replace(tzinfo=None)


def _series(events: Iterable[Any]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Per UID: the series' main component (the one without RECURRENCE-ID), and its overrides."""
    found: dict[str, Any] = {}
    overrides: dict[str, list[Any]] = {}
    for event in events:
        uid = _text(event.get("UID")) or "(no UID)"
        if "RECURRENCE-ID" in event:
            overrides.setdefault(uid, []).append(event)
        else:
            found.setdefault(uid, event)
    return found, overrides


def _recurs(master: Any) -> bool:
    return master is not None and ("RRULE" in master or "RDATE" in master)


def _has_end(event: Any) -> bool:
    return "DTEND" in event or "DURATION" in event


def _instant(value: date | datetime, zone: tzinfo | None) -> datetime:
    """A DTSTART/DTEND/RECURRENCE-ID value as an aware UTC datetime (dates start at midnight in ``zone``)."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    if value.tzinfo is None:
        if zone is None:  # pragma: no cover - callers skip floating events without a zone
            raise FeedError("a floating time with no zone to place it in")
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _zone_name(value: date | datetime) -> str | None:
    if isinstance(value, datetime) and value.tzinfo is not None:
        key = getattr(value.tzinfo, "key", None) or getattr(value.tzinfo, "zone", None)
        return str(key) if key else str(value.tzinfo)
    return None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _days(span: timedelta) -> str:
    return f"{span.days} days" if span.days != 1 else "day"


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    # The parser quotes the offending bytes; the feed's content is not ours to copy into a status.
    text = re.split(r"""\bb['"]""", text, maxsplit=1)[0].rstrip(" :,") or type(error).__name__
    return text[:300]
