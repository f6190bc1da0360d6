"""Hiding phone numbers in text that leaves the program: messages, server answers, logs.

A near-valid number is almost someone's phone, so any run of seven or more digits (with the
usual separators) keeps only its first four and last two digits.
"""

from __future__ import annotations

import re

_MIN_MASKED_DIGITS = 7
# A digit, then digits and separators, ending on a digit: `+7 (999) 123-45-67`, `79991234567`.
_NUMBER_LIKE = re.compile(r"\+?\d[\d \-().]*\d")


def mask_digits(raw: str) -> str:
    """`raw` with the middle digits hidden when it holds seven or more digits.

    Input with fewer than seven digits cannot identify anyone and is returned as it is.
    """
    positions = [i for i, char in enumerate(raw) if char.isdigit()]
    if len(positions) < _MIN_MASKED_DIGITS:
        return raw
    hidden = set(positions[4:-2])
    return "".join("*" if i in hidden else char for i, char in enumerate(raw))


def mask_numbers(text: str) -> str:
    """`text` with every phone-like run of digits masked by `mask_digits`."""
    return _NUMBER_LIKE.sub(lambda match: mask_digits(match.group()), text)
