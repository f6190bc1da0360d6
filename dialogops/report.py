"""A Report manifest's analytics request, the response check, and the output file formats.

`build_request` resolves a `Report` against its campaign and the state into the exact
body of `POST /analytics/{project_id}/report`; `StreamedReport` reads and checks what
comes back as it arrives; `write_report` streams the rows as CSV, JSON, JSONL or Markdown
and `write_file` puts them in a file atomically. The table for a terminal is a view
(`dialogops.views.report`).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import ijson

from dialogops import markdown
from dialogops.durable import atomic_writer
from dialogops.errors import ApiError, StateError, UsageError
from dialogops.hints import PLAIN, Hints
from dialogops.specs import Campaign, OutputFormat, Period, Project, Report, ReportColumn
from dialogops.state import State

# Filters that compare with a value; the others (is_empty, is_true, ...) take none.
COMPARING_FILTERS = frozenset({"equal", "contains", "starts_with", "ends_with"})


class AnalyticsClient(Protocol):
    """The one API call a report makes (`DialogClient.open_report`)."""

    def open_report(
        self, project_id: int, body: Mapping[str, Any]
    ) -> AbstractContextManager[Readable]: ...


@dataclass(frozen=True)
class ReportRequest:
    """A report resolved against its campaign and the state: where and what to POST."""

    name: str
    project_id: int
    body: dict[str, Any]


@dataclass(frozen=True)
class ResultColumn:
    """A column of the response: the row key, its header, the server's type."""

    field: str
    display_name: str
    type: str = "text"


@dataclass(frozen=True)
class ReportTotals:
    """The response's own totals; `str()` is the line every run prints."""

    count: int
    total_duration: float  # seconds
    avg_duration: float  # seconds

    def as_dict(self) -> dict[str, int | float]:
        return {
            "count": self.count,
            "total_duration": self.total_duration,
            "avg_duration": self.avg_duration,
        }

    def __str__(self) -> str:
        return (
            f"{self.count} {'row' if self.count == 1 else 'rows'}, "
            f"total duration {human_duration(self.total_duration)}, "
            f"average {human_duration(self.avg_duration)}"
        )


@dataclass(frozen=True)
class ReportResult:
    """A checked response held in memory: for the table on a terminal."""

    columns: tuple[ResultColumn, ...]
    rows: Sequence[Mapping[str, Any]]
    totals: ReportTotals

    def iter_rows(self) -> Iterator[Mapping[str, Any]]:
        return iter(self.rows)


class ReportRows(Protocol):
    """What the writers read: the columns, the rows once in order, then the totals."""

    @property
    def columns(self) -> tuple[ResultColumn, ...]: ...

    @property
    def totals(self) -> ReportTotals: ...

    def iter_rows(self) -> Iterator[Mapping[str, Any]]: ...


# --- the request -----------------------------------------------------------------------


