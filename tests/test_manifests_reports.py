"""manifests.reports: Report records, periods in the config's timezone, and the output path
kept inside the project root."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dialogops.config import load_config
from dialogops.manifests import check_project, load_project
from tests.sample_manifests import new_project, write_campaign

REPORT = """\
apiVersion: dialogops/v1
kind: Report
metadata: {{name: r}}
spec:
  outgoing_campaign_id: 12345
  scenario_id: 951
  project_id: 2
  start_block_id: 20
  period: {{start: 2099-12-01T00:00:00, end: '2099-12-02T00:00:00Z'}}
  columns:
    - {{id: 1, name: phone_number, display_name: P, column_type: field,
       data_type: text, filter: {{type: equal, value: 79991234567}}, sorting: desc}}
    - {{id: 2, name: goal, display_name: G, column_type: field, data_type: goal,
       filter: {{type: is_true}}}}
  output: {{format: json, path: {output}}}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return new_project(tmp_path)


def test_report_record(project: Path) -> None:
    write_campaign(project, "survey", "    csv: {path: data/p.csv}")
    (project / "campaigns" / "r.yaml").write_text(REPORT.format(output="out/r.json"))
    loaded = load_project([], load_config(None, project))
    (report,) = loaded.reports
    assert (report.campaign, report.outgoing_campaign_id, report.scenario_id) == (None, 12345, 951)
    assert (report.project_id, report.start_block_id) == (2, 20)
    assert report.period is not None
    assert report.period.start == dt.datetime(2099, 12, 1, tzinfo=ZoneInfo("Asia/Yekaterinburg"))
    assert report.period.end == dt.datetime(2099, 12, 2, tzinfo=dt.UTC)
    first, second = report.columns
    assert (first.filter_type, first.filter_value) == ("equal", "79991234567")
    assert first.sorting == "desc"
    assert (second.filter_type, second.filter_value, second.sorting) == ("is_true", None, None)
    assert report.output.format == "json"
    assert report.output.path == project.resolve() / "out" / "r.json"


def test_absolute_output_inside_the_root_is_kept(project: Path) -> None:
    target = project.resolve() / "out" / "r.json"
    (project / "campaigns" / "r.yaml").write_text(REPORT.format(output=f"'{target}'"))
    (report,) = load_project([], load_config(None, project)).reports
    assert report.output.path == target


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (
            "/tmp/r.json",
            "'/tmp/r.json' resolves outside the project root {root} "
            "(use `report --out` to write elsewhere)",
        ),
        ('"out/\\0r.json"', "a path cannot contain a NUL character"),
    ],
)
def test_output_outside_the_root_or_with_a_nul_is_refused(
    project: Path, output: str, message: str
) -> None:
    (project / "campaigns" / "r.yaml").write_text(REPORT.format(output=output))
    loaded, problems = check_project([], load_config(None, project))
    assert loaded.reports == ()
    assert [(str(p.location), p.field, p.message) for p in problems] == [
        ("campaigns/r.yaml:15:32", "spec.output.path", message.format(root=project))
    ]
