"""manifests.campaigns: Campaign records with dialogops.yaml defaults merged in, problems in
defaults placed in the config, the schedule against today, and the phone files inspected
with each problem placed on the field it belongs to."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from dialogops import datafiles
from dialogops.config import load_config
from dialogops.errors import Location
from dialogops.manifests import check_project, load_project
from dialogops.specs import CsvSource, InlineSource, JsonlSource
from tests.sample_manifests import new_project, write_campaign


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return new_project(tmp_path)


def _problems(project: Path) -> list[tuple[str, str]]:
    _, problems = check_project([], load_config(None, project))
    return [(p.field, p.message) for p in problems]


def test_campaign_record_with_defaults_and_absolute_paths(project: Path) -> None:
    phones = "    csv: {path: data/p.csv, delimiter: ';'}\n    exclude: [data/p.csv]"
    write_campaign(project, "survey", phones)
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
    write_campaign(
        project, "inline", "    inline: ['+79991234567', {phone: 89991234568, name: Bob}]"
    )
    write_campaign(project, "jsonl", "    jsonl: {path: data/p.jsonl}")
    loaded = load_project([], load_config(None, project))
    sources = {c.name: c.phones.source for c in loaded.campaigns}
    inline = sources["inline"]
    assert isinstance(inline, InlineSource)
    assert inline.entries == ("+79991234567", {"phone": "89991234568", "name": "Bob"})
    assert [loc.line for loc in inline.locations] == [12, 12]
    assert isinstance(sources["jsonl"], JsonlSource)


def test_value_from_defaults_is_reported_in_the_config(project: Path) -> None:
    (project / "dialogops.yaml").write_text("defaults:\n  project_id: 1\n  phone_id: 0\n")
    write_campaign(project, "survey", "    csv: {path: data/p.csv}")
    _, problems = check_project([], load_config(None, project))
    assert [str(p) for p in problems] == [
        "dialogops.yaml:3:13: spec.phone_id: 0 is less than the minimum of 1"
    ]


def test_today_decides_what_is_past_and_a_past_date_is_only_a_warning(project: Path) -> None:
    write_campaign(project, "survey", "    csv: {path: data/p.csv}", date="2099-12-01")
    config = load_config(None, project)
    assert check_project([], config, today=dt.date(2099, 12, 1))[1] == []
    loaded, problems = check_project([], config, today=dt.date(2099, 12, 2))
    assert [(p.severity, p.message) for p in problems] == [
        (
            "warning",
            "2099-12-01 is in the past in Asia/Yekaterinburg: fine for a campaign already "
            "created; plan refuses it for one to create",
        )
    ]
    # The campaign is kept: only plan, which reads the state, can tell whether it is done.
    assert [c.name for c in loaded.campaigns] == ["survey"]


def test_symlink_out_of_the_project_is_refused(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "secret.csv"
    outside.write_text("phone\n+79991234567\n")
    os.symlink(outside, project / "campaigns" / "data" / "link.csv")
    write_campaign(project, "survey", "    csv: {path: data/link.csv}")
    assert _problems(project) == [
        (
            "spec.phones.csv.path",
            f"'data/link.csv' resolves outside the project root {project}",
        )
    ]


def test_undecodable_byte_is_reported_with_its_line(project: Path) -> None:
    rows = "".join(f"+7999123{i:04d};name\n" for i in range(5000))
    (project / "campaigns" / "data" / "p.csv").write_bytes(
        ("phone;name\n" + rows).encode() + "+79990000000;Борис\n".encode("cp1251")
    )
    write_campaign(project, "survey", "    csv: {path: data/p.csv}")
    assert _problems(project) == [
        (
            "spec.phones.csv.encoding",
            "data/p.csv line 5002 is not valid utf-8 "
            "(declare the file's real encoding, e.g. cp1251)",
        )
    ]


def test_csv_error_is_a_problem_with_its_line(project: Path) -> None:
    (project / "dialogops.yaml").write_text(
        "policy: {max_phones_per_campaign: 10}\ndefaults: {project_id: 3, phone_id: 5}\n"
    )
    (project / "campaigns" / "data" / "p.csv").write_text(
        "phone;name\n+79991234567;Ann\n+79991234568;" + "x" * 200_000 + "\n"
    )
    write_campaign(project, "survey", "    csv: {path: data/p.csv}")
    assert _problems(project) == [
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
    write_campaign(project, "survey", "    csv: {path: data/p.csv}")
    assert [message for _, message in _problems(project)] == [
        "data/p.csv line 3 is not valid utf-8 (declare the file's real encoding, e.g. cp1251)"
    ]


@pytest.mark.parametrize(
    ("phones", "field"),
    [
        ("    csv: {path: data/p.csv}", "spec.phones.csv.path"),
        ("    csv: {path: data/p.csv, phone_column: tel}", "spec.phones.csv.phone_column"),
    ],
)
def test_missing_column_is_placed_on_phone_column_only_when_written(
    project: Path, phones: str, field: str
) -> None:
    (project / "campaigns" / "data" / "p.csv").write_text("number;name\n+79991234567;Ann\n")
    write_campaign(project, "survey", phones)
    [(placed, message)] = _problems(project)
    assert placed == field
    assert message.startswith("data/p.csv has no column ")


def test_shared_phone_file_is_inspected_once_and_reported_for_each_campaign(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "campaigns" / "data" / "p.csv").write_text("number\n+79991234567\n")
    write_campaign(project, "one", "    csv: {path: data/p.csv}")
    write_campaign(project, "two", "    csv: {path: data/p.csv}")
    inspected: list[str] = []
    real_inspect = datafiles.inspect

    def counting(
        source: CsvSource | JsonlSource, shown: str, *, count_rows: bool
    ) -> datafiles.Inspection | datafiles.FileProblem:
        inspected.append(shown)
        return real_inspect(source, shown, count_rows=count_rows)

    monkeypatch.setattr("dialogops.manifests.campaigns.inspect", counting)
    _, problems = check_project([], load_config(None, project))
    assert [p.location.path for p in problems] == ["campaigns/one.yaml", "campaigns/two.yaml"]
    assert inspected == ["data/p.csv"]


def test_policy_counts_the_rows_of_a_phone_file(project: Path) -> None:
    (project / "dialogops.yaml").write_text(
        "policy: {max_phones_per_campaign: 2}\ndefaults: {project_id: 3, phone_id: 5}\n"
    )
    (project / "campaigns" / "data" / "three.jsonl").write_text(
        '{"phone": "+79991234567"}\n\n{"phone": "+79991234568"}\n{"phone": "+79991234569"}\n'
    )
    write_campaign(project, "fits", "    csv: {path: data/p.csv}")
    write_campaign(project, "over", "    jsonl: {path: data/three.jsonl}")
    assert _problems(project) == [
        (
            "spec.phones.jsonl.path",
            "data/three.jsonl has 3 rows, more than the 2 phones allowed by policy",
        )
    ]
