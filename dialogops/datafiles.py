"""Reading the user's data files: project-root confinement, encodings, CSV and JSONL rows.

Validation (which inspects a phone file before anything runs) and rendering (which streams
it) read through these functions, so a file is read one way and each problem worded once.
"""

from __future__ import annotations

import codecs
import csv
import enum
import io
import json
import sys
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from dialogops.inputfiles import NotRegularFileError, check_regular, open_regular
from dialogops.schemas import did_you_mean
from dialogops.specs import CsvSource, JsonlSource
from dialogops.yamlparse import MAX_DEPTH

DELIMITERS = ",;\t"
# The longest CSV row or JSONL line read, in characters: a phone row holds tens, and a
# file without line breaks must not be read into memory whole. (A CSV field is bounded
# tighter still, by the csv module's 131,072.)
MAX_ROW_CHARS = 1024 * 1024
SNIFF_BYTES = 64 * 1024
# Bytes read per step when scanning a data file's encoding, so a file without newlines
# is not read into memory at once.
READ_CHUNK = 1024 * 1024

# Rows as `csv_rows` and `jsonl_records` stream them: the line a row starts on, and the row.
CsvRows = Generator[tuple[int, list[str]], None, None]
JsonlRecords = Generator[tuple[int, dict[str, Any]], None, None]
# Given each byte of a file once, in order, as it is read (a digest's `update`).
ByteSink = Callable[[memoryview], object]


class Kind(enum.Enum):
    """What is wrong with a data file; `field` names the manifest setting it belongs to."""

    PATH = "path"  # NUL, absolute where a relative path is needed, missing, not a file
    OUTSIDE = "outside"  # resolves outside the project root
    UNREADABLE = "unreadable"  # cannot be opened, or is not CSV / JSON objects
    ENCODING = "encoding"  # an unknown codec, or bytes the declared codec cannot decode
    EMPTY = "empty"  # no header row, no JSON object
    COLUMN = "column"  # the phone column (CSV) or key (JSONL) is missing

    @property
    def field(self) -> str:
        if self is Kind.ENCODING:
            return "encoding"
        if self is Kind.COLUMN:
            return "phone_column"
        return "path"


@dataclass(frozen=True)
class FileProblem:
    """Why a data file cannot be used; the message names the file as the caller shows it."""

    kind: Kind
    message: str


class DataFileError(Exception):
    """A data file cannot be used; `problem` says why (the caller adds the location)."""

    def __init__(self, kind: Kind, message: str) -> None:
        super().__init__(message)
        self.problem = FileProblem(kind, message)


@dataclass(frozen=True)
class CsvHeader:
    columns: tuple[str, ...]
    phone_index: int  # the position of the phone column


@dataclass(frozen=True)
class Inspection:
    """What validation learns of a usable phone file."""

    columns: tuple[str, ...]  # the CSV header, or the keys of the first JSONL object
    rows: int | None  # data rows, when asked to count them


def resolve_inside(root: Path, base_dir: Path, written: str, *, absolute_ok: bool = False) -> Path:
    """Resolve `written` against `base_dir`, refusing any path that leaves `root`.

    Symlinks are resolved first, so a link pointing outside the project is refused too.
    Data files are named relative to their manifest; `absolute_ok` admits an absolute
    path inside the root (a report's output).
    """
    if "\x00" in written:
        raise DataFileError(Kind.PATH, "a path cannot contain a NUL character")
    candidate = Path(written)
    if candidate.is_absolute() and not absolute_ok:
        raise DataFileError(Kind.PATH, f"{written!r} must be a path relative to the manifest")
    try:
        resolved = (base_dir / candidate).resolve()
    except (RuntimeError, OSError):  # Python 3.11 and 3.12 raise RuntimeError on a loop
        raise DataFileError(Kind.PATH, f"{written!r} is a loop of symbolic links") from None
    if not resolved.is_relative_to(root.resolve()):
        raise DataFileError(Kind.OUTSIDE, f"{written!r} resolves outside the project root {root}")
    return resolved


def existing_file(root: Path, base_dir: Path, written: str) -> Path:
    """`resolve_inside`, and the path must name an existing file."""
    path = resolve_inside(root, base_dir, written)
    try:
        check_regular(path)
    except OSError as exc:
        raise _open_failure(exc, written) from None
    return path


def python_encoding(encoding: str) -> str:
    """The codec to read with: plain UTF-8 also accepts (and drops) a byte order mark.

    Codecs that are not text encodings (rot13, base64, zlib...) are refused here, before
    any reader could hand them bytes they were never meant to decode.
    """
    try:
        info = codecs.lookup(encoding)
    except LookupError as exc:
        raise DataFileError(Kind.ENCODING, f"unknown encoding {encoding!r}") from exc
    if not info._is_text_encoding:
        message = f"{encoding!r} is not a text encoding (name one such as utf-8 or cp1251)"
        raise DataFileError(Kind.ENCODING, message)
    return "utf-8-sig" if info.name == "utf-8" else info.name


