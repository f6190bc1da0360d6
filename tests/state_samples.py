"""Fingerprints and entries shared by the state tests."""

from __future__ import annotations

from dialogops.state import StateEntry

FP_A = "sha256:" + "a" * 64
FP_B = "sha256:" + "b" * 64


def created(name: str, id: int, fingerprint: str = FP_A, phones: int = 3) -> StateEntry:
    return StateEntry(
        name, "created", fingerprint, phones, id=id, created_at="2099-01-01T00:00:00Z"
    )
