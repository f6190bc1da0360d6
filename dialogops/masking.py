"""The one pass over text that leaves the program for a person: messages, views and logs.

`scrub` redacts secrets (every token and password used, the userinfo of any URL), masks
phone-like numbers, shows control characters as escapes, then cuts long lines, in that
order, so a cut can never leave half a secret or half a number behind.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging

_MIN_SECRET = 4
_MIN_MASKED_DIGITS = 7
# A run with `+` is a phone from 7 digits on; without, from 10 (a national number), so
# IDs, counts, dates and times (fewer digits, or cut by `:`) stay as they are.
_MIN_PLUS_DIGITS = 7
_MIN_BARE_DIGITS = 10
# E.164 allows 15 digits: a longer run is several numbers side by side, or no phone at all.
_MAX_PHONE_DIGITS = 15
# Seven or more digits with separators between them: `+7 (999) 123-45-67`, `79991234567`.
# Not inside a word (hex in `sha256:...`, UUID groups) nor a time (`09:00`), so only
# numbers standing on their own are candidates. Each branch matches its first character
# before looking behind it, so a scan of long text skips most positions at once.
_NUMBER_LIKE = re.compile(
    r"\+(?<![\w+]\+)(?<!\w-\+)\d(?:[ \-()]*\d){6,}(?!\w)"
    r"|\d(?<![\w+]\d)(?<!\w-\d)(?<!\d:\d)(?:[ \-()]*\d){6,}(?!\w)(?!:\d)"
)
# The Russian local shape 123-45-67: a phone even with seven digits and no `+`.
_LOCAL_SHAPE = re.compile(r"\d{3}-\d{2}-\d{2}")
_WHITESPACE = re.compile(r"(\s+)")
# `scheme://user:password@host`: everything between `//` and `@` is a credential.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#@\s]*@")
# C0 and C1 controls, DEL, and the bidirectional overrides that reorder what a line shows.
_CONTROLS = "\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
_ALL_CONTROLS = re.compile(f"[{_CONTROLS}]")
_LAYOUT = "\n\t"
# The longest line a message or log record prints; longer ones end with `...`.
LINE_LIMIT = 1000


def mask_digits(raw: str) -> str:
    """`raw` with the middle digits hidden when it holds seven or more digits.

    Input with fewer than seven digits cannot identify anyone and is returned as it is.
    """
    positions = [i for i, char in enumerate(raw) if char.isdigit()]
    if len(positions) < _MIN_MASKED_DIGITS:
        return raw
    hidden = set(positions[4:-2])
    return "".join("*" if i in hidden else char for i, char in enumerate(raw))


def _masked_run(run: str) -> str:
    digits = sum(char.isdigit() for char in run)
    if digits > _MAX_PHONE_DIGITS:
        pieces = _WHITESPACE.split(run)
        if len(pieces) > 1:
            return "".join(_masked_run(piece) for piece in pieces)
        # One unbroken string of digits longer than any phone: an ID or a count.
        return run if run.isdigit() else mask_digits(run)
    plus = run.startswith("+")
    if (
        (plus and digits >= _MIN_PLUS_DIGITS)
        or digits >= _MIN_BARE_DIGITS
        or _LOCAL_SHAPE.fullmatch(run)
    ):
        return mask_digits(run)
    return run


def mask_numbers(text: str) -> str:
    """`text` with every phone-like number masked by `mask_digits` (`+7999*****67`).

    Phone-like: 7+ digits after a `+`, 10+ digits without one, or `123-45-67`; separators
    are spaces, dashes and brackets. Dates, times, IDs, counts and hex digests are kept.
    """
    return _NUMBER_LIKE.sub(lambda match: _masked_run(match.group()), text)


def escape_controls(text: str, *, keep: str = _LAYOUT) -> str:
    """Control characters (but those in `keep`) shown as escapes: ESC becomes `\\x1b`."""

    def escaped(match: re.Match[str]) -> str:
        char = match.group()
        if char in keep:
            return char
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _ALL_CONTROLS.sub(escaped, text)


def cut(text: str, limit: int) -> str:
    """Each line of `text` at most `limit` characters, a cut one ending with `...`."""
    return "\n".join(
        line if len(line) <= limit else line[:limit] + "..." for line in text.split("\n")
    )


def scrub(text: str, *, limit: int | None = LINE_LIMIT, one_line: bool = False) -> str:
    """`text` made safe to show: secrets, phone numbers, control characters, then length.

    `one_line` escapes newlines too, for a value placed inside a line; `limit` (None: no
    cut) bounds each line after masking.
    """
    shown = escape_controls(mask_numbers(redact(text)), keep="\t" if one_line else _LAYOUT)
    return shown if limit is None else cut(shown, limit)


def scrub_cells(cells: list[str]) -> list[str]:
    """`scrub(cell, one_line=True)` of each cell, in one pass over all of them.

    For long listings (`state list` of 100,000 entries): the cells, their newlines already
    escaped, are masked as the lines of one text; no number-like run crosses a line.
    """
    lines = "\n".join(cells)
    if lines.count("\n") + 1 != len(cells) or _ALL_CONTROLS.search(lines.replace("\n", "")):
        lines = "\n".join(escape_controls(cell, keep="\t") for cell in cells)
    return cut(mask_numbers(redact(lines)), LINE_LIMIT).split("\n")


def scrub_json(text: str) -> str:
    """A JSON document for people: `scrub` without a cut, controls as JSON escapes.

    `json.dumps` escapes C0 controls itself; DEL, C1 and bidi controls it leaves raw.
    """

    def escaped(match: re.Match[str]) -> str:
        char = match.group()
        return char if char in _LAYOUT else f"\\u{ord(char):04x}"

    return _ALL_CONTROLS.sub(escaped, mask_numbers(redact(text)))


class SecretRedactor:
    """Replaces every registered secret, in its plain, JSON and URL forms, with `***`."""

    def __init__(self) -> None:
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
        return _USERINFO.sub(r"\1***@", text) if "://" in text else text


class ScrubFilter:
    """A logging filter that passes each record's text, traceback included, through `scrub`.

    (Any object with `filter` is a logging filter; not importing logging keeps start-up light.)
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            import logging  # only a record with a traceback needs the formatter

            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return True


# The secrets this process has used: the client registers each token and password.
secrets = SecretRedactor()


def redact(text: str) -> str:
    """`text` without any token or password this process has used, nor any URL's userinfo."""
    return secrets.redact(text)
