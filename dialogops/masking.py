"""Hiding phone numbers and secrets in text that leaves the program: messages, answers, logs.

A near-valid number is almost someone's phone, so any run of seven or more digits (with the
usual separators) keeps only its first four and last two digits. Every token and password
this process has used is replaced by `***`.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import urllib.parse

_MIN_SECRET = 4
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


class SecretRedactor(logging.Filter):
    """Replaces every registered secret, in its plain, JSON and URL forms, with `***`."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        # Replacing a 1-3 character string would garble every message and hide nothing.
        if len(secret) < _MIN_SECRET:
            return
        forms = {
            secret,
            json.dumps(secret)[1:-1],
            urllib.parse.quote(secret, safe=""),
            urllib.parse.quote_plus(secret),
        }
        with self._lock:
            self._secrets.update(f for f in forms if f)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        return True


# The secrets this process has used: the client registers each token and password.
secrets = SecretRedactor()


def redact(text: str) -> str:
    """`text` with every token and password this process has used replaced by `***`."""
    return secrets.redact(text)
