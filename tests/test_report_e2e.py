"""`dialogops report` run as a user runs it, through the CLI's entry point, against the
sandbox over HTTP.

Each test applies its campaign with the real `dialogops apply`, then reports on it; the
sandbox lives in the pytest process, so a test sees exactly the body the server received.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from dialogops.sandbox import SandboxServer
from dialogops.sandbox.checks import ColumnRequest
from dialogops.sandbox.results import matches
from dialogops.state import State, StateEntry, dumps
from tests.conftest import CliResult, run_cli
from tests.samples import (
    DOCUMENTED_REPORT_REQUEST,
    api_env,
    example_project,
    start_state,
    state_as_started,
)

REPORT_PATH = "/api/analytics/1/report"

# The sandbox fixture places calls on Moscow's wall clock; the project uses the same one.
CONFIG = """\
api: {url: "http://127.0.0.1:9/api", timeout_seconds: 10}
timezone: Europe/Moscow
manifests: [campaigns/]
"""

CAMPAIGN = """\
apiVersion: dialogops/v1
kind: Campaign
metadata:
  name: survey
spec:
  project_id: 1
  title: Survey
  start_block_id: 10
  phone_id: 5
  schedule: {date: 2099-12-01, start_time: "09:00", end_time: "17:00", attempts: 3}
  phones:
    inline:
%s
  add_data:
    note: "{{ row.note | default('') }}"
