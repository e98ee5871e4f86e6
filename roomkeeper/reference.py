"""docs/reference.md, generated from the meeting's models, so the reference cannot drift from the code.

``python -m roomkeeper.reference > docs/reference.md`` rewrites it; ``tests/test_reference_doc.py`` fails
when the committed page differs from what the models say.
"""

from __future__ import annotations

import inspect
from enum import Enum
from typing import Any

from pydantic import BaseModel

from common.extend_policy import ExtendPolicy
from twilio_video.models import RoomType, RuleType, TrackKind, VideoCodec
from workflows.meeting_control import CancelRequest, EndRequest, ExtendRequest, RescheduleRequest
from workflows.meeting_input import EventsSpec, MeetingSpec, RecordingRule, RoomEndsEarly, RoomSpec
from workflows.meeting_status import (
    ConnectedParticipant,
    EndedBy,
    EventsStatus,
    Eviction,
    ExtendLimits,
    Extension,
    HistoryEntry,
    MeetingStatus,
    MeetingSummary,
    Phase,
    Trouble,
)

SECTIONS: list[tuple[str, str, list[type[BaseModel]]]] = [
    (
        "The input",
        "The workflow's one argument, as JSON (`temporal workflow start --input '{…}'`). Unknown fields "
        "are refused; a bad input fails the run at once, naming every field and rule.",
        [MeetingSpec, RoomSpec, RecordingRule, EventsSpec, ExtendPolicy],
    ),
    (
        "Live control",
        "Updates `reschedule`, `extend`, `end_now` and the signal `cancel`. A rejected update writes "
        "nothing to history and says why in one line.",
        [RescheduleRequest, ExtendRequest, EndRequest, CancelRequest],
    ),
    (
        "The status query",
        "`status`, answered at any time.",
        [MeetingStatus, ConnectedParticipant, Trouble, HistoryEntry, Extension, ExtendLimits, EventsStatus],
    ),
    ("The result", "What the workflow returns when the meeting is over.", [MeetingSummary, Eviction]),
]
ENUMS: list[type[Enum]] = [Phase, EndedBy, RoomEndsEarly, RoomType, VideoCodec, RuleType, TrackKind]

_LIMITS = {
    "minimum": "≥ {}",
    "maximum": "≤ {}",
    "minLength": "at least {} character(s)",
    "maxLength": "at most {} characters",
    "minItems": "at least {} items",
    "pattern": "matches `{}`",
}


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in schema:
        kinds = [_type(option) for option in schema["anyOf"]]
        return " or ".join(kind for kind in kinds if kind != "null") + (" or null" if "null" in kinds else "")
    kind = str(schema.get("type", "any"))
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "string" and schema.get("format") == "date-time":
        return "datetime with offset"
    return kind


def _limits(schema: dict[str, Any]) -> str:
    found = [text.format(schema[key]) for key, text in _LIMITS.items() if key in schema]
    for option in schema.get("anyOf", []):
        found += [text.format(option[key]) for key, text in _LIMITS.items() if key in option]
    return ", ".join(found)


def _default(model: type[BaseModel], name: str) -> str:
    field = model.model_fields[name]
    if field.is_required():
        return "**required**"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "its defaults"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, list):
        value = [item.value if isinstance(item, Enum) else item for item in value]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'`"{value}"`' if value == "" else f"`{value}`"
    if isinstance(value, list):
        return "`[" + ", ".join(f'"{item}"' for item in value) + "]`"
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_model(model: type[BaseModel]) -> list[str]:
    schema = model.model_json_schema(mode="validation")
    lines = [f"### {model.__name__}", "", inspect.cleandoc(model.__doc__ or ""), ""]
    lines += ["| field | type | default | limits | meaning |", "| --- | --- | --- | --- | --- |"]
    for name, field in schema["properties"].items():
        description = field.get("description", "")
        lines.append(
            f"| `{name}` | {_cell(_type(field))} | {_cell(_default(model, name))} | "
            f"{_cell(_limits(field))} | {_cell(description)} |"
        )
    return [*lines, ""]


def render_enum(enum: type[Enum]) -> list[str]:
    values = ", ".join(f"`{member.value}`" for member in enum)
    doc = (
        inspect.cleandoc(enum.__doc__ or "") if enum.__doc__ and "An enumeration" not in enum.__doc__ else ""
    )
    return [f"### {enum.__name__}", "", *([doc, ""] if doc else []), values, ""]


def render() -> str:
    lines = [
        "# Reference: a meeting's input, control messages, status and result",
        "",
        "Generated from the models in `workflows/` by `python -m roomkeeper.reference > docs/reference.md`;",
        "do not edit by hand. The story behind the fields is in [meetings](meetings.md).",
        "",
    ]
    for title, intro, models in SECTIONS:
        lines += [f"## {title}", "", intro, ""]
        for model in models:
            lines += render_model(model)
    lines += ["## Enumerations", ""]
    for enum in ENUMS:
        lines += render_enum(enum)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
