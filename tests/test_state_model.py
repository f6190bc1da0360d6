"""The state records and the pure changes made to them (no files)."""

from __future__ import annotations

import pytest

from dialogops.errors import StateError
from dialogops.state import Replaced, State, StateEntry, forget, record_import, superseded
from tests.state_samples import FP_A, FP_B, created


def test_pending_and_unknown_entries_have_an_unknown_outcome() -> None:
    assert StateEntry("a", "pending", FP_A, 1).outcome_unknown
    assert StateEntry("a", "unknown", FP_A, 1).outcome_unknown
    assert not created("a", 1).outcome_unknown


def test_a_created_entry_without_its_id_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="a created campaign needs its `id`"):
        StateEntry("a", "created", FP_A, 1)


def test_a_pending_entry_becomes_created_or_unknown() -> None:
    pending = StateEntry("a", "pending", FP_A, 4, started_at="2099-01-01T10:00:00Z")
    assert pending.as_created(12, "2099-01-01T10:00:01Z") == StateEntry(
        "a",
        "created",
        FP_A,
        4,
        id=12,
        created_at="2099-01-01T10:00:01Z",
        started_at="2099-01-01T10:00:00Z",
    )
    assert pending.as_unknown() == StateEntry(
        "a", "unknown", FP_A, 4, started_at="2099-01-01T10:00:00Z"
    )


def test_put_and_remove_return_new_states() -> None:
    empty = State()
    one = empty.put(created("a", 1))
    assert empty.get("a") is None
    assert one.get("a") == created("a", 1)
    assert one.remove("a").campaigns == {}


def test_owner_of_an_id_current_or_replaced() -> None:
    old = Replaced(3, FP_B, "2098-01-01T00:00:00Z", "2098-06-01T00:00:00Z")
    state = (
        State()
        .put(created("a", 7))
        .put(
            StateEntry(
                "b", "created", FP_A, 5, id=8, created_at="2099-01-01T00:00:00Z", history=(old,)
            )
        )
    )
    assert state.owner_of(7, besides="b") == "a"
    assert state.owner_of(3, besides="a") == "b"
    assert state.owner_of(7, besides="a") is None
    assert state.owner_of(9, besides="a") is None


def test_a_superseded_campaign_joins_the_history() -> None:
    old = Replaced(3, FP_B, "2098-01-01T00:00:00Z", "2098-06-01T00:00:00Z")
    entry = StateEntry(
        "a", "created", FP_A, 5, id=7, created_at="2099-01-01T00:00:00Z", history=(old,)
    )
    assert superseded(entry, "2099-02-01T00:00:00Z") == (
        old,
        Replaced(7, FP_A, "2099-01-01T00:00:00Z", "2099-02-01T00:00:00Z"),
    )
    never_created = StateEntry("a", "unknown", FP_A, 5, history=(old,))
    assert superseded(never_created, "2099-02-01T00:00:00Z") == (old,)


def test_forget() -> None:
    state = State().put(created("a", 1)).put(created("b", 2))
    new, entry = forget(state, "a")
    assert entry == created("a", 1)
    assert set(new.campaigns) == {"b"}
    with pytest.raises(StateError, match=r"no campaign named 'x' in state \(known: a, b\)"):
        forget(state, "x")


def test_import_of_a_new_campaign() -> None:
    state, entry = record_import(State(), "a", 10, FP_A, 5, now="2099-02-01T00:00:00Z")
    assert entry == StateEntry("a", "created", FP_A, 5, id=10, created_at="2099-02-01T00:00:00Z")
    assert state.get("a") == entry


def test_import_resolving_an_unknown_entry_keeps_the_send_time() -> None:
    unknown = StateEntry("a", "unknown", FP_A, 5, started_at="2099-01-01T10:00:00Z")
    _, entry = record_import(State().put(unknown), "a", 10, FP_B, 6, now="2099-02-01T00:00:00Z")
    assert entry == StateEntry("a", "created", FP_B, 6, id=10, created_at="2099-01-01T10:00:00Z")


def test_import_with_another_id_keeps_the_old_one_in_history() -> None:
    old = Replaced(3, FP_B, "2098-01-01T00:00:00Z", "2098-06-01T00:00:00Z")
    before = State().put(
        StateEntry("a", "created", FP_A, 5, id=7, created_at="2099-01-01T00:00:00Z", history=(old,))
    )
    _, entry = record_import(before, "a", 10, FP_B, 6, now="2099-02-01T00:00:00Z")
    assert entry.id == 10
    assert entry.history == (old, Replaced(7, FP_A, "2099-01-01T00:00:00Z", "2099-02-01T00:00:00Z"))


def test_import_with_the_same_id_only_refreshes_fingerprint_and_phones() -> None:
    before = State().put(created("a", 7))
    _, entry = record_import(before, "a", 7, FP_B, 9, now="2099-02-01T00:00:00Z")
    assert entry == StateEntry("a", "created", FP_B, 9, id=7, created_at="2099-01-01T00:00:00Z")


def test_import_of_an_id_recorded_under_another_name_is_refused() -> None:
    with pytest.raises(StateError, match="campaign id 7 is already recorded for 'b'"):
        record_import(State().put(created("b", 7)), "a", 7, FP_A, 1)
