"""The roster on its own: events that arrive late, twice or out of order leave it right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from common.room_events import ObservedParticipant
from workflows.meeting_state import MeetingState
from workflows.roster import DEPARTED_LIMIT, Roster

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def roster() -> tuple[Roster, MeetingState]:
    state = MeetingState()
    return Roster(state, HOUR), state


def test_connect_sets_the_eviction_deadline_and_records_a_line() -> None:
    people, state = roster()
    assert people.connect("PA1", "alice", T0) == ["alice connected"]
    assert state.participants["PA1"].eviction_deadline == T0 + HOUR
    assert state.participant_sids_seen == 1 and state.identities_seen == ["alice"]


def test_a_duplicate_connect_changes_nothing() -> None:
    people, state = roster()
    people.connect("PA1", "alice", T0)
    assert people.connect("PA1", "alice", T0 + timedelta(seconds=5)) == []
    assert state.participants["PA1"].connected_at == T0 and state.participant_sids_seen == 1


def test_a_late_connect_for_someone_who_left_is_stale() -> None:
    people, state = roster()
    people.connect("PA1", "alice", T0)
    assert people.disconnect("PA1") == ["alice disconnected"]
    assert people.connect("PA1", "alice", T0) == []
    assert state.participants == {}


def test_a_disconnect_whose_connect_was_lost_still_counts_them() -> None:
    people, state = roster()
    assert people.disconnect("PA9", identity="bob") == ["bob came and went"]
    assert state.identities_seen == ["bob"] and state.participant_sids_seen == 1
    assert people.disconnect("PA9", identity="bob") == []


def test_a_rejoin_is_a_new_connection_of_the_same_identity() -> None:
    people, state = roster()
    people.connect("PA1", "alice", T0)
    people.disconnect("PA1")
    people.connect("PA2", "alice", T0 + timedelta(minutes=1))
    assert state.participant_sids_seen == 2 and state.identities_seen == ["alice"]


def test_a_snapshot_adds_the_listed_and_drops_the_missing_but_not_later_arrivals() -> None:
    people, state = roster()
    people.connect("PA1", "alice", T0)
    people.connect("PA3", "carol", T0 + timedelta(minutes=10))  # joined after the observation
    lines = people.apply_snapshot(
        [ObservedParticipant(sid="PA2", identity="bob", connected_at=T0)],
        observed_at=T0 + timedelta(minutes=5),
    )
    assert lines == ["bob connected", "alice disconnected"]
    assert set(state.participants) == {"PA2", "PA3"}


def test_overdue_and_next_deadline() -> None:
    people, _ = roster()
    assert people.next_deadline() is None
    people.connect("PA2", "bob", T0 + timedelta(minutes=5))
    people.connect("PA1", "alice", T0)
    assert people.next_deadline() == T0 + HOUR
    assert [p.identity for p in people.overdue(T0 + HOUR)] == ["alice"]
    assert [p.identity for p in people.overdue(T0 + 2 * HOUR)] == ["alice", "bob"]
    assert [p.identity for p in people.connected] == ["alice", "bob"]


def test_disconnect_everyone() -> None:
    people, state = roster()
    people.connect("PA1", "alice", T0)
    people.connect("PA2", "bob", T0)
    assert sorted(people.disconnect_everyone()) == ["alice disconnected", "bob disconnected"]
    assert state.participants == {}


def test_departed_memory_is_bounded() -> None:
    people, state = roster()
    for index in range(DEPARTED_LIMIT + 10):
        people.disconnect(f"PA{index}")
    assert len(state.departed) == DEPARTED_LIMIT and state.departed[-1] == f"PA{DEPARTED_LIMIT + 9}"
