"""manifests: records built from valid documents, defaults merged, data files checked."""

from __future__ import annotations

import datetime as dt
import os
import random
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dialogops import datafiles
from dialogops.cli import main
from dialogops.config import load_config
from dialogops.errors import Location, ManifestError
from dialogops.manifests import check_project, deep_merge, load_project
from dialogops.specs import CsvSource, InlineSource, JsonlSource

CAMPAIGN = """\
apiVersion: dialogops/v1
kind: Campaign
metadata:
  name: {name}
spec:
  start_block_id: 10
  schedule:
    date: {date}
    start_time: 09:00
    end_time: "17:00"
  phones:
{phones}
  add_data:
    name: "{{{{ row.name }}}}"
    code: 7
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dialogops.yaml").write_text(
        "timezone: Asia/Yekaterinburg\n"
        "defaults:\n  project_id: 3\n  phone_id: 5\n  schedule: {attempts: 2}\n"
    )
    (tmp_path / "campaigns" / "data").mkdir(parents=True)
    (tmp_path / "campaigns" / "data" / "p.csv").write_text("phone;name\n+79991234567;Ann\n")
    return tmp_path


def _write(project: Path, name: str, phones: str, date: str = "2099-12-01") -> Path:
    path = project / "campaigns" / f"{name}.yaml"
    path.write_text(CAMPAIGN.format(name=name, date=date, phones=phones))
    return path


def test_campaign_record_with_defaults_and_absolute_paths(project: Path) -> None:
    phones = "    csv: {path: data/p.csv, delimiter: ';'}\n    exclude: [data/p.csv]"
    _write(project, "survey", phones)
    loaded = load_project([], load_config(None, project))
    (campaign,) = loaded.campaigns
    assert (campaign.name, campaign.title, campaign.description) == ("survey", "survey", "")
    assert (campaign.project_id, campaign.phone_id, campaign.start_block_id) == (3, 5, 10)
    assert campaign.schedule.date == dt.date(2099, 12, 1)
    assert campaign.schedule.start_time == dt.time(9, 0)
    assert (campaign.schedule.attempts, campaign.schedule.interval_minutes) == (2, 0)
    source = campaign.phones.source
    assert isinstance(source, CsvSource)
    data = project.resolve() / "campaigns" / "data" / "p.csv"
    assert (source.path, source.delimiter, source.encoding) == (data, ";", "utf-8")
    assert source.location == Location("campaigns/survey.yaml", 12, 17)
    assert [e.path for e in campaign.phones.exclude] == [data]
    assert campaign.add_data == {"name": "{{ row.name }}", "code": 7}
    assert campaign.add_data_locations["code"] == Location("campaigns/survey.yaml", 16, 11)
    assert loaded.campaign("survey") is campaign


def test_inline_and_jsonl_sources(project: Path) -> None:
    (project / "campaigns" / "data" / "p.jsonl").write_text('{"phone": "+79991234567"}\n')
    _write(project, "inline", "    inline: ['+79991234567', {phone: 89991234568, name: Bob}]")
    _write(project, "jsonl", "    jsonl: {path: data/p.jsonl}")
    loaded = load_project([], load_config(None, project))
    sources = {c.name: c.phones.source for c in loaded.campaigns}
    inline = sources["inline"]
    assert isinstance(inline, InlineSource)
    assert inline.entries == ("+79991234567", {"phone": "89991234568", "name": "Bob"})
    assert [loc.line for loc in inline.locations] == [12, 12]
    assert isinstance(sources["jsonl"], JsonlSource)


def test_value_from_defaults_is_reported_in_the_config(project: Path) -> None:
    (project / "dialogops.yaml").write_text("defaults:\n  project_id: 1\n  phone_id: 0\n")
    _write(project, "survey", "    csv: {path: data/p.csv}")
    _, problems = check_project([], load_config(None, project))
    assert [str(p) for p in problems] == [
        "dialogops.yaml:3:13: spec.phone_id: 0 is less than the minimum of 1"
    ]


def test_today_decides_what_is_past(project: Path) -> None:
    _write(project, "survey", "    csv: {path: data/p.csv}", date="2099-12-01")
    config = load_config(None, project)
    assert check_project([], config, today=dt.date(2099, 12, 1))[1] == []
    _, problems = check_project([], config, today=dt.date(2099, 12, 2))
    assert [p.message for p in problems] == ["2099-12-01 is in the past in Asia/Yekaterinburg"]


def test_symlink_out_of_the_project_is_refused(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "secret.csv"
    outside.write_text("phone\n+79991234567\n")
    os.symlink(outside, project / "campaigns" / "data" / "link.csv")
    _write(project, "survey", "    csv: {path: data/link.csv}")
    _, problems = check_project([], load_config(None, project))
    assert len(problems) == 1
    assert problems[0].field == "spec.phones.csv.path"
    assert "resolves outside the project root" in problems[0].message


def test_undecodable_byte_is_reported_with_its_line(project: Path) -> None:
    rows = "".join(f"+7999123{i:04d};name\n" for i in range(5000))
    (project / "campaigns" / "data" / "p.csv").write_bytes(
        ("phone;name\n" + rows).encode() + "+79990000000;Борис\n".encode("cp1251")
    )
    _write(project, "survey", "    csv: {path: data/p.csv}")
    _, problems = check_project([], load_config(None, project))
    assert [p.message for p in problems] == [
        "data/p.csv line 5002 is not valid utf-8 (declare the file's real encoding, e.g. cp1251)"
    ]


def test_explicit_paths_and_hidden_folders(project: Path) -> None:
    _write(project, "survey", "    csv: {path: data/p.csv}")
    hidden = project / "campaigns" / ".scratch"
    hidden.mkdir()
    (hidden / "broken.yaml").write_text("not: [valid\n")
    loaded = load_project([Path("campaigns/survey.yaml")], load_config(None, project))
    assert [c.name for c in loaded.campaigns] == ["survey"]
    assert load_project([Path("campaigns")], load_config(None, project)).campaigns


def test_report_record(project: Path) -> None:
    _write(project, "survey", "    csv: {path: data/p.csv}")
    (project / "campaigns" / "r.yaml").write_text(
        "apiVersion: dialogops/v1\nkind: Report\nmetadata: {name: r}\nspec:\n"
        "  outgoing_campaign_id: 12345\n  scenario_id: 951\n"
        "  project_id: 2\n  start_block_id: 20\n"
        "  period: {start: 2099-12-01T00:00:00, end: '2099-12-02T00:00:00Z'}\n"
        "  columns:\n"
        "    - {id: 1, name: phone_number, display_name: P, column_type: field,\n"
        "       data_type: text, filter: {type: equal, value: 79991234567}, sorting: desc}\n"
        "    - {id: 2, name: goal, display_name: G, column_type: field, data_type: goal,\n"
        "       filter: {type: is_true}}\n"
        "  output: {format: json, path: out/r.json}\n"
    )
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


def test_check_project_keeps_valid_documents_next_to_invalid_ones(project: Path) -> None:
    _write(project, "good", "    csv: {path: data/p.csv}")
    _write(project, "bad", "    csv: {path: data/none.csv}")
    loaded, problems = check_project([], load_config(None, project))
    assert [c.name for c in loaded.campaigns] == ["good"]
    assert [p.location.path for p in problems] == ["campaigns/bad.yaml"]
    with pytest.raises(ManifestError, match=r"file 'data/none\.csv' does not exist"):
        load_project([], load_config(None, project))


def test_deep_merge_prefers_the_manifest() -> None:
    merged = deep_merge({"a": {"x": 1, "y": 2}, "l": [1]}, {"a": {"y": 3}, "l": [2]})
    assert merged == {"a": {"x": 1, "y": 3}, "l": [2]}


def test_no_input_crashes_the_loader(project: Path) -> None:
    """Seeded mutations of a valid manifest: each yields records or located problems."""
    _write(project, "survey", "    csv: {path: data/p.csv}")
    lines = (project / "campaigns" / "survey.yaml").read_text().splitlines()
    values = [
        "",
        "~",
        "[]",
        "{}",
        "-1",
        "1.5",
        "'x'",
        "[1, {a: b}]",
        "09:00",
        "2099-02-30",
        "!!binary aGk=",
        "*x",
        "&x 1",
        '"\\x00"',
        "{path: ../x}",
        "|\n  text",
        "no",
    ]
    rng = random.Random(7)
    config = load_config(None, project)
    for _ in range(300):
        mutated = list(lines)
        for _ in range(rng.randint(1, 3)):
            index = rng.randrange(len(mutated))
            key, colon, _ = mutated[index].partition(":")
            mutated[index] = f"{key}: {rng.choice(values)}" if colon else "- a"
        (project / "campaigns" / "survey.yaml").write_text("\n".join(mutated) + "\n")
        loaded, problems = check_project([], config)
        assert loaded.campaigns or problems
        assert all(p.location.line >= 1 for p in problems)


def test_csv_error_is_a_problem_with_its_line(project: Path) -> None:
    (project / "dialogops.yaml").write_text(
        "policy: {max_phones_per_campaign: 10}\ndefaults: {project_id: 3, phone_id: 5}\n"
    )
    (project / "campaigns" / "data" / "p.csv").write_text(
        "phone;name\n+79991234567;Ann\n+79991234568;" + "x" * 200_000 + "\n"
    )
    _write(project, "survey", "    csv: {path: data/p.csv}")
    _, problems = check_project([], load_config(None, project))
    assert [(p.field, p.message) for p in problems] == [
        (
            "spec.phones.csv.path",
            "data/p.csv line 3 is not readable as CSV: field larger than field limit (131072)",
        )
    ]


def test_encoding_scan_reads_long_lines_in_pieces(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(datafiles, "READ_CHUNK", 16)
    (project / "campaigns" / "data" / "p.csv").write_bytes(
        b"phone;name\n+79991234567;" + b"A" * 100 + b"\n" + "+79990000000;Борис".encode("cp1251")
    )
    _write(project, "survey", "    csv: {path: data/p.csv}")
    _, problems = check_project([], load_config(None, project))
    assert [p.message for p in problems] == [
        "data/p.csv line 3 is not valid utf-8 (declare the file's real encoding, e.g. cp1251)"
    ]


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("", "dialogops.yaml:1:1: manifests: campaigns does not exist (the default)"),
        ("manifests: elsewhere\n", "dialogops.yaml:1:12: manifests: elsewhere does not exist"),
        (
            "timezone: UTC\nmanifests: [campaigns, elsewhere]\n",
            "dialogops.yaml:2:24: manifests[1]: elsewhere does not exist",
        ),
    ],
)
def test_missing_manifest_folders_are_placed_in_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dialogops.yaml").write_text(setting)
    if "campaigns," in setting:
        (tmp_path / "campaigns").mkdir()
    _, problems = check_project([], load_config(None, tmp_path))
    assert [str(p) for p in problems] == [expected]


def test_validate_reads_the_config_once(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The config's defaults and `manifests` entries are placed from the loaded Config,
    so a run that reports problems on both opens dialogops.yaml a single time."""
    (project / "dialogops.yaml").write_text(
        "manifests: [campaigns, gone]\ndefaults: {project_id: 3, phone_id: 0}\n"
    )
    _write(project, "survey", "    csv: {path: data/p.csv}")
    opened: list[Path] = []
    real_open = Path.open

    def counting_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "dialogops.yaml":
            opened.append(self)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", counting_open)
    assert main(["validate"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "dialogops.yaml:1:24: manifests[1]: gone does not exist",
        "dialogops.yaml:2:37: spec.phone_id: 0 is less than the minimum of 1",
        "2 problems in 1 file",
    ]
    assert opened == [project.resolve() / "dialogops.yaml"]
