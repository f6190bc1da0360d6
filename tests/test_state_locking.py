"""The lock holder's record, kept for the messages of those who wait."""

from __future__ import annotations

from dialogops.state import LockInfo


def test_the_lock_record_reads_back_and_a_partial_one_does_not() -> None:
    info = LockInfo.for_this_process("dialogops state rm nps")
    text = info.to_text()
    assert LockInfo.from_text(text) == info
    assert text.startswith('{\n  "pid": ') and text.endswith("}\n")
    assert LockInfo.from_text(text[:20]) is None
    assert LockInfo.from_text("") is None
