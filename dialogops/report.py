"""A Report manifest's analytics request, the response check, and the output file formats.

`build_request` resolves a `Report` against its campaign and the state into the exact
body of `POST /analytics/{project_id}/report`; `parse_response` checks what came back;
`write_report` streams the rows as CSV, JSON, JSONL or Markdown and `write_file` puts
them in a file atomically. The table for a terminal is a view (`dialogops.views.report`).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialogops import markdown
from dialogops.durable import atomic_writer
from dialogops.errors import ApiError, StateError, UsageError
from dialogops.specs import Campaign, OutputFormat, Period, Project, Report, ReportColumn
from dialogops.state import State

# Filters that compare with a value; the others (is_empty, is_true, ...) take none.
COMPARING_FILTERS = frozenset({"equal", "contains", "starts_with", "ends_with"})


class AnalyticsClient(Protocol):
    """The one API call a report makes (`DialogClient.report`)."""

    def report(self, project_id: int, body: dict[str, Any]) -> Any: ...


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
    """A checked response. `rows` is the server's own list, never copied."""

    columns: tuple[ResultColumn, ...]
    rows: Sequence[Mapping[str, Any]]
    totals: ReportTotals


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


def campaign_id(campaign: str, state: State, *, sandbox_state: Path | None = None) -> int:
    """The ID recorded for `campaign`, or an error saying which command resolves it.

    `sandbox_state` (relative to the project root) is given when `state` is the state of
    `--sandbox` runs: the hints then name it, and `apply --sandbox`, which fills it.
    """
    entry = state.get(campaign)
    in_sandbox = f" --state {sandbox_state.as_posix()}" if sandbox_state is not None else ""
    if entry is None and sandbox_state is not None:
        raise StateError(
            f"campaign {campaign!r} is not in the sandbox state: create it with "
            f"`dialogops apply --sandbox`"
        )
    if entry is None:
        raise StateError(
            f"campaign {campaign!r} is not in state: create it with `dialogops apply` "
            f"(or record an existing one with `dialogops import {campaign} ID`)"
        )
    if entry.outcome_unknown or entry.id is None:
        raise StateError(
            f"campaign {campaign!r} has no known ID (its create outcome is {entry.status}): "
            f"check the Dialog UI, then `dialogops import {campaign} ID{in_sandbox}` or "
            f"`dialogops state rm {campaign}{in_sandbox}`"
        )
    return entry.id


def build_request(
    report: Report, project: Project, state: State, *, sandbox_state: Path | None = None
) -> ReportRequest:
    """Resolve `report` into the documented analytics body (`sandbox_state`: see `campaign_id`).

    The campaign's manifest supplies `project_id`, `start_block_id` and the default period
    (its schedule date, the whole day in the config's timezone) when the report omits them.
    """
    campaign: Campaign | None = None
    if report.campaign is not None:
        outgoing_id = campaign_id(report.campaign, state, sandbox_state=sandbox_state)
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


def malformed(reason: str) -> ApiError:
    return ApiError(f"the report endpoint answered with a malformed body: {reason}", status=200)


def number(payload: Mapping[str, Any], key: str) -> float:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise malformed(f"{key!r} is {value!r}, not a number of seconds")
    return value


def parse_response(payload: object, requested: Sequence[ReportColumn]) -> ReportResult:
    """Check the response shape; the rows stay the server's list (checked, not copied).

    Without a `columns` list in the response, the requested columns describe the rows.
    """
    if not isinstance(payload, Mapping):
        raise malformed(f"expected a JSON object, got {type(payload).__name__}")
    rows = payload.get("data")
    if not isinstance(rows, list):
        raise malformed("'data' is missing or not a list")
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise malformed(f"data[{index}] is not an object")
    columns = response_columns(payload.get("columns"), requested)
    count = payload.get("count", len(rows))
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise malformed(f"'count' is {count!r}, not a row count")
    totals = ReportTotals(
        count=count,
        total_duration=number(payload, "total_duration"),
        avg_duration=number(payload, "avg_duration"),
    )
    return ReportResult(columns=columns, rows=rows, totals=totals)


def response_columns(raw: object, requested: Sequence[ReportColumn]) -> tuple[ResultColumn, ...]:
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


def row_cells(result: ReportResult) -> Iterator[list[str]]:
    for row in result.rows:
        yield [cell(row.get(c.field)) for c in result.columns]


def write_csv(result: ReportResult, stream: TextIO, *, excel: bool = False) -> None:
    """CSV with a header of display names; `excel` starts it with a byte order mark."""
    if excel:
        stream.write("\ufeff")
    writer = csv.writer(stream)
    writer.writerow([c.display_name for c in result.columns])
    writer.writerows(row_cells(result))


def write_json(result: ReportResult, stream: TextIO) -> None:
    """One document: `columns`, `rows` (as the server sent them) and `summary`."""
    document = {
        "format_version": 1,
        "columns": [
            {"field": c.field, "display_name": c.display_name, "type": c.type}
            for c in result.columns
        ],
        "rows": result.rows,
        "summary": result.totals.as_dict(),
    }
    # json.dump encodes chunk by chunk, so the rows are written as they are read.
    json.dump(document, stream, ensure_ascii=False, indent=2)
    stream.write("\n")


def write_jsonl(result: ReportResult, stream: TextIO) -> None:
    """One row object per line, nothing else (the summary goes to stderr)."""
    for row in result.rows:
        stream.write(json.dumps(row, ensure_ascii=False))
        stream.write("\n")


def write_markdown(result: ReportResult, stream: TextIO) -> None:
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
    result: ReportResult, fmt: OutputFormat, stream: TextIO, *, excel: bool = False
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