def api_timestamp(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds and `Z`, as documented: `2026-12-01T04:00:00.000Z`."""
    utc = moment.astimezone(dt.UTC)
    return utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(f"unknown timezone {name!r} in the project config") from exc


def whole_day(date: dt.date, timezone: str) -> Period:
    """The calendar day `date` from midnight to midnight in `timezone` (23 or 25 h across DST)."""
    tz = zone(timezone)
    start = dt.datetime.combine(date, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return Period(start=start, end=end)


def column_body(column: ReportColumn) -> dict[str, Any]:
    """One entry of `columns`: filter and sorting keys appear only when the manifest sets them."""
    body: dict[str, Any] = {
        "id": column.id,
        "name": column.name,
        "display_name": column.display_name,
        "column_type": column.column_type,
        "data_type": column.data_type,
    }
    if column.filter_type is not None:
        body["filter_type"] = column.filter_type
        if column.filter_type in COMPARING_FILTERS and column.filter_value is not None:
            body["filter_value"] = column.filter_value
    if column.sorting is not None:
        body["sorting"] = column.sorting
    return body


def campaign_id(campaign: str, state: State, *, hints: Hints = PLAIN) -> int:
    """The ID recorded for `campaign`, or an error saying which command resolves it.

    The commands are written as `hints` says; with `hints.sandbox`, `state` is the state of
    `--sandbox` runs, which `apply --sandbox` fills.
    """
    entry = state.get(campaign)
    if entry is None and hints.sandbox:
        raise StateError(
            f"campaign {campaign!r} is not in the sandbox state: create it with "
            f"`{hints.command('apply')}`"
        )
    if entry is None:
        raise StateError(
            f"campaign {campaign!r} is not in state: create it with `{hints.command('apply')}` "
            f"(or record an existing one with `{hints.command(f'import {campaign} ID')}`)"
        )
    if entry.outcome_unknown or entry.id is None:
        raise StateError(
            f"campaign {campaign!r} has no known ID (its create outcome is {entry.status}): "
            f"check the Dialog UI, then `{hints.command(f'import {campaign} ID')}` or "
            f"`{hints.command(f'state rm {campaign}')}`"
        )
    return entry.id


def build_request(
    report: Report, project: Project, state: State, *, hints: Hints = PLAIN
) -> ReportRequest:
    """Resolve `report` into the documented analytics body (`hints`: see `campaign_id`).

    The campaign's manifest supplies `project_id`, `start_block_id` and the default period
    (its schedule date, the whole day in the config's timezone) when the report omits them.
    """
    campaign: Campaign | None = None
    if report.campaign is not None:
        outgoing_id = campaign_id(report.campaign, state, hints=hints)
        campaign = project.campaign(report.campaign)
    elif report.outgoing_campaign_id is not None:
        outgoing_id = report.outgoing_campaign_id
    else:
        raise UsageError(f"report {report.name!r} names neither campaign nor outgoing_campaign_id")

    project_id, start_block_id, period = report.project_id, report.start_block_id, report.period
    if campaign is not None:
        project_id = campaign.project_id if project_id is None else project_id
        start_block_id = campaign.start_block_id if start_block_id is None else start_block_id
        if period is None:
            period = whole_day(campaign.schedule.date, project.config.timezone)
    if project_id is None or start_block_id is None or period is None:
        given = {"project_id": project_id, "start_block_id": start_block_id, "period": period}
        raise UsageError(missing_from_campaign(report, [f for f, v in given.items() if v is None]))
    body = {
        "analytics_filter": {
            "scenario_id": report.scenario_id,
            "start_block_id": start_block_id,
            "outgoing_campaign_id": outgoing_id,
            "date_start": api_timestamp(aware(period.start, project.config.timezone)),
            "date_end": api_timestamp(aware(period.end, project.config.timezone)),
        },
        "columns": [column_body(c) for c in report.columns],
    }
    return ReportRequest(name=report.name, project_id=project_id, body=body)


def missing_from_campaign(report: Report, fields: Sequence[str]) -> str:
    names = " and ".join(f"spec.{f}" for f in fields)
    if report.campaign is None:
        return (
            f"report {report.name!r} ({report.location}): {names} must be given with "
            f"outgoing_campaign_id (there is no campaign manifest to take them from)"
        )
    return (
        f"report {report.name!r} ({report.location}): {names} not given and campaign "
        f"{report.campaign!r} has no manifest to take them from"
    )


def aware(moment: dt.datetime, timezone: str) -> dt.datetime:
    """A naive time is read as the platform's wall clock (the config's timezone)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone(timezone))


# --- the response ----------------------------------------------------------------------
#
# The answer is parsed as it arrives (ijson), so a report of a million rows never sits in
# memory: rows go to the writer one by one. The documented answer sends `columns` before
# `data`; when a server sends `data` first, the rows wait in a temporary file until the
# columns (or the end, then the requested columns) are known. The totals may come anywhere.


class Readable(Protocol):
    """A binary stream: what `DialogClient.open_report` yields, or a file."""

    def read(self, size: int = ..., /) -> bytes: ...


_CONTAINERS = {"start_map": "end_map", "start_array": "end_array"}
_EVENT_TYPES = {
    "start_map": "dict",
    "start_array": "list",
    "string": "str",
    "number": "number",
    "integer": "int",
    "double": "float",
    "boolean": "bool",
    "null": "NoneType",
}
_TOTALS = ("count", "total_duration", "avg_duration")


def malformed(reason: str) -> ApiError:
    return ApiError(f"the report endpoint answered with a malformed body: {reason}", status=200)


def number(payload: Mapping[str, Any], key: str) -> float:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise malformed(f"{key!r} is {value!r}, not a number of seconds")
    return value


