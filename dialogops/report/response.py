"""The answer of the analytics endpoint, read and checked as it arrives.

The answer is parsed as it arrives (ijson), so a report of a million rows never sits in
memory: rows go to the writer one by one. The documented answer sends `columns` before
`data`; when a server sends `data` first, the rows wait in a temporary file until the
columns (or the end, then the requested columns) are known. The totals may come anywhere.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import IO, Any, Protocol

import ijson

from dialogops.errors import ApiError
from dialogops.specs import ReportColumn


class AnalyticsClient(Protocol):
    """The one API call a report makes (`DialogClient.open_report`)."""

    def open_report(
        self, project_id: int, body: Mapping[str, Any]
    ) -> AbstractContextManager[Readable]: ...


class Readable(Protocol):
    """A binary stream: what `DialogClient.open_report` yields, or a file."""

    def read(self, size: int = ..., /) -> bytes: ...


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
