"""A checked report's rows as CSV, JSON, JSONL or Markdown, and the file they go to.

`write_report` streams the rows to an open text stream; `write_file` puts them in a file
atomically. The table for a terminal is a view (`dialogops.views.report`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, TextIO

from dialogops import markdown
from dialogops.durable import atomic_writer
from dialogops.errors import UsageError
from dialogops.report.response import ReportTotals, ResultColumn
from dialogops.specs import OutputFormat


class ReportRows(Protocol):
    """What the writers read: the columns, the rows once in order, then the totals."""

    @property
    def columns(self) -> tuple[ResultColumn, ...]: ...

    @property
    def totals(self) -> ReportTotals: ...

    def iter_rows(self) -> Iterator[Mapping[str, Any]]: ...


def cell(value: Any) -> str:
    """A value as text for CSV, Markdown and the table: nested values stay JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def row_cells(result: ReportRows) -> Iterator[list[str]]:
    for row in result.iter_rows():
        yield [cell(row.get(c.field)) for c in result.columns]


def write_csv(result: ReportRows, stream: TextIO, *, excel: bool = False) -> None:
    """CSV with a header of display names; `excel` starts it with a byte order mark."""
    if excel:
        stream.write("\ufeff")
    writer = csv.writer(stream)
    writer.writerow([c.display_name for c in result.columns])
    writer.writerows(row_cells(result))


def write_json(result: ReportRows, stream: TextIO) -> None:
    """One document: `columns`, `rows` (as the server sent them) and `summary`.

    Written piece by piece, as `json.dump(..., indent=2)` would lay it out, so the rows
    stream through; the summary, known only after the rows, comes last.
    """
    columns = [
        {"field": c.field, "display_name": c.display_name, "type": c.type} for c in result.columns
    ]
    stream.write('{\n  "format_version": 1,\n  "columns": ')
    stream.write(_indented(columns))
    stream.write(',\n  "rows": [')
    separator = "\n    "
    for row in result.iter_rows():
        stream.write(separator + _indented(row, 2))
        separator = ",\n    "
    stream.write("\n  ]" if separator != "\n    " else "]")
    stream.write(',\n  "summary": ' + _indented(result.totals.as_dict()) + "\n}\n")


def _indented(value: object, level: int = 1) -> str:
    """`value` as `json.dumps(indent=2)` writes it `level` levels deep in a document."""
    return json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n" + "  " * level)


def write_jsonl(result: ReportRows, stream: TextIO) -> None:
    """One row object per line, nothing else (the summary goes to stderr)."""
    for row in result.iter_rows():
        stream.write(json.dumps(row, ensure_ascii=False))
        stream.write("\n")


def write_markdown(result: ReportRows, stream: TextIO) -> None:
    """A GitHub-flavoured table, then the summary as a closing line."""
    stream.write(
        "| " + " | ".join(markdown.escape(c.display_name) for c in result.columns) + " |\n"
    )
    stream.write("|" + "---|" * len(result.columns) + "\n")
    for cells in row_cells(result):
        stream.write("| " + " | ".join(markdown.escape(c) for c in cells) + " |\n")
    stream.write(f"\n**Summary:** {result.totals}\n")


def check_excel(fmt: OutputFormat, excel: bool) -> None:
    if excel and fmt != "csv":
        raise UsageError(f"--excel applies to the csv format only, not {fmt}")


def write_report(
    result: ReportRows, fmt: OutputFormat, stream: TextIO, *, excel: bool = False
) -> None:
    """Write `result` as CSV, JSON, JSONL or Markdown to an open text stream."""
    check_excel(fmt, excel)
    if fmt == "csv":
        write_csv(result, stream, excel=excel)
    elif fmt == "json":
        write_json(result, stream)
    elif fmt == "jsonl":
        write_jsonl(result, stream)
    elif fmt == "markdown":
        write_markdown(result, stream)
    else:
        raise ValueError(f"{fmt} is a view, not a file format")


def write_file(path: Path, fmt: OutputFormat, write: Callable[[TextIO], None]) -> None:
    """Create or replace the file at `path` with what `write` writes, atomically.

    A file is replaced only once every row has been written to its temporary twin.
    """
    try:
        # csv writes its own \r\n line ends; the other formats use \n on every platform.
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(
            path, newline="" if fmt == "csv" else "\n", mode=existing_mode(path)
        ) as handle:
            write(handle)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def existing_mode(path: Path) -> int | None:
    """The permissions of the file a report replaces, so a refresh keeps who may read it.

    A new file keeps the temp file's 0600: reports hold phone numbers.
    """
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return None
