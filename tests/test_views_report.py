"""The report table for a terminal, and the line a run ends with."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from dialogops.specs import ReportColumn
from dialogops.views import report as view
from tests.sample_reports import parse_response, result


def test_table_shows_headers_rows_and_summary() -> None:
    out = io.StringIO()
    view.table(result(), out, title="nps-results", no_color=True)
    text = out.getvalue()
    for expected in (
        "nps-results",
        "Phone Number",
        "+7999*****02",  # a terminal is human output: numbers masked (files keep them)
        "3600",
        "Summary: 3 rows, total duration 1h 02m 05s",
    ):
        assert expected in text
    assert "\x1b[" not in text
    assert "+79990000002" not in text


def test_table_folds_long_values_instead_of_cutting_them() -> None:
    long_value = "2099-12-01T11:42:25+05:00-" + "x" * 60
    response = {"data": [{"note": long_value}], "count": 1, "total_duration": 0, "avg_duration": 0}
    note = ReportColumn(1, "note", "Note", "field", "text")
    out = io.StringIO()
    view.table(parse_response(response, (note,)), out, title="t", no_color=True)
    cells = [line.strip("│ ") for line in out.getvalue().splitlines() if line.startswith("│")]
    assert len(cells) > 1  # the console is 80 columns wide, the value longer
    assert "".join(cells) == long_value


def test_the_closing_line_goes_to_stderr_and_names_the_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    view.finished("nps-results", result().totals, Path("reports/nps.csv"))
    view.finished("nps-results", result().totals, None)
    out, err = capsys.readouterr()
    totals = "3 rows, total duration 1h 02m 05s, average 20m 42s"
    assert out == ""
    assert err.splitlines() == [
        f"report nps-results: {totals}; written to reports/nps.csv",
        f"report nps-results: {totals}",
    ]
