"""Room options per Cal.com event type: the file named by ``ROOMKEEPER_CALCOM_EVENT_TYPES``.

TOML (or JSON, for a ``.json`` file)::

    [default]                      # optional: every booking whose event type is not listed
    open_before_seconds = 300

    [event_types.standup]          # by the event type's slug (the payload's "type")
    room = { type = "group-small", max_participants = 4 }

    [event_types.123456]           # or by its id ("eventTypeId"), which wins over the slug
    if_room_ends_early = "end_meeting"
    room = { audio_only = true }

An event type's options are laid over ``[default]`` (``room`` field by field); what neither sets is the
meeting input's own default. The options are a meeting input's ``open_before_seconds``,
``if_room_ends_early`` and ``room`` (except ``room.unique_name``: every booking gets its own room) and
obey the same rules; the whole file is checked when the gateway starts.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from common.settings import ConfigurationError
from workflows.meeting_input import MeetingSpec, explain

VARIABLE = "ROOMKEEPER_CALCOM_EVENT_TYPES"
#: What an event type may set: the meeting input's fields that are about the room, not the booking.
OPTIONS = ("open_before_seconds", "if_room_ends_early", "room")
_SECTIONS = ("default", "event_types")
#: A meeting the options are tried on, so they are judged by the very rules a booking's meeting obeys.
_PROBE_START = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class EventTypes:
    """The options file, checked. Empty (every booking gets the meeting input's defaults) without one."""

    default: Mapping[str, Any] = field(default_factory=dict)
    #: By event type id (as text) or slug.
    by_key: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def options_for(self, event_type_id: int | None, slug: str | None) -> dict[str, Any]:
        """The meeting input fields for a booking of this event type (the id wins over the slug)."""
        entry = self.by_key.get(str(event_type_id)) if event_type_id is not None else None
        if entry is None and slug:
            entry = self.by_key.get(slug)
        return _laid_over(self.default, entry or {})


def _laid_over(default: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**default, **entry}
    if "room" in merged:
        merged["room"] = {**default.get("room", {}), **entry.get("room", {})}
    return merged


def load_event_types(path: Path) -> EventTypes:
    """The file at ``path``, checked; ``ConfigurationError`` has one line per problem, each naming the
    variable, the file, the event type and the field."""
    where = f"{VARIABLE} ({path})"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError([f"{where} does not exist"]) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = "is not UTF-8 text" if isinstance(error, UnicodeDecodeError) else "cannot be read"
        raise ConfigurationError([f"{where} {reason}"]) from None
    try:
        document = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, RecursionError) as error:  # tomllib.TOMLDecodeError is a ValueError
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise ConfigurationError([f"{where} is not valid {kind}: {str(error).splitlines()[0]}"]) from None
    return parse_event_types(document, where)


def parse_event_types(document: Any, where: str = VARIABLE) -> EventTypes:
    """The options in ``document`` (the file's content), or every problem at once."""
    if not isinstance(document, dict):
        raise ConfigurationError([f"{where} must hold tables [default] and [event_types.<slug or id>]"])
    problems = [
        f"{where}: [{name}] is not a section (the sections are {', '.join(_SECTIONS)})"
        for name in document
        if name not in _SECTIONS
    ]
    default = document.get("default", {})
    problems += _entry_problems(default, "[default]", {}, where)
    types = document.get("event_types", {})
    by_key: dict[str, Mapping[str, Any]] = {}
    if not isinstance(types, dict):
        problems.append(f"{where}: event_types must be a table of event types, by slug or id")
    else:
        for key, entry in types.items():
            problems += _entry_problems(entry, f"event type {key!r}", default, where)
            by_key[str(key)] = entry
    if problems:
        raise ConfigurationError(problems)
    return EventTypes(default=default, by_key=by_key)


def _entry_problems(entry: Any, name: str, default: Any, where: str) -> list[str]:
    if not isinstance(entry, dict):
        return [f"{where}: {name} must be a table of options ({', '.join(OPTIONS)})"]
    unknown = [key for key in entry if key not in OPTIONS]
    if unknown:
        return [
            f"{where}: {name}: {key} is not an option (the options are {', '.join(OPTIONS)})"
            for key in unknown
        ]
    room = entry.get("room", {})
    if not isinstance(room, dict):
        return [f"{where}: {name}: room must be a table of room options"]
    if "unique_name" in room:
        return [
            f"{where}: {name}: room.unique_name cannot be set per event type: every booking gets a room "
            "of its own, named after its meeting"
        ]
    merged = _laid_over(default if isinstance(default, dict) else {}, entry)
    try:
        MeetingSpec.model_validate(
            {
                "meeting_id": "probe",
                "start_time": _PROBE_START,
                "end_time": _PROBE_START + timedelta(hours=1),
                **merged,
            }
        )
    except ValidationError as error:
        return [f"{where}: {name}: {explain(error)}"]
    return []
