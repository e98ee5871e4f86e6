"""How far a meeting may be extended: the caps, and the one function that checks an extension against them.

Caps come from two places: the meeting's own ``extend_policy`` and the deployment's configuration
(``ROOMKEEPER_EXTEND_MAX_MINUTES``, ``ROOMKEEPER_EXTEND_MAX_COUNT``,
``ROOMKEEPER_EXTEND_MAX_TOTAL_MINUTES``). Where both set a cap, the stricter wins. An extension is an
``extend`` update, or a ``reschedule`` that moves the end later once the room is open (a reschedule
before the room opens moves the plan itself, and is no extension).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

#: The longest single extension anyone may ask for, minutes (a day).
MAX_EXTENSION_MINUTES: Final = 24 * 60
#: The most extensions a cap may allow.
MAX_EXTENSIONS: Final = 1000
#: The most minutes a deployment may let a meeting grow past its planned end (a week).
MAX_TOTAL_EXTENSION_MINUTES: Final = 7 * 24 * 60


class ExtendPolicy(BaseModel):
    """A meeting's caps on extending it; a cap left out is the deployment's, if it sets one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_minutes: int | None = Field(
        None, ge=1, le=MAX_EXTENSION_MINUTES, description="The longest single extension, in minutes."
    )
    max_extensions: int | None = Field(
        None, ge=0, le=MAX_EXTENSIONS, description="How many extensions the meeting may have (0: none)."
    )
    latest_end: AwareDatetime | None = Field(None, description="No extension may move the end past this.")


class DeploymentCaps(BaseModel):
    """The deployment's caps, as the worker's configuration sets them (each optional)."""

    model_config = ConfigDict(frozen=True)

    max_minutes: int | None = None
    max_extensions: int | None = None
    #: How far past its planned end a meeting may be extended, in all.
    max_total_minutes: int | None = None


@dataclass(frozen=True)
class Caps:
    """The caps in force on a meeting: the meeting's and the deployment's together, the stricter of
    each, with the name of the one that decided (so a refusal says whom to ask)."""

    max_minutes: int | None = None
    max_minutes_by: str = ""
    max_extensions: int | None = None
    max_extensions_by: str = ""
    latest_end: datetime | None = None
    latest_end_by: str = ""


def _stricter(meeting: int | None, deployment: int | None, names: tuple[str, str]) -> tuple[int | None, str]:
    if meeting is not None and (deployment is None or meeting <= deployment):
        return meeting, names[0]
    return deployment, names[1] if deployment is not None else ""


def caps_for(meeting: ExtendPolicy | None, deployment: DeploymentCaps | None, planned_end: datetime) -> Caps:
    """The caps in force on a meeting whose end was planned for ``planned_end``."""
    meeting = meeting or ExtendPolicy()
    deployment = deployment or DeploymentCaps()
    max_minutes, max_minutes_by = _stricter(
        meeting.max_minutes,
        deployment.max_minutes,
        ("extend_policy.max_minutes", "ROOMKEEPER_EXTEND_MAX_MINUTES"),
    )
    max_extensions, max_extensions_by = _stricter(
        meeting.max_extensions,
        deployment.max_extensions,
        ("extend_policy.max_extensions", "ROOMKEEPER_EXTEND_MAX_COUNT"),
    )
    latest: list[tuple[datetime, str]] = []
    if meeting.latest_end is not None:
        latest.append((meeting.latest_end, "extend_policy.latest_end"))
    if deployment.max_total_minutes is not None:
        latest.append(
            (
                planned_end + timedelta(minutes=deployment.max_total_minutes),
                f"ROOMKEEPER_EXTEND_MAX_TOTAL_MINUTES ({deployment.max_total_minutes} min past the planned "
                f"end {planned_end.isoformat()})",
            )
        )
    latest_end, latest_end_by = min(latest, key=lambda pair: pair[0]) if latest else (None, "")
    return Caps(max_minutes, max_minutes_by, max_extensions, max_extensions_by, latest_end, latest_end_by)


def refusal(caps: Caps, *, minutes: int, new_end: datetime, extensions_so_far: int) -> str | None:
    """Why an extension of ``minutes`` to ``new_end`` breaks a cap (naming the cap), or None if it may."""
    if caps.max_extensions is not None and extensions_so_far >= caps.max_extensions:
        allowed = (
            "no extensions" if caps.max_extensions == 0 else f"at most {caps.max_extensions} extension(s)"
        )
        return f"{caps.max_extensions_by}: the meeting allows {allowed}, and has had {extensions_so_far}"
    if caps.max_minutes is not None and minutes > caps.max_minutes:
        return (
            f"{caps.max_minutes_by}: an extension may add at most {caps.max_minutes} min; "
            f"{minutes} min was asked"
        )
    if caps.latest_end is not None and new_end > caps.latest_end:
        return (
            f"{caps.latest_end_by}: the end may move to {caps.latest_end.isoformat()} at the latest; "
            f"{new_end.isoformat()} was asked"
        )
    return None
