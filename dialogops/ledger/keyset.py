"""`KeySet`: ledger hashes held compactly for counting, 16 bytes each.

A million hashes as Python bytes in a set take about 100 MB; here they are two sorted
arrays of 64-bit halves (16 MB), with a byte table in front that answers most misses
with one lookup.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable

_HALF = 64
_MASK = (1 << _HALF) - 1


def split(hash: bytes) -> tuple[int, int]:
    """A 16-byte hash as its high and low 64-bit halves."""
    whole = int.from_bytes(hash, "big")
    return whole >> _HALF, whole & _MASK


class KeySet:
    """A multiset of 16-byte hashes, counted by their halves."""

    def __init__(self, halves: Iterable[int]) -> None:
        """`halves`: each hash as one 128-bit integer (see `split`)."""
        ordered = sorted(halves)
        self.high = array("Q", (key >> _HALF for key in ordered))
        self.low = array("Q", (key & _MASK for key in ordered))
        # A table of about 8 slots per hash, indexed by the top bits of the high half.
        bits = max(10, (len(ordered) * 8).bit_length())
        self._shift = _HALF - bits
        self._present = bytearray(1 << bits)
        for high in self.high:
            self._present[high >> self._shift] = 1

    def __len__(self) -> int:
        return len(self.high)

    def count(self, high: int, low: int) -> int:
        """How many times the hash of halves (`high`, `low`) is held."""
        if not self._present[high >> self._shift]:
            return 0
        index = bisect_left(self.high, high)
        found = 0
        while index < len(self.high) and self.high[index] == high:
            found += self.low[index] == low
            index += 1
        return found
