"""`dialogops.commands.report`: where a report's rows go, and how they get there safely."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from dialogops.commands import report as command
from dialogops.durable import atomic_writer
from dialogops.errors import ApiError, UsageError
from dialogops.report.request import build_request
from dialogops.specs import OutputFormat, Report, ReportOutput
from tests.sample_reports import (
    RESPONSE,
    FakeClient,
    make_campaign,
    make_project,
    make_report,
    make_state,
)

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
    option: OutputFormat | None,
    out: Path | None,
    manifest: ReportOutput,
    chosen: tuple[str, Path | None],
) -> None:
    assert command.pick_output(option, out, manifest) == chosen


# --- run_report: what is written where, atomically ---------------------------------------


def run(
    tmp_path: Path,
    response: Any,
    out: Path | None = None,
    *,
    report: Report | None = None,
    client: FakeClient | None = None,
    **kwargs: Any,
) -> command.ReportOutcome:
    report = report or make_report()
    project = make_project(tmp_path, make_campaign())
    request = build_request(report, project, make_state(nps=("created", 4242)))
    return command.run_report(
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
    assert outcome.totals.count == 3
    assert not outcome.totals_shown
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
def test_run_report_to_stdout(tmp_path: Path, fmt: OutputFormat, shown: bool) -> None:
    stdout = io.StringIO()
    outcome = run(tmp_path, RESPONSE, fmt=fmt, stdout=stdout, no_color=True)
    assert outcome.path is None
    assert outcome.totals_shown is shown
    # The table is for people: numbers masked; the formats are data and keep them.
    assert ("+7999*****03" if fmt == "table" else "+79990000003") in stdout.getvalue()
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
