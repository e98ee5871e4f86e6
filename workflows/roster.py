"""Who is in a meeting's room, kept from events that may arrive late, twice or out of order.

Pure bookkeeping on the meeting's carried state (no Temporal API, so it is unit-tested on its own):
events are idempotent by participant SID, a late "connected" for someone who already left is stale,
and each change returns the line the meeting records in its history.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from common.room_events import ObservedParticipant
from workflows.meeting_state import MeetingState
from workflows.meeting_status import ConnectedParticipant

#: Departed SIDs remembered (to recognise a stale "connected"); older ones are forgotten.
DEPARTED_LIMIT = 5_000


class Roster:
    def __init__(self, state: MeetingState, max_participant_duration: timedelta | None) -> None:
        """``max_participant_duration`` None: nobody has an eviction deadline."""
        self._state = state
        self._max_duration = max_participant_duration

    @property
    def connected(self) -> list[ConnectedParticipant]:
        """Everyone connected, earliest first."""
        return sorted(self._state.participants.values(), key=lambda p: p.connected_at)

    def connect(self, sid: str, identity: str, connected_at: datetime) -> list[str]:
        state = self._state
        if sid in state.participants or sid in state.departed:
            return []  # a duplicate, or a late "connected" for someone who already left
        state.participants[sid] = ConnectedParticipant(
            sid=sid,
            identity=identity,
            connected_at=connected_at,
            eviction_deadline=None if self._max_duration is None else connected_at + self._max_duration,
        )
        self._saw(identity)
        return [f"{identity} connected"]

    def disconnect(self, sid: str, identity: str | None = None) -> list[str]:
        state = self._state
        if sid in state.departed:
            return []
        state.departed.append(sid)
        del state.departed[:-DEPARTED_LIMIT]
        participant = state.participants.pop(sid, None)
        if participant is not None:
            return [f"{participant.identity} disconnected"]
        if identity is not None:
            # Their "connected" is late or lost; they were here all the same.
            self._saw(identity)
            return [f"{identity} came and went"]
        return []

    def disconnect_everyone(self) -> list[str]:
        return [line for sid in list(self._state.participants) for line in self.disconnect(sid)]

    def apply_snapshot(self, observed: Iterable[ObservedParticipant], observed_at: datetime) -> list[str]:
        """Make the roster what Twilio listed at ``observed_at``."""
        listed = {p.sid: p for p in observed}
        lines = [line for p in listed.values() for line in self.connect(p.sid, p.identity, p.connected_at)]
        for sid, known in list(self._state.participants.items()):
            # Someone who connected after the observation was taken is not missing from it.
            if sid not in listed and known.connected_at <= observed_at:
                lines += self.disconnect(sid)
        return lines

    def overdue(self, now: datetime) -> list[ConnectedParticipant]:
        """Who has stayed past their eviction deadline, earliest deadline first."""
        return sorted(
            (
                p
                for p in self._state.participants.values()
                if p.eviction_deadline is not None and p.eviction_deadline <= now
            ),
            key=lambda p: p.connected_at,
        )

    def next_deadline(self) -> datetime | None:
        deadlines = (p.eviction_deadline for p in self._state.participants.values())
        return min((d for d in deadlines if d is not None), default=None)

    def _saw(self, identity: str) -> None:
        self._state.participant_sids_seen += 1
        if identity not in self._state.identities_seen:
            self._state.identities_seen.append(identity)
