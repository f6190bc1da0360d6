"""The ledger's parts: the keyed hash, the compact key sets, the periods, the SQLite store
and its reconciliation with state, and the defaults merge that joins lists."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path

import pytest

from dialogops.config import merge_defaults
from dialogops.errors import UsageError
from dialogops.ledger.keys import LedgerKey, optional_key, require_key
from dialogops.ledger.keyset import Filter, KeySet, split
from dialogops.ledger.records import Window
from dialogops.ledger.sqlite import ledger_path, open_sqlite_ledger
from dialogops.state import State, StateEntry

FP = "sha256:" + "a" * 64
OTHER_FP = "sha256:" + "b" * 64


@pytest.mark.parametrize("secret", [b"k" * 16, b"k" * 64, b"long" * 40, "ключ-ключ-ключ".encode()])
def test_the_hash_is_hmac_sha256_of_the_e164_number_cut_to_128_bits(secret: bytes) -> None:
    key = LedgerKey(secret)
    for number in ("+79991234567", "+12025550143"):
        expected = hmac.new(secret, number.encode(), hashlib.sha256).digest()[:16]
        assert key.hash(number) == expected
    assert LedgerKey(b"j" * 32).hash("+79991234567") != key.hash("+79991234567")
    assert repr(key) == "LedgerKey(***)"


def test_the_key_comes_from_the_environment_and_must_be_long_enough(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DIALOG_LEDGER_KEY", raising=False)
    assert optional_key() is None
    with pytest.raises(UsageError, match=r"^ledger check needs the contact ledger"):
        require_key("ledger check")
    monkeypatch.setenv("DIALOG_LEDGER_KEY", "unit-test-key15")
    with pytest.raises(UsageError, match="is too short"):
        optional_key()
    monkeypatch.setenv("DIALOG_LEDGER_KEY", "unit-test-key-16")
    assert require_key("plan").hash("+79991234567") == LedgerKey(b"unit-test-key-16").hash(
        "+79991234567"
    )


def test_a_key_set_counts_hashes_and_a_filter_lets_through_every_one_it_holds() -> None:
    hashes = [bytes([n]) * 16 for n in range(50)]
    twin = bytes([7]) * 8 + bytes([9]) * 8  # the first half of hashes[7], another second
    keys = KeySet([*hashes, hashes[3], twin])
    assert len(keys) == 52
    assert (keys.count(hashes[3]), keys.count(hashes[7]), keys.count(twin)) == (2, 1, 1)
    assert keys.count(bytes([200]) * 16) == 0
    assert KeySet([]).count(hashes[0]) == 0
    runs = [b"".join(hashes[:25]), b"".join(hashes[25:])]
    assert split(runs[1]) == hashes[25:]
    held = Filter(runs, 50)
    assert all(held.may_hold(hash) for hash in hashes)
    assert sum(held.may_hold(bytes([n, 1, 2, 3]) * 4) for n in range(50, 250)) < 50


def test_a_window_holds_the_iso_week_and_calendar_month_of_a_date() -> None:
    window = Window.of(dt.date(2099, 12, 31))  # a Thursday; its week ends in January
    assert dt.date.fromordinal(window.week_start) == dt.date(2099, 12, 28)
    assert dt.date.fromordinal(window.week_end) == dt.date(2100, 1, 3)
    assert dt.date.fromordinal(window.month_start) == dt.date(2099, 12, 1)
    assert dt.date.fromordinal(window.first) == dt.date(2099, 12, 1)
    assert dt.date.fromordinal(window.last) == dt.date(2100, 1, 3)


def entry(name: str, status: str, fingerprint: str = FP, id: int | None = None) -> StateEntry:
    return StateEntry(name=name, status=status, fingerprint=fingerprint, phones=2, id=id)  # type: ignore[arg-type]


def test_reconcile_keeps_what_may_have_been_called_and_drops_what_was_never_sent(
    tmp_path: Path,
) -> None:
    state_path = tmp_path / "dialogops.state.json"
    day = dt.date(2099, 12, 1)
    with open_sqlite_ledger(state_path) as ledger:
        for name in ("never-sent", "pending", "created", "refused-replace", "done"):
            ledger.record(name, day, FP, [name.encode().ljust(16, b".")] * 2)
        done = next(c for c in ledger.campaigns() if c.name == "done")
        ledger.confirm(done, 7)
        state = State(
            campaigns={
                "pending": entry("pending", "pending"),
                "created": entry("created", "created", id=5),
                "refused-replace": entry("refused-replace", "created", OTHER_FP, id=6),
                "done": entry("done", "created", id=7),
            }
        )

        assert ledger.reconcile(state) == 2
        kept = {c.name: c.campaign_id for c in ledger.campaigns()}
        assert kept == {"pending": None, "created": 5, "done": 7}
        assert ledger.reconcile(state) == 0
        assert [c.recipients for c in ledger.campaigns()] == [1, 1, 1]
    assert ledger_path(state_path) == tmp_path / "dialogops.state.ledger.sqlite"
    assert oct(ledger_path(state_path).stat().st_mode & 0o777) == "0o600"


def test_a_recorded_campaign_is_found_by_hash_and_pruned_by_date(tmp_path: Path) -> None:
    hashes = [n.to_bytes(16, "big") for n in range(10_000)]  # three stored runs
    with open_sqlite_ledger(tmp_path / "s.json") as ledger:
        old = ledger.record("old", dt.date(2099, 1, 5), FP, hashes[::-1], 1)
        new = ledger.record("new", dt.date(2099, 2, 5), FP, hashes[5000:], 2, left_out=hashes[:3])
        assert ledger.find(hashes[9999]) == (old, new)
        assert ledger.find(hashes[4096]) == (old,)
        assert ledger.find(b"\xff" * 16) == ()
        assert ledger.left_out_of(new) == frozenset(hashes[:3])
        assert [(m.month, m.campaigns, m.contacts, m.recipients) for m in ledger.stats()] == [
            ("2099-01", 1, 10_000, 10_000),
            ("2099-02", 1, 5000, 5000),
        ]
        assert ledger.prune(dt.date(2099, 2, 1)) == (1, 10_000)
        assert ledger.campaigns() == (new,)
        assert ledger.find(hashes[9999]) == (new,)


def test_read_only_opens_create_no_file(tmp_path: Path) -> None:
    with open_sqlite_ledger(tmp_path / "s.json", read_only=True) as ledger:
        assert ledger.campaigns() == ()
    assert list(tmp_path.iterdir()) == []


def test_defaults_merge_under_a_spec_joining_lists() -> None:
    defaults = {"phones": {"exclude": ["a.txt"], "dedupe": False}, "project_id": 1}
    spec = {"phones": {"exclude": ["b.txt"], "csv": {"path": "x"}}, "project_id": 2}
    merged, joined = merge_defaults(defaults, spec)
    assert merged == {
        "phones": {"exclude": ["a.txt", "b.txt"], "dedupe": False, "csv": {"path": "x"}},
        "project_id": 2,
    }
    assert joined == {("phones", "exclude"): 1}
