"""Phone sources: stream the rows of a CSV file, a JSONL file or an inline list.

Every row keeps where it came from (file and line, or the manifest position of an inline
entry) so rendering problems can point at it. Files are read lazily, row by row.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from dialogops import phones
from dialogops.datafiles import DataFileError, open_text, sniff_delimiter
from dialogops.errors import Location, Problem, RenderError
from dialogops.specs import CsvSource, Exclude, InlineSource, JsonlSource, PhoneSource
from dialogops.yamlio import display_path

# A raw row: the record, its phone text (None when the record has no phone field) and its
# position (a 1-based line for files, an entry index for inline lists). Locations are only
# built for rows that have a problem, which keeps the common path cheap.
RawRow = tuple[dict[str, Any], str | None, int]


@dataclass(frozen=True)
class SourceRow:
    """One record of a phone source and where it is written."""

    data: Mapping[str, Any]
    phone_raw: str  # "" when the record has no phone field
    origin: Location


def iter_rows(source: PhoneSource) -> Iterator[SourceRow]:
    """Every row of `source` in order; RenderError when the input cannot be read."""
    for data, phone, position in raw_rows(source):
        yield SourceRow(data, phone or "", origin(source, position))


def origin(source: PhoneSource, position: int) -> Location:
    """The Location of the row at `position` (as yielded by `raw_rows`)."""
    if isinstance(source, InlineSource):
        return source.locations[position]
    return Location(display_path(source.path), position, 1)


def raw_rows(source: PhoneSource) -> Iterator[RawRow]:
    """The rows of `source` as (record, phone text or None, position) tuples."""
    if isinstance(source, CsvSource):
        return _csv_rows(source)
    if isinstance(source, JsonlSource):
        return _jsonl_rows(source)
    return _inline_rows(source)


def _open(path: Path, encoding: str, where: Location) -> TextIO:
    try:
        return open_text(path, encoding)
    except DataFileError as exc:
        raise RenderError([Problem(where, "", str(exc))]) from None


def _unreadable(path: Path, line: int, exc: Exception, encoding: str) -> RenderError:
    if isinstance(exc, UnicodeDecodeError):
        message = f"cannot be read as {encoding} (declare its encoding, e.g. cp1251)"
    else:
        message = f"unreadable CSV: {exc}"
    return RenderError([Problem(Location(display_path(path), line, 1), "", message)])


def _csv_rows(source: CsvSource) -> Iterator[RawRow]:
    with _open(source.path, source.encoding, source.location) as handle:
        try:
            reader = csv.reader(handle, delimiter=source.delimiter or sniff_delimiter(handle))
            header = next((cells for cells in reader if cells), None)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise _unreadable(source.path, 1, exc, source.encoding) from None
        where = Location(display_path(source.path), reader.line_num, 1)
        if header is None:
            raise RenderError([Problem(where, "", "the file is empty; a header row is expected")])
        if source.phone_column not in header:
            columns = ", ".join(header)
            raise RenderError(
                [
                    Problem(
                        where,
                        "",
                        f"no column {source.phone_column!r} in the header (columns: {columns})",
                    )
                ]
            )
        phone_at = header.index(source.phone_column)
        width = len(header)
        line = reader.line_num + 1
        try:
            for cells in reader:
                if len(cells) == width:
                    phone: str | None = cells[phone_at]
                    data = dict(zip(header, cells, strict=True))
                else:
                    # Short rows lack the trailing columns, so templates using them fail as
                    # undefined instead of seeing empty values; extra cells are ignored.
                    phone = cells[phone_at] if phone_at < len(cells) else None
                    data = dict(zip(header, cells, strict=False))
                if phone or any(cell.strip() for cell in cells):
                    yield data, phone, line
                line = reader.line_num + 1
        except (UnicodeDecodeError, csv.Error) as exc:
            raise _unreadable(source.path, line, exc, source.encoding) from None


def _jsonl_rows(source: JsonlSource) -> Iterator[RawRow]:
    display = display_path(source.path)
    with _open(source.path, source.encoding, source.location) as handle:
        line = 0
        try:
            for line, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                except ValueError as exc:
                    message = f"not valid JSON: {exc}"
                    raise RenderError([Problem(Location(display, line, 1), "", message)]) from None
                if not isinstance(record, dict):
                    message = f"each line must be a JSON object, not {type(record).__name__}"
                    raise RenderError([Problem(Location(display, line, 1), "", message)])
                yield record, _phone_text(record.get(source.phone_column)), line
        except UnicodeDecodeError as exc:
            raise _unreadable(source.path, line + 1, exc, source.encoding) from None


def _inline_rows(source: InlineSource) -> Iterator[RawRow]:
    for index, entry in enumerate(source.entries):
        if isinstance(entry, Mapping):
            record = _plain(entry)
            yield record, _phone_text(record.get(source.phone_column)), index
        else:
            yield {source.phone_column: entry}, _phone_text(entry), index


def _phone_text(value: object) -> str | None:
    """The phone as text: YAML and JSON readers give unquoted numbers as integers."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return repr(value)


def _plain(value: Any) -> Any:
    """Plain dicts and lists, so templates see no YAML-library attributes on a row."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def read_excludes(excludes: Sequence[Exclude], region: str) -> frozenset[str]:
    """The E.164 numbers listed in the exclude files (one number a line, or a CSV column).

    A CSV file with a `phone` column is read by that column; otherwise the first column
    is used and a first line without digits is taken as a header. Blank lines and lines
    starting with `#` are ignored. Every invalid number is reported, with its file:line.
    """
    numbers: set[str] = set()
    problems: list[Problem] = []
    for exclude in excludes:
        problems.extend(_read_exclude(exclude, region, numbers))
    if problems:
        raise RenderError(problems)
    return frozenset(numbers)


def _read_exclude(exclude: Exclude, region: str, numbers: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    display = display_path(exclude.path)
    line = 0
    with _open(exclude.path, "utf-8", exclude.location) as handle:
        try:
            reader = csv.reader(handle, delimiter=sniff_delimiter(handle))
            column = 0
            first = True
            for cells in reader:
                line = reader.line_num
                if not cells or not cells[0].strip() or cells[0].lstrip().startswith("#"):
                    continue
                if first:
                    first = False
                    lowered = [c.strip().lower() for c in cells]
                    if "phone" in lowered:
                        column = lowered.index("phone")
                        continue
                    if not any(ch.isdigit() for ch in cells[0]):
                        continue
                raw = cells[column] if column < len(cells) else ""
                try:
                    numbers.add(phones.normalize(raw, region))
                except ValueError as exc:
                    problems.append(Problem(Location(display, line, 1), "exclude", str(exc)))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise _unreadable(exclude.path, line + 1, exc, "utf-8") from None
    return problems
