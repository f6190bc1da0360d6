"""Unit tests of dialogops.report: the request body, the response check and the writers."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from samples import DOCUMENTED_REPORT_REQUEST

from dialogops import report as rpt
from dialogops.durable import atomic_writer
from dialogops.errors import ApiError, Location, StateError, UsageError
from dialogops.specs import (
    Campaign,
    Config,
    InlineSource,
    Period,
    PhonesSpec,
    Project,
    Report,
    ReportColumn,
    ReportOutput,
    Schedule,
)
from dialogops.state import State, StateEntry, Status

FUTURE = dt.date(2099, 12, 1)
YEKT = "Asia/Yekaterinburg"  # UTC+5 all year round


def make_state(**entries: tuple[Status, int | None]) -> State:
    return State(
        campaigns={
            name: StateEntry(name=name, status=status, fingerprint="sha256:0", phones=1, id=id_)
            for name, (status, id_) in entries.items()
        }
    )


class FakeClient:
    def __init__(self, response: Any) -> None:
        self.response = response
        self.calls: list[tuple[int, dict[str, Any]]] = []

    def report(self, project_id: int, body: dict[str, Any]) -> Any:
        self.calls.append((project_id, body))
        return self.response


def make_campaign(name: str = "nps", date: dt.date = FUTURE) -> Campaign:
    return Campaign(
        name=name,
        location=Location("campaigns/nps.yaml", 1, 1),
        project_id=7,
        title="NPS",
        description="",
        start_block_id=10,
        phone_id=5,
        schedule=Schedule(date=date, start_time=dt.time(9), end_time=dt.time(17)),
        phones=PhonesSpec(source=InlineSource(entries=("+79990000001",), locations=())),
        add_data={},
        add_data_locations={},
    )


PHONE = ReportColumn(1, "phone_number", "Phone Number", "field", "number")
DURATION = ReportColumn(2, "duration", "Duration", "field", "number")


def make_report(**changes: Any) -> Report:
    base = Report(
        name="nps-results",
        location=Location("campaigns/nps.yaml", 20, 1),
        scenario_id=951,
        columns=(PHONE,),
        campaign="nps",
    )
    return dataclasses.replace(base, **changes)


def make_project(tmp_path: Path, *campaigns: Campaign, timezone: str = YEKT) -> Project:
    config = Config(root=tmp_path, path=None, timezone=timezone)
    return Project(config=config, campaigns=campaigns, reports=())


RESPONSE: dict[str, Any] = {
    "columns": [
        {"field": "phone_number", "display_name": "Phone Number", "type": "text"},
        {"field": "duration", "display_name": "Duration", "type": "number"},
        {"field": "note", "display_name": "Note", "type": "text"},
    ],
    "data": [
        {"phone_number": "+79990000001", "duration": 3600, "note": "a|b"},
        {"phone_number": "+79990000002", "duration": 125, "note": "line1\nline2"},
        {"phone_number": "+79990000003", "duration": 0, "note": None},
    ],
    "count": 3,
    "total_duration": 3725,
    "avg_duration": 3725 / 3,
}


def result() -> rpt.ReportResult:
    return rpt.parse_response(RESPONSE, (PHONE,))


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
    request = rpt.build_request(report, make_project(tmp_path), make_state())
    assert request.project_id == 1
    assert request.body == DOCUMENTED_REPORT_REQUEST


def test_campaign_supplies_id_project_block_and_whole_day_in_config_timezone(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path, make_campaign())
    request = rpt.build_request(make_report(), project, make_state(nps=("created", 4242)))
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
    request = rpt.build_request(report, project, make_state(nps=("created", 1)))
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
    request = rpt.build_request(make_report(), project, make_state(nps=("created", 1)))
    flt = request.body["analytics_filter"]
    assert (flt["date_start"], flt["date_end"]) == (
        "2099-03-28T23:00:00.000Z",
        "2099-03-29T22:00:00.000Z",
    )


def test_columns_carry_filter_and_sorting_only_where_given() -> None:
    plain = rpt.column_body(PHONE)
    assert set(plain) == {"id", "name", "display_name", "column_type", "data_type"}
    flag = dataclasses.replace(PHONE, filter_type="is_empty", filter_value="ignored")
    assert rpt.column_body(flag)["filter_type"] == "is_empty"
    assert "filter_value" not in rpt.column_body(flag)
    assert "sorting" not in rpt.column_body(flag)
    sorted_only = dataclasses.replace(PHONE, sorting="desc")
    assert rpt.column_body(sorted_only)["sorting"] == "desc"
    assert "filter_type" not in rpt.column_body(sorted_only)
    for filter_type in ("equal", "contains", "starts_with", "ends_with"):
        column = dataclasses.replace(PHONE, filter_type=filter_type, filter_value="79")
        assert rpt.column_body(column)["filter_value"] == "79"


def test_campaign_not_in_state_names_apply(tmp_path: Path) -> None:
    with pytest.raises(StateError, match=r"'nps' is not in state.*dialogops apply"):
        rpt.build_request(make_report(), make_project(tmp_path, make_campaign()), make_state())


def test_campaign_not_in_the_sandbox_state_names_apply_sandbox(tmp_path: Path) -> None:
    with pytest.raises(StateError) as info:
        rpt.build_request(
            make_report(), make_project(tmp_path, make_campaign()), make_state(), sandbox=True
        )
    assert str(info.value) == (
        "campaign 'nps' is not in the sandbox state: create it with `dialogops apply --sandbox`"
    )


def test_unknown_in_the_sandbox_state_names_the_sandbox_state_file(tmp_path: Path) -> None:
    state = make_state(nps=("unknown", None))
    with pytest.raises(StateError) as info:
        rpt.build_request(
            make_report(), make_project(tmp_path, make_campaign()), state, sandbox=True
        )
    assert str(info.value).endswith(
        "`dialogops import nps ID --state .dialogops/sandbox.state.json` or "
        "`dialogops state rm nps --state .dialogops/sandbox.state.json`"
    )


@pytest.mark.parametrize("status", ["unknown", "pending"])
def test_campaign_without_known_id_names_import_and_state_rm(
    tmp_path: Path, status: Status
) -> None:
    state = make_state(nps=(status, None))
    with pytest.raises(StateError) as info:
        rpt.build_request(make_report(), make_project(tmp_path, make_campaign()), state)
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
        rpt.build_request(report, make_project(tmp_path), make_state())


def test_campaign_without_manifest_cannot_supply_defaults(tmp_path: Path) -> None:
    state = make_state(nps=("created", 5))
    expected = (
        r"spec.project_id and spec.start_block_id and spec.period not given and "
        r"campaign 'nps' has no manifest"
    )
    with pytest.raises(UsageError, match=expected):
        rpt.build_request(make_report(), make_project(tmp_path), state)


def test_unknown_timezone_is_a_user_error(tmp_path: Path) -> None:
    project = make_project(tmp_path, make_campaign(), timezone="Mars/Olympus")
    with pytest.raises(UsageError, match="unknown timezone 'Mars/Olympus'"):
        rpt.build_request(make_report(), project, make_state(nps=("created", 1)))


# --- the response ------------------------------------------------------------------------


def test_rows_are_the_servers_list_not_a_copy() -> None:
    payload = {"data": [{"phone_number": "1"}], "total_duration": 0, "avg_duration": 0}
    parsed = rpt.parse_response(payload, (PHONE,))
    assert parsed.rows is payload["data"]
    assert parsed.summary == rpt.Summary(count=1, total_duration=0, avg_duration=0)
    assert parsed.columns == (rpt.ResultColumn("phone_number", "Phone Number", "number"),)


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
        rpt.parse_response(payload, (PHONE,))


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
    assert rpt.human_duration(seconds) == text


def test_summary_reads_as_a_sentence() -> None:
    assert str(result().summary) == "3 rows, total duration 1h 02m 05s, average 20m 42s"


# --- the writers -------------------------------------------------------------------------


def test_csv_header_is_display_names_and_excel_adds_a_bom() -> None:
    out = io.StringIO()
    rpt.write_csv(result(), out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [
        ["Phone Number", "Duration", "Note"],
        ["+79990000001", "3600", "a|b"],
        ["+79990000002", "125", "line1\nline2"],
        ["+79990000003", "0", ""],
    ]
    excel = io.StringIO()
    rpt.write_csv(result(), excel, excel=True)
    assert excel.getvalue() == "\ufeff" + out.getvalue()


def test_json_holds_columns_rows_and_summary() -> None:
    out = io.StringIO()
    rpt.write_json(result(), out)
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
    rpt.write_jsonl(result(), out)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == RESPONSE["data"]


def test_markdown_escapes_pipes_and_newlines_and_ends_with_the_summary() -> None:
    out = io.StringIO()
    rpt.write_markdown(result(), out)
    assert out.getvalue().splitlines() == [
        "| Phone Number | Duration | Note |",
        "|---|---|---|",
        "| +79990000001 | 3600 | a\\|b |",
        "| +79990000002 | 125 | line1<br>line2 |",
        "| +79990000003 | 0 |  |",
        "",
        "**Summary:** 3 rows, total duration 1h 02m 05s, average 20m 42s",
    ]


def test_table_shows_headers_rows_and_summary() -> None:
    out = io.StringIO()
    rpt.write_table(result(), out, title="nps-results", no_color=True)
    text = out.getvalue()
    for expected in (
        "nps-results",
        "Phone Number",
        "+79990000002",
        "3600",
        "Summary: 3 rows, total duration 1h 02m 05s",
    ):
        assert expected in text
    assert "\x1b[" not in text


def test_table_folds_long_values_instead_of_cutting_them() -> None:
    long_value = "2099-12-01T11:42:25+05:00-" + "x" * 60
    response = {"data": [{"note": long_value}], "count": 1, "total_duration": 0, "avg_duration": 0}
    note = ReportColumn(1, "note", "Note", "field", "text")
    out = io.StringIO()
    rpt.write_table(rpt.parse_response(response, (note,)), out, title="t", no_color=True)
    cells = [line.strip("│ ") for line in out.getvalue().splitlines() if line.startswith("│")]
    assert len(cells) > 1  # the console is 80 columns wide, the value longer
    assert "".join(cells) == long_value


def test_cells_keep_nested_values_as_json_and_booleans_lowercase() -> None:
    assert rpt.cell({"name": "Иван"}) == '{"name": "Иван"}'
    assert rpt.cell(True) == "true"
    assert rpt.cell(None) == ""


CSV_OUT = ReportOutput(format="csv", path=Path("/p/reports/r.csv"))


@pytest.mark.parametrize(
    ("option", "out", "manifest", "chosen"),
    [
        (None, None, ReportOutput(), ("table", None)),
        (None, None, CSV_OUT, ("csv", CSV_OUT.path)),
        ("csv", None, CSV_OUT, ("csv", None)),
        ("table", None, CSV_OUT, ("table", None)),
        ("json", None, CSV_OUT, ("json", None)),
        (None, Path("r.JSONL"), CSV_OUT, ("jsonl", Path("r.JSONL"))),
        (None, Path("r.md"), ReportOutput(), ("markdown", Path("r.md"))),
        (None, Path("r.txt"), ReportOutput(), ("table", Path("r.txt"))),
        (None, Path("r.txt"), CSV_OUT, ("csv", Path("r.txt"))),
        ("markdown", Path("r.csv"), CSV_OUT, ("markdown", Path("r.csv"))),
        (None, Path("-"), CSV_OUT, ("csv", None)),
        ("jsonl", Path("-"), CSV_OUT, ("jsonl", None)),
        (None, Path("-"), ReportOutput(), ("table", None)),
    ],
)
def test_options_override_the_manifest_output(
    option: rpt.OutputFormat | None,
    out: Path | None,
    manifest: ReportOutput,
    chosen: tuple[str, Path | None],
) -> None:
    assert rpt.pick_output(option, out, manifest) == chosen


def test_excel_with_another_format_is_refused() -> None:
    with pytest.raises(UsageError, match="--excel applies to the csv format only"):
        rpt.write_report(result(), "json", io.StringIO(), excel=True)


# --- run_report: atomic files ------------------------------------------------------------


def run(
    tmp_path: Path,
    response: Any,
    out: Path | None = None,
    *,
    report: Report | None = None,
    client: FakeClient | None = None,
    **kwargs: Any,
) -> rpt.ReportOutcome:
    report = report or make_report()
    project = make_project(tmp_path, make_campaign())
    request = rpt.build_request(report, project, make_state(nps=("created", 4242)))
    return rpt.run_report(
        report,
        request,
        client or FakeClient(response),
        out=out,
        **kwargs,
    )


def test_run_report_writes_the_file_and_creates_its_folder(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "nps.csv"
    outcome = run(tmp_path, RESPONSE, out, excel=True, stdout=io.StringIO())
    assert outcome.format == "csv"
    assert outcome.summary.count == 3
    assert not outcome.summary_shown
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfPhone Number,Duration,Note\r\n")
    assert list(tmp_path.joinpath("reports").iterdir()) == [out]


def test_run_report_uses_the_manifest_output(tmp_path: Path) -> None:
    target = tmp_path / "r.out"
    client = FakeClient(RESPONSE)
    report = make_report(output=ReportOutput(format="jsonl", path=target))
    run(tmp_path, None, report=report, client=client, stdout=io.StringIO())
    assert client.calls[0][0] == 7
    assert client.calls[0][1]["analytics_filter"]["outgoing_campaign_id"] == 4242
    assert len(target.read_text(encoding="utf-8").splitlines()) == 3


def test_a_new_file_is_private_and_a_replaced_one_keeps_its_mode(tmp_path: Path) -> None:
    new = tmp_path / "new.csv"
    run(tmp_path, RESPONSE, new, stdout=io.StringIO())
    assert new.stat().st_mode & 0o777 == 0o600
    shared = tmp_path / "shared.csv"
    shared.write_text("previous", encoding="utf-8")
    shared.chmod(0o644)
    run(tmp_path, RESPONSE, shared, stdout=io.StringIO())
    assert shared.stat().st_mode & 0o777 == 0o644
    assert shared.read_text(encoding="utf-8").startswith("Phone Number")


def test_malformed_response_leaves_an_existing_file_untouched(tmp_path: Path) -> None:
    out = tmp_path / "nps.json"
    out.write_text("previous", encoding="utf-8")
    with pytest.raises(ApiError):
        run(tmp_path, {"data": "nope"}, out, stdout=io.StringIO())
    assert out.read_text(encoding="utf-8") == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nps.json"]


def test_failure_while_writing_leaves_no_partial_file(tmp_path: Path) -> None:
    out = tmp_path / "nps.csv"
    out.write_text("previous", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_writer(out) as handle:
        handle.write("half a report")
        raise RuntimeError("disk full")
    assert out.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["nps.csv"]


@pytest.mark.parametrize(("fmt", "shown"), [("jsonl", False), ("markdown", True), ("table", True)])
def test_run_report_to_stdout(tmp_path: Path, fmt: rpt.OutputFormat, shown: bool) -> None:
    stdout = io.StringIO()
    outcome = run(tmp_path, RESPONSE, fmt=fmt, stdout=stdout, no_color=True)
    assert outcome.path is None
    assert outcome.summary_shown is shown
    assert "+79990000003" in stdout.getvalue()
    assert list(tmp_path.iterdir()) == []


def test_excel_is_refused_before_the_request_is_sent(tmp_path: Path) -> None:
    client = FakeClient(RESPONSE)
    with pytest.raises(UsageError, match="not json"):
        run(tmp_path, None, client=client, fmt="json", excel=True, stdout=io.StringIO())
    assert client.calls == []


def test_an_unwritable_output_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    out = tmp_path / "file" / "r.csv"
    with pytest.raises(UsageError, match=rf"cannot write {out}: "):
        run(tmp_path, RESPONSE, out, stdout=io.StringIO())
    assert [p.name for p in tmp_path.iterdir()] == ["file"]
