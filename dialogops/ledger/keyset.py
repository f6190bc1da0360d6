"""Ledger hashes held compactly for counting, 16 bytes each.

A million hashes as Python bytes in a set take about 100 MB; a `KeySet` keeps them as two
sorted arrays of 64-bit halves (16 MB), with a `Filter` in front: a byte table indexed by
a hash's first bits that answers most misses with one lookup.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable

_HALF = 64
_MASK = (1 << _HALF) - 1


class Filter:
    """Whether a hash may be among `size` hashes, by the first bits of their high halves."""

    def __init__(self, highs: Iterable[int], size: int) -> None:
        # About 8 slots per hash: one miss in 8 is let through to the exact search.
        bits = min(32, max(10, (size * 8).bit_length()))
        self._table = bytearray(1 << bits)
        self._shift = 32 - bits
        shift = _HALF - bits
        for high in highs:
            self._table[high >> shift] = 1

    def may_hold(self, hash: bytes) -> bool:
        return bool(self._table[int.from_bytes(hash[:4], "big") >> self._shift])


class KeySet:
    """A multiset of 16-byte hashes."""

    def __init__(self, keys: Iterable[int]) -> None:
        """`keys`: each hash as one 128-bit integer (`int.from_bytes(hash, "big")`)."""
        ordered = sorted(keys)
        self.high = array("Q", (key >> _HALF for key in ordered))
        self.low = array("Q", (key & _MASK for key in ordered))
        self.filter = Filter(self.high, len(self.high))

    def __len__(self) -> int:
        return len(self.high)

    def count(self, hash: bytes) -> int:
        """How many times `hash` is held."""
        if not self.filter.may_hold(hash):
            return 0
        whole = int.from_bytes(hash, "big")
        high, low = whole >> _HALF, whole & _MASK
        index = bisect_left(self.high, high)
        found = 0
        while index < len(self.high) and self.high[index] == high:
            found += self.low[index] == low
            index += 1
        return found
