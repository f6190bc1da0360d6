"""Opening the user's data files: project-root confinement, encodings and CSV dialects.

Shared by validation (which checks a file before anything runs) and rendering (which
streams it), so both read a file exactly the same way.
"""

from __future__ import annotations

import codecs
import csv
from pathlib import Path
from typing import TextIO

DELIMITERS = ",;\t"
SNIFF_BYTES = 64 * 1024


class DataFileError(Exception):
    """A data file cannot be used; the message says why (the caller adds the location)."""


def resolve_inside(root: Path, base_dir: Path, relative: str) -> Path:
    """Resolve `relative` against `base_dir`, refusing any path that leaves `root`.

    Symlinks are resolved first, so a link pointing outside the project is refused too.
    """
    candidate = Path(relative)
    if candidate.is_absolute():
        raise DataFileError(f"{relative!r} must be a path relative to the manifest")
    resolved = (base_dir / candidate).resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise DataFileError(f"{relative!r} resolves outside the project root {root}")
    return resolved


def python_encoding(encoding: str) -> str:
    """The codec to read with: plain UTF-8 also accepts (and drops) a byte order mark."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise DataFileError(f"unknown encoding {encoding!r}") from exc
    return "utf-8-sig" if name == "utf-8" else name


def open_text(path: Path, encoding: str) -> TextIO:
    """Open a data file for reading as text, with universal newlines off (the csv module's way)."""
    try:
        return path.open(encoding=python_encoding(encoding), newline="")
    except FileNotFoundError as exc:
        raise DataFileError(f"file {path.name!r} does not exist") from exc
    except IsADirectoryError as exc:
        raise DataFileError(f"{path.name!r} is a directory, not a file") from exc
    except PermissionError as exc:
        raise DataFileError(f"file {path.name!r} is not readable") from exc


def detect_delimiter(sample: str) -> str:
    """Pick the delimiter among `,` `;` TAB from the first lines of a CSV file."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def sniff_delimiter(handle: TextIO) -> str:
    """The delimiter of an open CSV file, from its first lines; the file is rewound."""
    sample = handle.read(SNIFF_BYTES)
    handle.seek(0)
    return detect_delimiter(sample)


def csv_reader(handle: TextIO, delimiter: str | None) -> csv.DictReader[str]:
    """A DictReader over an open data file, detecting the delimiter when none is declared.

    The header row gives the keys; `reader.line_num` is the physical line last read.
    """
    return csv.DictReader(handle, delimiter=delimiter or sniff_delimiter(handle))
