"""Unit tests of dialogops.report: the request body, the response check and the file formats."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

from dialogops.errors import ApiError, StateError, UsageError
from dialogops.hints import Hints
from dialogops.report.outputs import (
    cell,
    write_csv,
    write_json,
    write_jsonl,
    write_markdown,
    write_report,
)
from dialogops.report.request import build_request, column_body
from dialogops.report.response import ReportTotals, ResultColumn, StreamedReport, human_duration
from dialogops.specs import Period, ReportColumn
from dialogops.state import Status
from tests.sample_reports import (
    PHONE,
    RESPONSE,
    make_campaign,
    make_project,
    make_report,
    make_state,
    parse_response,
    result,
)
from tests.samples import DOCUMENTED_REPORT_REQUEST

# --- the request -------------------------------------------------------------------------


def test_documented_example_body_is_reproduced_key_for_key(tmp_path: Path) -> None:
    report = make_report(
        campaign=None,
        outgoing_campaign_id=12345,
        project_id=1,
        start_block_id=10,
        period=Period(
            start=dt.datetime(2000, 1, 1, 8, 0, 59, 96000, tzinfo=dt.UTC),
            end=dt.datetime(2000, 1, 1, 18, 4, 59, 96000, tzinfo=dt.UTC),
        ),
        columns=(
            ReportColumn(
                1,
                "phone_number",
                "Phone Number",
                "field",
                "number",
                filter_type="contains",
                filter_value="79999999999",
                sorting="asc",
            ),
        ),
    )
    request = build_request(report, make_project(tmp_path), make_state())
    assert request.project_id == 1
    assert request.body == DOCUMENTED_REPORT_REQUEST


def test_campaign_supplies_id_project_block_and_whole_day_in_config_timezone(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path, make_campaign())
    request = build_request(make_report(), project, make_state(nps=("created", 4242)))
    assert request.project_id == 7
    assert request.body["analytics_filter"] == {
        "scenario_id": 951,
        "start_block_id": 10,
        "outgoing_campaign_id": 4242,
        "date_start": "2099-11-30T19:00:00.000Z",
        "date_end": "2099-12-01T19:00:00.000Z",
    }


def test_explicit_values_win_over_the_campaign(tmp_path: Path) -> None:
    period = Period(
        start=dt.datetime(2099, 12, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=5))),
        end=dt.datetime(2099, 12, 1, 17, 30, 0, 123456, tzinfo=dt.UTC),
    )
    report = make_report(project_id=3, start_block_id=99, period=period)
    project = make_project(tmp_path, make_campaign())
    request = build_request(report, project, make_state(nps=("created", 1)))
    assert request.project_id == 3
    flt = request.body["analytics_filter"]
    assert (flt["start_block_id"], flt["date_start"], flt["date_end"]) == (
        99,
        "2099-12-01T04:00:00.000Z",
        "2099-12-01T17:30:00.123Z",
    )


def test_default_period_follows_daylight_saving(tmp_path: Path) -> None:
    # 2099-03-29 is the last Sunday of March: Berlin's day is 23 hours long.
    campaign = make_campaign(date=dt.date(2099, 3, 29))
    project = make_project(tmp_path, campaign, timezone="Europe/Berlin")
    request = build_request(make_report(), project, make_state(nps=("created", 1)))
    flt = request.body["analytics_filter"]
    assert (flt["date_start"], flt["date_end"]) == (
        "2099-03-28T23:00:00.000Z",
        "2099-03-29T22:00:00.000Z",
    )


def test_columns_carry_filter_and_sorting_only_where_given() -> None:
    plain = column_body(PHONE)
    assert set(plain) == {"id", "name", "display_name", "column_type", "data_type"}
    flag = dataclasses.replace(PHONE, filter_type="is_empty", filter_value="ignored")
    assert column_body(flag)["filter_type"] == "is_empty"
    assert "filter_value" not in column_body(flag)
    assert "sorting" not in column_body(flag)
    sorted_only = dataclasses.replace(PHONE, sorting="desc")
    assert column_body(sorted_only)["sorting"] == "desc"
    assert "filter_type" not in column_body(sorted_only)
    for filter_type in ("equal", "contains", "starts_with", "ends_with"):
        column = dataclasses.replace(PHONE, filter_type=filter_type, filter_value="79")
        assert column_body(column)["filter_value"] == "79"


def test_campaign_not_in_state_names_apply(tmp_path: Path) -> None:
    with pytest.raises(StateError, match=r"'nps' is not in state.*dialogops apply"):
        build_request(make_report(), make_project(tmp_path, make_campaign()), make_state())


def test_campaign_not_in_the_sandbox_state_names_apply_sandbox(tmp_path: Path) -> None:
    with pytest.raises(StateError) as info:
        build_request(
            make_report(),
            make_project(tmp_path, make_campaign()),
            make_state(),
            hints=Hints(sandbox=True),
        )
    assert str(info.value) == (
        "campaign 'nps' is not in the sandbox state: create it with `dialogops apply --sandbox`"
    )


def test_unknown_in_the_sandbox_state_names_commands_with_sandbox_and_env(
    tmp_path: Path,
) -> None:
    state = make_state(nps=("unknown", None))
    with pytest.raises(StateError) as info:
        build_request(
            make_report(),
            make_project(tmp_path, make_campaign()),
            state,
            hints=Hints(sandbox=True, environment="staging"),
        )
    assert str(info.value).endswith(
        "`dialogops import nps ID --env staging --sandbox` or "
        "`dialogops state rm nps --env staging --sandbox`"
    )


@pytest.mark.parametrize("status", ["unknown", "pending"])
def test_campaign_without_known_id_names_import_and_state_rm(
    tmp_path: Path, status: Status
) -> None:
    state = make_state(nps=(status, None))
    with pytest.raises(StateError) as info:
        build_request(make_report(), make_project(tmp_path, make_campaign()), state)
    message = str(info.value)
    assert status in message
    assert "dialogops import nps ID" in message
    assert "dialogops state rm nps" in message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"start_block_id": 10}, "spec.project_id and spec.period"),
        ({"project_id": 1}, "spec.start_block_id and spec.period"),
        ({"project_id": 1, "start_block_id": 10}, "spec.period"),
        ({}, "spec.project_id and spec.start_block_id and spec.period"),
    ],
)
def test_outgoing_campaign_id_needs_what_no_campaign_can_supply(
    tmp_path: Path, changes: dict[str, Any], field: str
) -> None:
    report = make_report(campaign=None, outgoing_campaign_id=12345, **changes)
    with pytest.raises(UsageError, match=rf"\): {field} must be given with outgoing_campaign_id"):
        build_request(report, make_project(tmp_path), make_state())


def test_campaign_without_manifest_cannot_supply_defaults(tmp_path: Path) -> None:
    state = make_state(nps=("created", 5))
    expected = (
        r"spec.project_id and spec.start_block_id and spec.period not given and "
        r"campaign 'nps' has no manifest"
    )
    with pytest.raises(UsageError, match=expected):
        build_request(make_report(), make_project(tmp_path), state)


def test_unknown_timezone_is_a_user_error(tmp_path: Path) -> None:
    project = make_project(tmp_path, make_campaign(), timezone="Mars/Olympus")
    with pytest.raises(UsageError, match="unknown timezone 'Mars/Olympus'"):
        build_request(make_report(), project, make_state(nps=("created", 1)))


# --- the response ------------------------------------------------------------------------


def test_without_columns_the_requested_ones_describe_the_rows() -> None:
    payload = {"data": [{"phone_number": "1"}], "total_duration": 0, "avg_duration": 0}
    parsed = parse_response(payload, (PHONE,))
    assert parsed.rows == payload["data"]
    assert parsed.totals == ReportTotals(count=1, total_duration=0, avg_duration=0)
    assert parsed.columns == (ResultColumn("phone_number", "Phone Number", "number"),)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([], "expected a JSON object"),
        ({"total_duration": 0, "avg_duration": 0}, "'data' is missing"),
        ({"data": [1], "total_duration": 0, "avg_duration": 0}, r"data\[0\] is not an object"),
        ({"data": [], "columns": {}, "total_duration": 0, "avg_duration": 0}, "'columns'"),
        (
            {"data": [], "columns": [{}], "total_duration": 0, "avg_duration": 0},
            r"columns\[0\] has no 'field'",
        ),
        ({"data": [], "avg_duration": 0}, "'total_duration' is None"),
        ({"data": [], "total_duration": "1", "avg_duration": 0}, "'total_duration' is '1'"),
        ({"data": [], "total_duration": 0, "avg_duration": -1}, "'avg_duration' is -1"),
        ({"data": [], "count": True, "total_duration": 0, "avg_duration": 0}, "'count'"),
    ],
)
def test_malformed_bodies_are_api_errors(payload: object, reason: str) -> None:
    with pytest.raises(ApiError, match=f"malformed body: {reason}"):
        parse_response(payload, (PHONE,))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45, "45s"),
        (59.6, "1m 00s"),
        (125, "2m 05s"),
        (3725, "1h 02m 05s"),
        (90061, "25h 01m 01s"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_totals_read_as_a_sentence() -> None:
    assert str(result().totals) == "3 rows, total duration 1h 02m 05s, average 20m 42s"


# --- the writers -------------------------------------------------------------------------


def test_csv_header_is_display_names_and_excel_adds_a_bom() -> None:
    out = io.StringIO()
    write_csv(result(), out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [
        ["Phone Number", "Duration", "Note"],
        ["+79990000001", "3600", "a|b"],
        ["+79990000002", "125", "line1\nline2"],
        ["+79990000003", "0", ""],
    ]
    excel = io.StringIO()
    write_csv(result(), excel, excel=True)
    assert excel.getvalue() == "\ufeff" + out.getvalue()


def test_json_holds_columns_rows_and_summary() -> None:
    out = io.StringIO()
    write_json(result(), out)
    document = json.loads(out.getvalue())
    assert document["columns"][1] == {
        "field": "duration",
        "display_name": "Duration",
        "type": "number",
    }
    assert document["rows"] == RESPONSE["data"]
    assert document["summary"] == {"count": 3, "total_duration": 3725, "avg_duration": 3725 / 3}


def test_jsonl_is_one_row_per_line_and_nothing_else() -> None:
    out = io.StringIO()
    write_jsonl(result(), out)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == RESPONSE["data"]


def test_markdown_escapes_pipes_and_newlines_and_ends_with_the_summary() -> None:
    out = io.StringIO()
    write_markdown(result(), out)
    assert out.getvalue().splitlines() == [
        "| Phone Number | Duration | Note |",
        "|---|---|---|",
        "| +79990000001 | 3600 | a\\|b |",
        "| +79990000002 | 125 | line1<br>line2 |",
        "| +79990000003 | 0 |  |",
        "",
        "**Summary:** 3 rows, total duration 1h 02m 05s, average 20m 42s",
    ]


def test_cells_keep_nested_values_as_json_and_booleans_lowercase() -> None:
    assert cell({"name": "Иван"}) == '{"name": "Иван"}'
    assert cell(True) == "true"
    assert cell(None) == ""


def test_excel_with_another_format_is_refused() -> None:
    with pytest.raises(UsageError, match="--excel applies to the csv format only"):
        write_report(result(), "json", io.StringIO(), excel=True)


def test_the_table_is_a_view_not_a_file_format() -> None:
    with pytest.raises(ValueError, match="table is a view"):
        write_report(result(), "table", io.StringIO())


# --- streamed answers: any key order, rows never all in memory ----------------------------


def streamed_csv(text: str, requested: tuple[ReportColumn, ...] = (PHONE,)) -> tuple[str, str]:
    """CSV written from the answer `text`, read as a stream; and the totals line."""
    out = io.StringIO()
    with StreamedReport(io.BytesIO(text.encode("utf-8")), requested) as streamed:
        write_csv(streamed, out)
        return out.getvalue(), str(streamed.totals)


ROWS = '"data": [{"phone_number": "+79990000001"}, {"phone_number": "+79990000002"}]'
COLUMNS = '"columns": [{"field": "phone_number", "display_name": "Tel"}]'
TOTALS = '"count": 2, "total_duration": 30, "avg_duration": 15'


@pytest.mark.parametrize(
    "answer",
    [
        f"{{{COLUMNS}, {ROWS}, {TOTALS}}}",
        f"{{{TOTALS}, {COLUMNS}, {ROWS}}}",
        f"{{{ROWS}, {TOTALS}, {COLUMNS}}}",  # rows first: kept on disk until the columns
        f'{{"extra": {{"deep": [1, {{"x": 2}}]}}, {ROWS}, {COLUMNS}, {TOTALS}}}',
    ],
)
def test_any_key_order_gives_the_same_output(answer: str) -> None:
    assert streamed_csv(answer) == (
        "Tel\r\n+79990000001\r\n+79990000002\r\n",
        "2 rows, total duration 30s, average 15s",
    )


def test_rows_before_any_columns_take_the_requested_ones() -> None:
    csv_text, totals = streamed_csv(f"{{{ROWS}, {TOTALS}}}")
    assert csv_text.splitlines()[0] == "Phone Number"
    assert totals.startswith("2 rows")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (f"{{{COLUMNS}, {ROWS}, {TOTALS}", "not JSON"),
        (f'{{{COLUMNS}, "data": [{{"phone_number": "1"}}, 7], {TOTALS}}}', r"data\[1\] is not"),
        (f"{{{COLUMNS}, {ROWS}, {TOTALS}, {ROWS}}}", "'data' appears twice"),
        (f"{{{COLUMNS}, {ROWS}, {TOTALS}}} []", "trailing garbage"),
        ('{"data": [', "not JSON"),
        ("", "not JSON"),
    ],
)
def test_a_stream_that_goes_wrong_midway_is_an_api_error(answer: str, reason: str) -> None:
    with pytest.raises(ApiError, match=f"malformed body: .*{reason}"):
        streamed_csv(answer)


def test_the_totals_are_known_only_after_the_rows() -> None:
    answer = io.BytesIO(f"{{{COLUMNS}, {ROWS}, {TOTALS}}}".encode())
    with StreamedReport(answer, (PHONE,)) as streamed, pytest.raises(RuntimeError):
        _ = streamed.totals


def test_json_output_is_laid_out_as_json_dump_would() -> None:
    out = io.StringIO()
    write_json(result(), out)
    document = json.loads(out.getvalue())
    assert out.getvalue() == json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    empty = io.StringIO()
    write_json(
        parse_response({"data": [], "total_duration": 0, "avg_duration": 0}, (PHONE,)), empty
    )
    assert '"rows": [],' in empty.getvalue()