class StreamedReport:
    """A report answer read from `answer`: `columns` at once, `rows()` once, then `totals`.

    Every check of the shape happens while reading (`data` a list of objects, `columns`,
    the totals numbers), so a malformed answer fails before the writer finishes.
    """

    def __init__(self, answer: Readable, requested: Sequence[ReportColumn]) -> None:
        self._events: Iterator[tuple[str, str, Any]] = iter(ijson.parse(answer, use_float=True))
        self._scalars: dict[str, Any] = {}
        self._raw_columns: object = None
        self._has_columns = False
        self._data_seen = False
        self._streaming = False  # rows are read from the answer as the writer asks
        self._spool: IO[str] | None = None
        self._rows_read = 0
        self._done = False
        try:
            first = self._next()
            if first is None or first[1] != "start_map":
                got = "nothing" if first is None else _EVENT_TYPES.get(first[1], first[1])
                raise malformed(f"expected a JSON object, got {got}")
            self._read_keys()
            self.columns = response_columns(
                self._raw_columns if self._has_columns else None, requested
            )
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Remove the rows kept on disk, if any."""
        if self._spool is not None:
            self._spool.close()

    def __enter__(self) -> StreamedReport:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def totals(self) -> ReportTotals:
        """The answer's totals; known once `rows()` has been read to the end."""
        if not self._done:
            raise RuntimeError("the totals come after the rows")
        count = self._scalars.get("count", self._rows_read)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise malformed(f"'count' is {count!r}, not a row count")
        return ReportTotals(
            count=count,
            total_duration=number(self._scalars, "total_duration"),
            avg_duration=number(self._scalars, "avg_duration"),
        )

    def iter_rows(self) -> Iterator[Mapping[str, Any]]:
        """Each row object in order; the answer is read to its end on the way."""
        if self._streaming:
            yield from self._data_items()
            self._streaming = False
            self._read_keys()
        elif self._spool is not None:
            self._spool.seek(0)
            for line in self._spool:
                yield json.loads(line)
        self._done = True

    def collect(self) -> ReportResult:
        """Every row in memory (the table for a terminal), with the checked totals."""
        rows = list(self.iter_rows())
        return ReportResult(columns=self.columns, rows=rows, totals=self.totals)

    def _next(self) -> tuple[str, str, Any] | None:
        try:
            return next(self._events, None)
        except (ijson.JSONError, ValueError) as exc:  # ValueError: bytes that are not UTF-8
            raise malformed(f"not JSON ({' '.join(str(exc).split())})") from None

    def _read_keys(self) -> None:
        """Read top-level keys until `data` can be streamed, or to the end of the object."""
        while (event := self._next()) is not None:
            prefix, kind, key = event
            if prefix == "" and kind == "end_map":
                self._done_keys()
                return
            value = self._next()
            if value is None:
                break
            if key == "data":
                if self._data_seen:
                    raise malformed("'data' appears twice")
                self._data_seen = True
                if value[1] != "start_array":
                    raise malformed("'data' is missing or not a list")
                if self._has_columns:
                    self._streaming = True
                    return
                self._spool_rows()
            elif key == "columns":
                self._has_columns = True
                self._raw_columns = self._value(value)
            elif key in _TOTALS:
                self._scalars[key] = self._value(value)
            else:
                self._skip(value)
        raise malformed("the JSON object is cut short")

    def _done_keys(self) -> None:
        if not self._data_seen:
            raise malformed("'data' is missing or not a list")
        self._next()  # read past the end: the parser refuses anything after the object

    def _data_items(self) -> Iterator[Mapping[str, Any]]:
        while (event := self._next()) is not None:
            _prefix, kind, _value = event
            if kind == "end_array":
                return
            row = self._value(event)
            if not isinstance(row, dict):
                raise malformed(f"data[{self._rows_read}] is not an object")
            self._rows_read += 1
            yield row
        raise malformed("the JSON object is cut short")

    def _spool_rows(self) -> None:
        # Rows before the columns: kept on disk, in order, until the columns are known.
        # Closed by `close`; an unnamed file leaves nothing behind on disk in any case.
        self._spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        for row in self._data_items():
            self._spool.write(json.dumps(row, ensure_ascii=False) + "\n")

    def _value(self, first: tuple[str, str, Any]) -> Any:
        """The whole value that starts with the event `first`."""
        _prefix, kind, value = first
        if kind not in _CONTAINERS:
            return value
        builder = ijson.ObjectBuilder()
        builder.event(kind, value)
        depth = 1
        while depth:
            event = self._next()
            if event is None:
                raise malformed("the JSON object is cut short")
            _prefix, kind, value = event
            builder.event(kind, value)
            depth += 1 if kind in _CONTAINERS else -1 if kind in _ENDS else 0
        return builder.value

    def _skip(self, first: tuple[str, str, Any]) -> None:
        """Read past a value nobody asked for, without building it."""
        depth = 1 if first[1] in _CONTAINERS else 0
        while depth:
            event = self._next()
            if event is None:
                raise malformed("the JSON object is cut short")
            depth += 1 if event[1] in _CONTAINERS else -1 if event[1] in _ENDS else 0


_ENDS = frozenset(_CONTAINERS.values())


def response_columns(raw: object, requested: Sequence[ReportColumn]) -> tuple[ResultColumn, ...]:
    """The answer's `columns`; without any, the requested columns describe the rows."""
    if raw is None:
        return tuple(ResultColumn(c.name, c.display_name, c.data_type) for c in requested)
    if not isinstance(raw, list):
        raise malformed("'columns' is not a list")
    columns = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping) or not isinstance(item.get("field"), str):
            raise malformed(f"columns[{index}] has no 'field'")
        field = item["field"]
        display = item.get("display_name")
        columns.append(
            ResultColumn(
                field=field,
                display_name=display if isinstance(display, str) and display else field,
                type=str(item.get("type", "text")),
            )
        )
    return tuple(columns)


# --- the output ------------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """`1h 02m 05s`, `2m 05s` or `45s`, rounded to the nearest second."""
    total = int(seconds + 0.5)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


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
