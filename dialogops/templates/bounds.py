"""The bounds on what templates build: each value's size and digits, and each row's work
(`Budget`), checked as a value is built; the operators whose results could be huge (`*`,
`**`, `%`) are refused by the size they would build, before building it.
"""

from __future__ import annotations

import math
from typing import Any

from dialogops.specs import MAX_INT_DIGITS

# Bounds that keep one row's templates small and fast whatever a manifest writes.
MAX_VALUE_BYTES = 64 * 1024  # any value built, and each add_data value as JSON
MAX_ROW_WORK = 1024 * 1024  # characters read and built by one row's templates
ITEM_SIZE = 8  # what an item of a list or dict counts for, in characters
_INT_LIMIT: int = 10**MAX_INT_DIGITS
INT_BITS = int(MAX_INT_DIGITS / math.log10(2))  # 2**INT_BITS < 10**MAX_INT_DIGITS


class TemplateValueError(Exception):
    """A value a template cannot produce (too large, not a number, not JSON); says why."""


class Budget:
    """The work one row's templates may still do, in characters of values read and built."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_ROW_WORK

    def spend(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise over_budget()


def over_budget() -> TemplateValueError:
    return TemplateValueError(
        f"the row's templates read and build more than {MAX_ROW_WORK:,} characters "
        "of values; keep each row's work small"
    )


def measure(value: Any, limit: int = MAX_ROW_WORK) -> int:
    """The size of a value: its characters, and ITEM_SIZE for each item of a list or dict
    (what filters such as `sort` spend on an item costs as much as many characters);
    1 for anything small or opaque. Stops counting past `limit`.
    """
    if isinstance(value, str):
        return len(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value.bit_length() // 3 + 1
    if isinstance(value, list | tuple | dict):
        total = ITEM_SIZE * len(value)
        items = value.items() if isinstance(value, dict) else value
        for item in items:
            if total > limit:
                break
            total += measure(item, limit - total)
        return total
    return 1


def too_large(size: int) -> TemplateValueError:
    return TemplateValueError(
        f"the template builds a value of {size:,} characters, over the limit of {MAX_VALUE_BYTES:,}"
    )


def _too_many_items(value: Any) -> TemplateValueError:
    return TemplateValueError(
        f"the template builds a {type(value).__name__} of {len(value):,} items, over the size "
        f"limit of {MAX_VALUE_BYTES:,} ({ITEM_SIZE} for each item, and its characters)"
    )


def too_many_digits() -> TemplateValueError:
    return TemplateValueError(
        f"the template builds an integer of more than {MAX_INT_DIGITS:,} digits"
    )


def over_digits(value: int) -> bool:
    """Whether an integer has more than MAX_INT_DIGITS digits.

    Callers first check `value.bit_length() > INT_BITS`, which is cheap and true of
    every such integer (and of a few shorter ones, which this exact test lets through).
    """
    return abs(value) >= _INT_LIMIT


def built(value: Any, budget: Budget, read: int = 0) -> Any:
    """`value`, checked against the size bounds and charged to the row's budget along
    with the `read` characters of the values it was built from."""
    kind = type(value)
    if kind is str:
        size = len(value)
        if size > MAX_VALUE_BYTES:
            raise too_large(size)
    elif kind is int or kind is float or kind is bool:
        if kind is int and value.bit_length() > INT_BITS and over_digits(value):
            raise too_many_digits()
        size = 1
    else:
        size = measure(value, MAX_VALUE_BYTES)
        if size > MAX_VALUE_BYTES:
            raise _too_many_items(value)
    # Budget.spend, inlined: this runs for every filter and operator of every row.
    budget.left -= read + size + 1
    if budget.left < 0:
        raise over_budget()
    return value


_SEQUENCES = (str, list, tuple)


def bounded_mul(a: Any, b: Any) -> Any:
    """`a * b`, refusing a repeated sequence that would be over the size limit."""
    if isinstance(a, _SEQUENCES) and isinstance(b, int):
        sequence, times = a, b
    elif isinstance(b, _SEQUENCES) and isinstance(a, int):
        sequence, times = b, a
    else:
        return a * b
    each = measure(sequence, MAX_VALUE_BYTES)
    if each * times <= MAX_VALUE_BYTES:
        return a * b
    if isinstance(sequence, str):
        raise TemplateValueError(
            f"repeating a {each:,}-character text {times:,} times builds "
            f"{each * times:,} characters, over the limit of {MAX_VALUE_BYTES:,}"
        )
    kind = type(sequence).__name__
    raise TemplateValueError(
        f"repeating a {len(sequence):,}-item {kind} {times:,} times builds a {kind} of size "
        f"{each * times:,}, over the limit of {MAX_VALUE_BYTES:,} ({ITEM_SIZE} for each item, "
        "and its characters)"
    )


def bounded_pow(a: Any, b: Any) -> Any:
    """`a ** b`, refusing an integer power that would have too many digits to compute."""
    # |a| >= 2**(bits-1), so a**b has at least (bits-1)*b bits: refuse before computing.
    if isinstance(a, int) and isinstance(b, int) and b > 0 and (a.bit_length() - 1) * b > INT_BITS:
        raise too_many_digits()
    return a**b


def bounded_mod(a: Any, b: Any) -> Any:
    """`a % b`; formatting a string with `%` is refused, as its widths are unbounded."""
    if isinstance(a, str):
        raise TemplateValueError(
            "formatting text with % is not allowed in add_data templates; join text with ~"
        )
    return a % b