"""

# Every column the sandbox knows for this campaign.
ALL_COLUMNS = [
    ("phone_number", "Phone", "text"),
    ("status", "Status", "text"),
    ("duration", "Duration", "number"),
    ("goal", "Goal", "goal"),
    ("attempts", "Attempts", "number"),
    ("started_at", "Started", "datetime"),
    ("note", "Note", "text"),
]


def phones_yaml(count: int = 40) -> str:
    lines = []
    for n in range(count):
        phone = f"+7999{n:07d}"
        note = f"vip-{n}" if n % 3 == 0 else ""
        lines.append(f'      - {{phone: "{phone}", note: "{note}"}}')
    return "\n".join(lines)


def column_yaml(index: int, name: str, display: str, data_type: str, extra: str = "") -> str:
    text = (
        f"    - id: {index}\n      name: {name}\n      display_name: {display}\n"
        f"      column_type: field\n      data_type: {data_type}\n"
    )
    return text + "".join(f"      {line}\n" for line in extra.splitlines())


def report_yaml(name: str, columns: str, output: str = "", head: str = "campaign: survey") -> str:
    return (
        f"---\napiVersion: dialogops/v1\nkind: Report\nmetadata:\n  name: {name}\nspec:\n"
        f"  {head}\n  scenario_id: 951\n  columns:\n{columns}{output}"
    )


def all_columns(extra: dict[str, str] | None = None) -> str:
    extra = extra or {}
    return "".join(
        column_yaml(i, name, display, dtype, extra.get(name, ""))
        for i, (name, display, dtype) in enumerate(ALL_COLUMNS, start=1)
    )


def make_project(root: Path, reports: str = "") -> Path:
    (root / "campaigns").mkdir(parents=True)
    (root / "dialogops.yaml").write_text(CONFIG, encoding="utf-8")
    (root / "campaigns" / "survey.yaml").write_text(CAMPAIGN % phones_yaml(), encoding="utf-8")
    base = report_yaml("everything", all_columns())
    (root / "campaigns" / "reports.yaml").write_text(base + reports, encoding="utf-8")
    start_state(root / "dialogops.state.json")
    return root


def apply(root: Path, sandbox: SandboxServer) -> None:
    result = run_cli(["apply", "--auto-approve"], root, env=api_env(sandbox))
    assert result.returncode == 0, result.stderr


def report(root: Path, sandbox: SandboxServer, *args: str) -> CliResult:
    return run_cli(["report", *args], root, env=api_env(sandbox))


def report_bodies(sandbox: SandboxServer) -> list[dict[str, Any]]:
    return [r.body for r in sandbox.requests if r.path.endswith("/report")]


def everything(root: Path, sandbox: SandboxServer) -> dict[str, Any]:
    """The unfiltered, unsorted report of every column, as JSON."""
    result = report(root, sandbox, "everything", "--format", "json")
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture
def applied(tmp_path: Path, sandbox: SandboxServer) -> Path:
    root = make_project(tmp_path / "project")
    apply(root, sandbox)
    return root


# --- the documented request ---------------------------------------------------------------


def test_documented_example_report_sends_the_documented_body(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    # Start the sandbox's IDs so that the applied campaign gets the documented ID 12345.
    with sqlite3.connect(sandbox.db_path) as db:
        db.execute("UPDATE sqlite_sequence SET seq = 12344 WHERE name = 'campaigns'")
    db.close()
    columns = column_yaml(
        1,
        "phone_number",
        "Phone Number",
        "number",
        'filter: {type: contains, value: "79999999999"}\nsorting: asc',
    )
    period = (
        "  project_id: 1\n  start_block_id: 10\n  period:\n"
        "    start: 2000-01-01T08:00:59.096Z\n    end: 2000-01-01T18:04:59.096Z\n"
    )
    documented = report_yaml("documented", columns + period)
    root = make_project(tmp_path / "project", documented)
    apply(root, sandbox)

    result = report(root, sandbox, "documented", "--format", "json")

    assert result.returncode == 0, result.stderr
    assert report_bodies(sandbox) == [DOCUMENTED_REPORT_REQUEST]
    assert json.loads(result.stdout)["rows"] == []
    assert "report documented: 0 rows, total duration 0s, average 0s" in result.stderr


def test_default_period_is_the_schedule_date_in_the_config_timezone(
    applied: Path, sandbox: SandboxServer
) -> None:
    everything(applied, sandbox)
    (body,) = report_bodies(sandbox)
    assert body["analytics_filter"] == {
        "scenario_id": 951,
        "start_block_id": 10,
        "outgoing_campaign_id": sandbox.campaigns()[0].id,
        "date_start": "2099-11-30T21:00:00.000Z",
        "date_end": "2099-12-01T21:00:00.000Z",
    }
    assert all(
        set(c) == {"id", "name", "display_name", "column_type", "data_type"}
        for c in body["columns"]
    )


# --- the output formats -------------------------------------------------------------------


def test_every_format_carries_the_same_rows_and_a_consistent_summary(
    applied: Path, sandbox: SandboxServer
) -> None:
    document = everything(applied, sandbox)
    rows = document["rows"]
    assert len(rows) == 40
    durations = [row["duration"] for row in rows]
    total = sum(durations)
    assert document["summary"] == {
        "count": len(rows),
        "total_duration": total,
        "avg_duration": round(total / len(rows)),
    }
    assert total > 0

    out = applied / "out"
    for fmt, name in [("csv", "r.csv"), ("jsonl", "r.jsonl"), ("markdown", "r.md")]:
        result = report(applied, sandbox, "everything", "--format", fmt, "--out", f"out/{name}")
        assert result.returncode == 0, result.stderr
        assert f"40 rows, total duration {human(total)}" in result.stderr
        assert f"written to {out / name}" in result.stderr

    with (out / "r.csv").open(encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == [display for _, display, _ in ALL_COLUMNS]
    assert [line[0] for line in table[1:]] == [row["phone_number"] for row in rows]
    assert [int(line[2]) for line in table[1:]] == durations

    jsonl = (out / "r.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in jsonl] == rows

    markdown = (out / "r.md").read_text(encoding="utf-8").splitlines()
    assert markdown[0] == "| " + " | ".join(d for _, d, _ in ALL_COLUMNS) + " |"
    assert len(markdown) == 2 + 40 + 2
    assert markdown[2].startswith(f"| {rows[0]['phone_number']} | {rows[0]['status']} |")
    assert markdown[-1] == (
        f"**Summary:** 40 rows, total duration {human(total)}, average {human(round(total / 40))}"
    )
    assert sorted(p.name for p in out.iterdir()) == ["r.csv", "r.jsonl", "r.md"]


def human(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def test_table_on_stdout_ends_with_the_summary(applied: Path, sandbox: SandboxServer) -> None:
    result = report(applied, sandbox, "everything")
    assert result.returncode == 0, result.stderr
    assert "┃ Phone" in result.stdout
    assert "+7999*****39" in result.stdout and "+79990000039" not in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("Summary: 40 rows, total duration ")
    assert result.stderr == ""


def test_excel_csv_starts_with_a_bom(applied: Path, sandbox: SandboxServer) -> None:
    result = report(applied, sandbox, "everything", "--out", "r.csv", "--excel")
    assert result.returncode == 0, result.stderr
    data = (applied / "r.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbfPhone,Status,Duration,")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 41


# --- filters and sorting ------------------------------------------------------------------


# name: (column, filter_type, filter_value, sorting)
FILTERS: dict[str, tuple[str, str | None, str | None, str | None]] = {
    "f-equal": ("status", "equal", "answered", None),
    "f-contains": ("phone_number", "contains", "000001", None),
    "f-starts-with": ("phone_number", "starts_with", "+79990000003", None),
    "f-ends-with": ("phone_number", "ends_with", "7", None),
    "f-is-empty": ("note", "is_empty", None, None),
    "f-not-empty": ("note", "not_empty", None, None),
    "f-is-true": ("goal", "is_true", None, None),
    "f-not-true": ("goal", "not_true", None, None),
    "s-asc": ("duration", None, None, "asc"),
    "s-desc": ("duration", None, None, "desc"),
}


def manifest_lines(filter_type: str | None, value: str | None, sorting: str | None) -> str:
    if sorting is not None:
        return f"sorting: {sorting}"
    if value is not None:
        return f'filter: {{type: {filter_type}, value: "{value}"}}'
    return f"filter: {{type: {filter_type}}}"


def test_each_filter_and_sorting_changes_the_rows_as_the_sandbox_defines(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    reports = "".join(
        report_yaml(
            name,
            all_columns({column: manifest_lines(*rest)}),
            f"  output: {{format: json, path: out/{name}.json}}\n",
        )
        for name, (column, *rest) in FILTERS.items()
    )
    root = make_project(tmp_path / "project", reports)
    apply(root, sandbox)
    every = everything(root, sandbox)["rows"]

    result = report(root, sandbox, "--all")

    assert result.returncode == 0, result.stderr
    for name, (column, filter_type, value, sorting) in FILTERS.items():
        rows = json.loads((root / "out" / f"{name}.json").read_text("utf-8"))["rows"]
        assert rows != every, name
        if sorting is not None:
            assert sorted(rows, key=lambda r: r["phone_number"]) == every
            assert [r["duration"] for r in rows] == sorted(
                (r["duration"] for r in every), reverse=sorting == "desc"
            )
        else:
            wanted = ColumnRequest(column, column, filter_type, value, None)
            assert rows == [r for r in every if matches(r[column], wanted)], name
            assert 0 < len(rows) < len(every), name
    sent = [
        next(c for c in body["columns"] if c["name"] == FILTERS[name][0])
        for name, body in zip(FILTERS, report_bodies(sandbox)[2:], strict=True)
    ]
    assert [(c.get("filter_type"), c.get("filter_value"), c.get("sorting")) for c in sent] == [
        tuple(rest) for _, *rest in FILTERS.values()
    ]


# --- errors -------------------------------------------------------------------------------


def test_campaign_not_in_state(tmp_path: Path, sandbox: SandboxServer) -> None:
    root = make_project(tmp_path / "project")
    (root / "r.csv").write_text("previous", encoding="utf-8")

    result = report(root, sandbox, "everything", "--out", "r.csv")

    assert result.returncode == 1
    assert result.stderr == (
        "error: campaign 'survey' is not in state: create it with `dialogops apply` "
        "(or record an existing one with `dialogops import survey ID`)\n"
    )
    assert "Traceback" not in result.stderr
    assert (root / "r.csv").read_text(encoding="utf-8") == "previous"
    assert report_bodies(sandbox) == []


def test_campaign_with_unknown_outcome(tmp_path: Path, sandbox: SandboxServer) -> None:
    root = make_project(tmp_path / "project")
    entry = StateEntry(
        name="survey",
        status="unknown",
        fingerprint="sha256:" + "0" * 64,
        phones=40,
        started_at="2099-01-01T00:00:00Z",
    )
    (root / "dialogops.state.json").write_text(
        dumps(State(lineage="l", serial=1, campaigns={"survey": entry})), encoding="utf-8"
    )

    result = report(root, sandbox, "everything", "--out", "r.csv")

    assert result.returncode == 1
    assert "error: campaign 'survey' has no known ID (its create outcome is unknown)" in (
        result.stderr
    )
    assert "`dialogops import survey ID` or `dialogops state rm survey`" in result.stderr
    assert not (root / "r.csv").exists()
    assert report_bodies(sandbox) == []


def test_server_error_keeps_the_previous_file(applied: Path, sandbox: SandboxServer) -> None:
    (applied / "r.json").write_text("previous", encoding="utf-8")
    sandbox.faults.update(report_status=500)

    result = report(applied, sandbox, "everything", "--out", "r.json")

    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert "sandbox fault: injected 500" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert (applied / "r.json").read_text(encoding="utf-8") == "previous"
    assert sorted(p.name for p in applied.iterdir() if p.name.startswith(".r.json")) == []


def test_unknown_campaign_id_is_the_servers_404(tmp_path: Path, sandbox: SandboxServer) -> None:
    head = (
        "outgoing_campaign_id: 999999\n  project_id: 1\n  start_block_id: 10\n"
        "  period: {start: 2099-12-01T00:00:00Z, end: 2099-12-02T00:00:00Z}"
    )
    root = make_project(tmp_path / "project", report_yaml("by-id", all_columns(), head=head))

    result = report(root, sandbox, "by-id", "--out", "r.csv")

    assert result.returncode == 1
    assert "campaign 999999 not found" in result.stderr
    assert "404" in result.stderr
    assert not (root / "r.csv").exists()


# --- the example project, as the quickstart runs it ----------------------------------------


def test_example_project_report_with_the_built_in_sandbox(tmp_path: Path) -> None:
    root = example_project(tmp_path)
    applied = run_cli(["apply", "--sandbox", "--auto-approve"], root)
    assert applied.returncode == 0, applied.stderr

    result = run_cli(["report", "nps-2099-12-results", "--sandbox"], root)

    assert result.returncode == 0, result.stderr
    written = root / "reports" / "nps-2099-12.csv"
    lines = written.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Phone Number,Status,Duration (s),Goal reached,Started at"
    assert all(line.startswith("+7999") for line in lines[1:])
    assert f"report nps-2099-12-results: {len(lines) - 1} rows" in result.stderr
    assert state_as_started(root)


def test_example_project_before_and_after_apply_to_stdout(tmp_path: Path) -> None:
    root = example_project(tmp_path)

    early = run_cli(["report", "nps-2099-12-results", "--sandbox"], root)

    assert early.returncode == 1
    assert early.stderr == (
        "error: campaign 'nps-2099-12' is not in the sandbox state: create it with "
        "`dialogops apply --sandbox`\n"
    )
    applied = run_cli(["apply", "--sandbox", "--auto-approve"], root)
    assert applied.returncode == 0, applied.stderr

    # --format alone prints, even the manifest's own format: the README's example.
    as_csv = run_cli(["report", "nps-2099-12-results", "--sandbox", "--format", "csv"], root)
    dashed = run_cli(["report", "nps-2099-12-results", "--sandbox", "--out", "-"], root)

    for result in (as_csv, dashed):
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0] == "Phone Number,Status,Duration (s),Goal reached,Started at"
        assert len(lines) == 4
        assert result.stderr.startswith("report nps-2099-12-results: 3 rows, total duration ")
        assert "written to" not in result.stderr
    assert as_csv.stdout == dashed.stdout
    assert not (root / "reports").exists()
    assert not (root / "-").exists()


@pytest.mark.slow
def test_totals_after_the_rows_and_a_failure_midway_replace_nothing(
    applied: Path, sandbox: SandboxServer
) -> None:
    sandbox.faults.report_rows = 3  # streamed, chunked, the totals after `data`
    written = report(applied, sandbox, "everything", "--out", "r.csv")
    assert written.returncode == 0, written.stderr
    lines = (applied / "r.csv").read_text("utf-8").splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == [
        "+79990000000",
        "+79990000001",
        "+79990000002",
    ]
    assert written.stderr.startswith("report everything: 3 rows, total duration ")

    # 200 bytes a second: cut off by the project's deadline, made 2 s here, midway through
    # the rows.
    config = applied / "dialogops.yaml"
    config.write_text(CONFIG.replace("timeout_seconds: 10", "timeout_seconds: 2"), "utf-8")
    sandbox.faults.update(report_rows=None, trickle_bytes_per_second=200)
    failed = report(applied, sandbox, "everything", "--out", "r.csv")
    assert failed.returncode == 1
    assert "no answer from" in failed.stderr
    assert (applied / "r.csv").read_text("utf-8").splitlines() == lines
    assert sorted(p.name for p in applied.iterdir() if p.name.startswith(".r.csv")) == []
