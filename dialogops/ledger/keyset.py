"""Ledger hashes held for counting: sorted lists of 16-byte strings behind a filter.

Every recipient of a campaign to create is looked up in the contacts around its date; most
were contacted by no campaign there. A `Filter` (a byte table indexed by a hash's first
bits, about 8 slots per hash, built from the stored runs in C-sized steps) answers those
with one lookup; the rest are counted in a `KeySet` by binary search, which `bisect` does
in C.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from dialogops.ledger.keys import HASH_BYTES


class Filter:
    """Whether a hash may be among the hashes of the runs given."""

    def __init__(self, runs: Iterable[bytes], size: int) -> None:
        """`runs`: hashes joined, `size` of them in all."""
        self.bits = min(32, max(10, (size * 8).bit_length()))
        self.table = bytearray(1 << self.bits)
        self.shift = 32 - self.bits
        for run in runs:
            prefixes = array("I", run)
            if sys.byteorder == "little":
                prefixes.byteswap()
            for prefix in prefixes[:: HASH_BYTES // 4]:
                self.table[prefix >> self.shift] = 1

    def may_hold(self, hash: bytes) -> bool:
        return bool(self.table[int.from_bytes(hash[:4], "big") >> self.shift])


class KeySet:
    """A multiset of 16-byte hashes."""

    def __init__(self, hashes: Iterable[bytes]) -> None:
        self.hashes = sorted(hashes)

    def __len__(self) -> int:
        return len(self.hashes)

    def count(self, hash: bytes) -> int:
        """How many times `hash` is held."""
        return bisect_right(self.hashes, hash) - bisect_left(self.hashes, hash)


def split(run: bytes) -> list[bytes]:
    """The 16-byte hashes joined in one stored run."""
    return [run[start : start + HASH_BYTES] for start in range(0, len(run), HASH_BYTES)]