class _Teed(io.RawIOBase):
    """A file read as it is, handing each byte to `sink` the first time it is read: a
    rewind (the delimiter sniff) does not give the same bytes twice."""

    def __init__(self, raw: io.RawIOBase, sink: ByteSink) -> None:
        super().__init__()
        self._raw, self._sink = raw, sink
        self._position = self._given = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._position = self._raw.seek(offset, whence)
        return self._position

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer: Any) -> int | None:
        count = self._raw.readinto(buffer)
        if count:
            start, self._position = self._position, self._position + count
            if self._position > self._given:
                self._sink(memoryview(buffer)[max(self._given - start, 0) : count])
                self._given = self._position
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_text(path: Path, encoding: str, shown: str, sink: ByteSink | None = None) -> TextIO:
    """Open a data file as text, with universal newlines off (the csv module's way);
    `sink`, if given, sees every byte of the file as it is read."""
    codec = python_encoding(encoding)
    try:
        binary = open_regular(path)
    except OSError as exc:
        raise _open_failure(exc, shown) from None
    if sink is not None:
        binary = io.BufferedReader(_Teed(binary.detach(), sink))
    return io.TextIOWrapper(binary, encoding=codec, newline="")


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


def csv_rows(
    path: Path,
    shown: str,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    sink: ByteSink | None = None,
) -> CsvRows:
    """(line where the row starts, cells) for every non-empty row of a CSV file, header
    included, read lazily; DataFileError when the file cannot be read. `sink` sees the
    file's bytes as they are read."""
    with open_text(path, encoding, shown, sink) as handle:
        line = 1  # where the row being read starts
        read = 0  # characters read
        row_begins = 0  # characters read before the row being read

        def lines() -> Iterator[str]:
            # A row (which may span lines inside quotes) is refused once it passes
            # MAX_ROW_CHARS, before it is read whole. (Bound once: this runs per line.)
            nonlocal read
            readline, most = handle.readline, MAX_ROW_CHARS
            while text := readline(most - (read - row_begins) + 1):
                read += len(text)
                if read - row_begins > most:
                    raise _row_too_long(shown, line)
                yield text

        try:
            reader = csv.reader(lines(), delimiter=delimiter or sniff_delimiter(handle))
            for cells in reader:
                if cells:
                    yield line, cells
                line, row_begins = reader.line_num + 1, read
        except csv.Error as exc:
            # Only reading rows raises it: name the line the parser stopped on, where the
            # broken quoting or oversized field is.
            message = f"{shown} line {reader.line_num} is not readable as CSV: {exc}"
            raise DataFileError(Kind.UNREADABLE, message) from None
        except UnicodeError:
            raise _undecodable(path, encoding, shown) from None


def csv_header(rows: Iterator[tuple[int, list[str]]], phone_column: str, shown: str) -> CsvHeader:
    """Take the header from `rows` (as given by `csv_rows`); it must hold `phone_column`."""
    first = next(rows, None)
    if first is None:
        raise DataFileError(Kind.EMPTY, f"{shown} is empty: a CSV phone file needs a header row")
    _, columns = first
    if phone_column not in columns:
        listed = ", ".join(repr(c) for c in columns)
        hint = did_you_mean(phone_column, columns)
        message = f"{shown} has no column {phone_column!r}{hint} (its columns: {listed})"
        raise DataFileError(Kind.COLUMN, message)
    return CsvHeader(tuple(columns), columns.index(phone_column))


def jsonl_records(
    path: Path, shown: str, encoding: str, sink: ByteSink | None = None
) -> JsonlRecords:
    """(line, object) for every non-blank line of a JSONL file, read lazily; DataFileError
    when a line is not a JSON object or the file cannot be read. `sink` sees the file's
    bytes as they are read."""
    with open_text(path, encoding, shown, sink) as handle:
        line = 0
        try:
            # One character more than a row may hold tells a longer line without reading it.
            while text := handle.readline(MAX_ROW_CHARS + 1):
                line += 1
                if len(text) > MAX_ROW_CHARS:
                    raise _row_too_long(shown, line)
                if text.strip():
                    yield line, _json_object(text, shown, line)
        except UnicodeError:
            raise _undecodable(path, encoding, shown) from None


def _row_too_long(shown: str, line: int) -> DataFileError:
    message = (
        f"{shown} line {line} is a row longer than {MAX_ROW_CHARS:,} characters, "
        "the most dialogops reads"
    )
    return DataFileError(Kind.UNREADABLE, message)


