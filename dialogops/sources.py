"""Phone sources: stream the rows of a CSV file, a JSONL file or an inline list.

Every row keeps where it came from (file and line, or the manifest position of an inline
entry) so rendering problems can point at it. Files are read lazily, row by row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialogops import datafiles, phones
from dialogops.datafiles import ByteSink, DataFileError
from dialogops.errors import Location, Problem, RenderError, Rule
from dialogops.specs import (
    CsvSource,
    Exclude,
    FileChecks,
    InlineSource,
    JsonlSource,
    PhoneSource,
)
from dialogops.yamlio import display_path

# Headers of up to this many columns build each row's record with a generated function;
# compiling one for a longer header would cost more than it saves.
_GENERATED_COLUMNS = 256

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


def raw_rows(source: PhoneSource, digests: dict[Path, str] | None = None) -> Iterator[RawRow]:
    """The rows of `source` as (record, phone text or None, position) tuples; once a file
    is read to its end, its `sha256:<hex>` is put in `digests` under its path."""
    if isinstance(source, CsvSource):
        return _csv_rows(source, digests)
    if isinstance(source, JsonlSource):
        return _jsonl_rows(source, digests)
    return _inline_rows(source)


@contextmanager
def _hashed(path: Path, digests: dict[Path, str] | None) -> Iterator[ByteSink | None]:
    """A sink for the bytes of `path` as they are read, giving its digest to `digests`
    when the block ends without an error (the file was read whole)."""
    if digests is None:
        yield None
        return
    digest = hashlib.sha256()
    yield digest.update
    digests[path] = "sha256:" + digest.hexdigest()


@contextmanager
def _reported(where: Location, checks: FileChecks | None = None) -> Iterator[None]:
    """A data file problem as a RenderError, worded as `validate` words it: placed where
    validation would place it (`checks`), else where the manifest names the file."""
    try:
        yield
    except DataFileError as exc:
        found = exc.problem
        place, field = (where, "") if checks is None else checks.places[found.kind.field]
        raise RenderError([Problem(place, field, found.message, Rule.DATA_FILE)]) from None


def _shown(source: CsvSource | JsonlSource) -> str:
    """The file as messages name it: as the manifest writes it when the render checks it."""
    return display_path(source.path) if source.checks is None else source.checks.written


def _check_count(checks: FileChecks | None, rows: int) -> None:
    """The policy's bound on a file's rows, checked as validation checks it."""
    if checks is None or checks.max_rows is None or rows <= checks.max_rows:
        return
    place, field = checks.places["path"]
    message = datafiles.too_many_rows(checks.written, rows, checks.max_rows)
    raise RenderError([Problem(place, field, message, Rule.POLICY)])


def _csv_rows(source: CsvSource, digests: dict[Path, str] | None) -> Iterator[RawRow]:
    shown = _shown(source)
    rows_read = 0
    with (
        _reported(source.location, source.checks),
        _hashed(source.path, digests) as sink,
        closing(
            datafiles.csv_rows(source.path, shown, source.encoding, source.delimiter, sink)
        ) as rows,
    ):
        header = datafiles.csv_header(rows, source.phone_column, shown)
        columns, phone_at = header.columns, header.phone_index
        record, width = _record_of(columns)
        for line, cells in rows:
            rows_read += 1
            # Short rows lack the trailing columns, so templates using them fail as
            # undefined instead of seeing empty values; extra cells are ignored. (Even
            # strict=False costs zip a keyword call: a third of building the dict.)
            data = record(cells) if len(cells) >= width else dict(zip(columns, cells))  # noqa: B905
            phone = cells[phone_at] if phone_at < len(cells) else None
            if phone or any(cell.strip() for cell in cells):
                yield data, phone, line
        _check_count(source.checks, rows_read)


def _record_of(columns: tuple[str, ...]) -> tuple[Callable[[list[str]], dict[str, str]], int]:
    """The function building the record of a row of at least the returned number of cells.

    For a row with a cell for every column, one dict display builds it in half the time of
    dict(zip(...)). The column names are bound to the function's closure, never written
    in its source.
    """
    if len(columns) > _GENERATED_COLUMNS:
        return lambda cells: dict(zip(columns, cells)), 0  # noqa: B905 (as for short rows)
    names = [f"k{index}" for index in range(len(columns))]
    entries = "".join(f"{name}: cells[{index}], " for index, name in enumerate(names))
    source = f"def bind({', '.join(names)}):\n    return lambda cells: {{{entries}}}"
    namespace: dict[str, Any] = {}
    exec(compile(source, "<csv record>", "exec"), namespace)
    return namespace["bind"](*columns), len(columns)


def _jsonl_rows(source: JsonlSource, digests: dict[Path, str] | None) -> Iterator[RawRow]:
    shown = _shown(source)
    rows_read = 0
    with (
        _reported(source.location, source.checks),
        _hashed(source.path, digests) as sink,
        closing(datafiles.jsonl_records(source.path, shown, source.encoding, sink)) as records,
    ):
        checked: Iterator[tuple[int, dict[str, Any]]] = records
        if source.checks is not None:  # the first-object check validation left to this read
            checked = datafiles.phone_records(records, source.phone_column, shown)
        for line, record in checked:
            rows_read += 1
            yield record, _phone_text(record.get(source.phone_column)), line
        _check_count(source.checks, rows_read)


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


def read_excludes(
    excludes: Sequence[Exclude], region: str, digests: dict[Path, str] | None = None
) -> dict[str, int]:
    """The E.164 numbers listed in the exclude files (one number a line, or a CSV column),
    each with the index of the first file that lists it.

    A CSV file with a `phone` column is read by that column; otherwise the first column
    is used and a first line without digits is taken as a header. Blank lines and lines
    starting with `#` are ignored. Every invalid number is reported, with its file:line.
    Each file's digest is put in `digests`, as `raw_rows` does.
    """
    numbers: dict[str, int] = {}
    problems: list[Problem] = []
    for index, exclude in enumerate(excludes):
        problems.extend(_read_exclude(exclude, region, index, numbers, digests))
    if problems:
        raise RenderError(problems)
    return numbers


def _read_exclude(
    exclude: Exclude,
    region: str,
    index: int,
    numbers: dict[str, int],
    digests: dict[Path, str] | None,
) -> list[Problem]:
    problems: list[Problem] = []
    display = display_path(exclude.path)
    column = 0
    first = True
    with (
        _reported(exclude.location),
        _hashed(exclude.path, digests) as sink,
        closing(datafiles.csv_rows(exclude.path, display, sink=sink)) as rows,
    ):
        for line, cells in rows:
            if not cells[0].strip() or cells[0].lstrip().startswith("#"):
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
                numbers.setdefault(phones.normalize(raw, region), index)
            except ValueError as exc:
                problems.append(Problem(Location(display, line, 1), "exclude", str(exc)))
    return problems