def _json_object(text: str, shown: str, line: int) -> dict[str, Any]:
    """One JSONL line as its object; DataFileError naming the file and line if it is not
    one, holds an integer longer than Python reads, or nests too deeply."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"{shown} line {line} is not valid JSON: {exc.msg}"
        raise DataFileError(Kind.UNREADABLE, message) from None
    except ValueError:  # the one other: an integer past sys.get_int_max_str_digits()
        message = (
            f"{shown} line {line} holds an integer of more than "
            f"{sys.get_int_max_str_digits():,} digits"
        )
        raise DataFileError(Kind.UNREADABLE, message) from None
    except RecursionError:
        raise _too_deep(shown, line) from None
    if not isinstance(record, dict):
        raise DataFileError(Kind.UNREADABLE, f"{shown} line {line} is not a JSON object")
    if _nested_deeper_than(record, MAX_DEPTH, text):
        raise _too_deep(shown, line)
    return record


def _too_deep(shown: str, line: int) -> DataFileError:
    message = f"{shown} line {line} is nested deeper than {MAX_DEPTH} levels"
    return DataFileError(Kind.UNREADABLE, message)


def _nested_deeper_than(record: dict[str, Any], limit: int, text: str) -> bool:
    """Whether an object parsed from `text` nests more than `limit` arrays and objects.

    Rows nest rarely if at all; a deeper one would crash whatever walks it recursively.
    """
    if text.count("[") + text.count("{") <= limit:  # cheap, and true of nearly every row
        return False
    stack: list[tuple[Any, int]] = [(record, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def inspect(
    source: CsvSource | JsonlSource, shown: str, *, count_rows: bool
) -> Inspection | FileProblem:
    """Check a phone file before anything runs: it decodes in full in its declared encoding,
    and its header (CSV) or first object (JSONL) holds the phone column.

    Rows are counted only when asked, since that reads (and parses) the whole file.
    """
    try:
        codec = python_encoding(source.encoding)
        bad_line = _first_undecodable_line(source.path, codec, shown)
        if bad_line is not None:
            message = _undecodable_message(shown, bad_line, source.encoding)
            return FileProblem(Kind.ENCODING, message)
        if isinstance(source, CsvSource):
            return _inspect_csv(source, shown, count_rows)
        return _inspect_jsonl(source, shown, count_rows)
    except DataFileError as exc:
        return exc.problem


def _inspect_csv(source: CsvSource, shown: str, count_rows: bool) -> Inspection:
    with closing(csv_rows(source.path, shown, source.encoding, source.delimiter)) as rows:
        header = csv_header(rows, source.phone_column, shown)
        return Inspection(header.columns, sum(1 for _ in rows) if count_rows else None)


def _inspect_jsonl(source: JsonlSource, shown: str, count_rows: bool) -> Inspection:
    with closing(jsonl_records(source.path, shown, source.encoding)) as records:
        checked = phone_records(records, source.phone_column, shown)
        _, first = next(checked)
        return Inspection(tuple(first), 1 + sum(1 for _ in checked) if count_rows else None)


def phone_records(
    records: Iterator[tuple[int, dict[str, Any]]], phone_column: str, shown: str
) -> Iterator[tuple[int, dict[str, Any]]]:
    """`records` (as given by `jsonl_records`), the file checked to hold one, and the
    first to hold `phone_column`."""
    first = next(records, None)
    if first is None:
        message = f"{shown} is empty: a JSONL phone file needs one JSON object per line"
        raise DataFileError(Kind.EMPTY, message)
    line, record = first
    if phone_column not in record:
        hint = did_you_mean(phone_column, list(record))
        raise DataFileError(Kind.COLUMN, f"{shown} line {line} has no key {phone_column!r}{hint}")
    yield first
    yield from records


def too_many_rows(shown: str, rows: int, limit: int) -> str:
    """The policy problem of a phone file of more rows than a campaign may call."""
    return f"{shown} has {rows} rows, more than the {limit} phones allowed by policy"


def _first_undecodable_line(path: Path, codec: str, shown: str) -> int | None:
    """The 1-based line holding the first byte `codec` cannot decode, reading in a stream."""
    decoder = codecs.getincrementaldecoder(codec)()
    line = 1
    try:
        with open_regular(path) as handle:
            while chunk := handle.readline(READ_CHUNK):
                try:
                    decoder.decode(chunk)
                except UnicodeError:
                    return line
                line += chunk.endswith(b"\n")
    except OSError as exc:
        raise _open_failure(exc, shown) from None
    try:
        decoder.decode(b"", final=True)
    except UnicodeError:
        return line
    return None


def _undecodable(path: Path, encoding: str, shown: str) -> DataFileError:
    """The problem of a text read that failed to decode, naming the line of the bad byte.

    A text reader decodes ahead of the line it returns, so the line is found by a scan.
    """
    line = _first_undecodable_line(path, python_encoding(encoding), shown)
    return DataFileError(Kind.ENCODING, _undecodable_message(shown, line, encoding))


def _undecodable_message(shown: str, line: int | None, encoding: str) -> str:
    where = f"{shown} line {line}" if line is not None else shown
    return f"{where} is not valid {encoding} (declare the file's real encoding, e.g. cp1251)"


def _open_failure(exc: OSError, shown: str) -> DataFileError:
    """Why a data file cannot be opened; `shown` names it as the manifest writes it."""
    if isinstance(exc, FileNotFoundError):
        return DataFileError(Kind.PATH, f"file {shown!r} does not exist")
    if isinstance(exc, IsADirectoryError):
        return DataFileError(Kind.PATH, f"{shown!r} is not a file")
    if isinstance(exc, NotRegularFileError):
        return DataFileError(Kind.PATH, f"{shown!r} is {exc}")
    return DataFileError(Kind.UNREADABLE, f"{shown} cannot be read: {exc.strerror or exc}")
