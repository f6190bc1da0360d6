"""The data-driven manifest corpus: every folder in tests/cases is a project.

`invalid/<case>/expected.txt` holds the exact problem lines `dialogops validate` prints
(`{root}` stands for the copied project's root); `valid/<case>/expected.txt` its summary.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest

from dialogops.cli import main
from tests.conftest import run_cli, run_dialogops
from tests.samples import example_project
from tests.sarif_schema import sarif_schema

CASES = Path(__file__).parent / "cases"
INVALID = sorted(p.name for p in (CASES / "invalid").iterdir())
VALID = sorted(p.name for p in (CASES / "valid").iterdir())


def _project(group: str, case: str, tmp_path: Path) -> Path:
    project = tmp_path / case
    shutil.copytree(CASES / group / case, project)
    # A config file pins the project root to the copy, whatever lies above tmp_path.
    (project / "dialogops.yaml").touch()
    return project


def _expected(project: Path) -> list[str]:
    text = (project / "expected.txt").read_text(encoding="utf-8")
    return text.replace("{root}", str(project.resolve())).splitlines()


def _validate(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, list[str]]:
    monkeypatch.chdir(project)
    code = main(["validate", *args])
    return code, capsys.readouterr().out.splitlines()


def test_corpus_is_large_enough() -> None:
    assert len(INVALID) >= 30
    assert len(VALID) >= 5


@pytest.mark.parametrize("case", INVALID)
def test_invalid_case_prints_its_expected_lines(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project("invalid", case, tmp_path)
    code, lines = _validate(project, monkeypatch, capsys)
    assert code == 1
    assert lines[:-1] == _expected(project)
    assert lines[-1] == f"{len(lines) - 1} problem{'s' if len(lines) > 2 else ''} in 1 file"


def _unescape(text: str) -> str:
    for escaped, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, char)
    return text


def _parse_workflow_command(line: str) -> tuple[str, dict[str, str], str]:
    """`::error file=F,line=L::message` -> ("error", {"file": "F", "line": "L"}, "message")."""
    match = re.fullmatch(r"::(\w+) ([^:]*)::(.*)", line)
    assert match, line
    properties = dict(item.split("=", 1) for item in match[2].split(","))
    return match[1], {k: _unescape(v) for k, v in properties.items()}, _unescape(match[3])


@pytest.mark.parametrize("case", INVALID)
def test_invalid_case_as_github_annotations(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project("invalid", case, tmp_path)
    code, lines = _validate(project, monkeypatch, capsys, "--format", "github")
    expected = _expected(project)
    assert code == 1
    assert len(expected) <= 10  # every problem of a case is annotated
    parsed = []
    for line in lines[:-1]:
        command, properties, message = _parse_workflow_command(line)
        assert (command, properties["title"]) == ("error", "dialogops")
        parsed.append(f"{properties['file']}:{properties['line']}:{properties['col']}: {message}")
    assert parsed == expected
    assert lines[-1] == f"{len(expected)} problem{'s' if len(expected) > 1 else ''} in 1 file"


@pytest.mark.parametrize("case", INVALID)
def test_invalid_case_as_sarif(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project("invalid", case, tmp_path)
    code, lines = _validate(project, monkeypatch, capsys, "--format", "sarif")
    assert code == 1
    document = json.loads("\n".join(lines))
    jsonschema.Draft7Validator(sarif_schema()).validate(document)
    run = document["runs"][0]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    found = []
    for result in run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"] != "invalid"
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        region = physical["region"]
        found.append(
            f"{physical['artifactLocation']['uri']}:{region['startLine']}:"
            f"{region['startColumn']}: {result['message']['text']}"
        )
    assert found == _expected(project)


@pytest.mark.parametrize("case", VALID)
def test_valid_case_is_clean(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project("valid", case, tmp_path)
    code, lines = _validate(project, monkeypatch, capsys)
    assert (code, lines) == (0, _expected(project))


def test_shipped_example_project_is_valid(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = Path(__file__).parent.parent
    code, lines = _validate(repo, monkeypatch, capsys, "campaigns/")
    assert (code, lines) == (0, ["ok: 1 Campaign and 1 Report manifests valid"])


def test_all_problems_of_all_files_in_one_run_sorted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project("invalid", "attempts-six", tmp_path)
    for other in ("time-24-00", "unknown-kind"):
        shutil.copy(
            CASES / "invalid" / other / "campaigns" / "survey.yaml",
            project / "campaigns" / f"{other}.yaml",
        )
    code, lines = _validate(project, monkeypatch, capsys)
    assert code == 1
    assert [line.split(": ")[0] for line in lines[:-1]] == [
        "campaigns/survey.yaml:13:15",
        "campaigns/time-24-00.yaml:4:9",  # the same name, checked in full all the same
        "campaigns/time-24-00.yaml:12:15",
        "campaigns/unknown-kind.yaml:2:7",
    ]
    assert lines[-1] == "4 problems in 3 files"


def test_json_format_is_documented_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project("invalid", "attempts-six", tmp_path)
    code, lines = _validate(project, monkeypatch, capsys, "--format", "json")
    assert code == 1
    document = json.loads("\n".join(lines))
    assert document["format_version"] == 2
    assert document["valid"] is False
    assert document["problems"] == [
        {
            "path": "campaigns/survey.yaml",
            "line": 13,
            "col": 15,
            "field": "spec.schedule.attempts",
            "message": "6 is greater than the maximum of 5",
            "rule": "schema",
            "severity": "error",
        }
    ]
    assert document["summary"]["problems"] == 1


def test_config_problems_are_reported_like_manifest_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project("valid", "multi-document", tmp_path)
    (project / "dialogops.yaml").write_text("state:\n  backend: etcd\n")
    code, lines = _validate(project, monkeypatch, capsys, "--format", "json")
    document = json.loads("\n".join(lines))
    assert code == 1
    assert [(p["line"], p["col"], p["field"]) for p in document["problems"]] == [
        (2, 12, "state.backend")
    ]


def test_end_to_end_in_a_subprocess(tmp_path: Path) -> None:
    bad = _project("invalid", "python-object-tag", tmp_path)
    result = run_dialogops(["validate"], bad)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == _expected(bad)[0]
    assert "Traceback" not in result.stderr
    good = _project("valid", "multi-document", tmp_path)
    result = run_dialogops(["validate", "campaigns"], good)
    assert result.returncode == 0
    assert result.stdout == "ok: 2 Campaign and 1 Report manifests valid\n"


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    project = _project("valid", "multi-document", tmp_path)
    result = run_cli(["validate", "nowhere/"], project)
    assert result.returncode == 1
    assert result.stderr == "error: nowhere: no such file or folder\n"


def test_a_bug_in_dialogops_is_a_short_crash_message_with_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_args: object) -> None:
        raise KeyError("spec")

    monkeypatch.setattr("dialogops.commands.validate.check_project", broken)
    monkeypatch.chdir(_project("valid", "multi-document", tmp_path))
    assert main(["validate"]) == 3
    assert capsys.readouterr() == (
        "",
        ("dialogops crashed (this is a bug in dialogops, please report it): KeyError: 'spec'\n"),
    )


def test_no_config_and_no_campaigns_folder_says_how_to_start(tmp_path: Path) -> None:
    result = run_cli(["validate"], tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: campaigns: no such folder and no dialogops.yaml here; "
        "run `dialogops init`, or name the manifests to check\n"
    )


@pytest.mark.parametrize(
    ("case", "rules"),
    [
        ("alias-bomb", {"yaml-refused"}),
        ("config-unknown-timezone", {"config"}),
        ("date-in-past", {"date-in-past"}),
        ("date-month-13", {"invalid-date"}),
        ("duplicate-key", {"duplicate-key"}),
        ("duplicate-names", {"duplicate-name"}),
        ("max-phones-policy", {"policy"}),
        ("report-missing-campaign", {"unknown-campaign"}),
        ("schema-and-semantic-problems", {"schema", "time-order", "data-file"}),
        ("tab-indentation", {"yaml-syntax"}),
        ("template-syntax-error", {"template"}),
        ("unknown-kind", {"document"}),
    ],
)
def test_each_problem_names_the_kind_of_rule_it_breaks(
    case: str,
    rules: set[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A date in the past is only a warning: its case is among the valid ones.
    group = "invalid" if (CASES / "invalid" / case).is_dir() else "valid"
    project = _project(group, case, tmp_path)
    _, lines = _validate(project, monkeypatch, capsys, "--format", "json")
    assert {p["rule"] for p in json.loads("\n".join(lines))["problems"]} == rules


# ---- validate PATH... and --changed: the files given, checked within the whole project -------

REPORT = "campaigns/nps-2099-12-results.yaml"


def test_a_report_validated_alone_finds_its_campaign_in_another_file(tmp_path: Path) -> None:
    project = example_project(tmp_path)
    (project / "campaigns" / "broken.yaml").write_text("kind: [\n")
    result = run_cli(["validate", REPORT], project)
    assert (result.returncode, result.stdout) == (
        0,
        "ok: 0 Campaign and 1 Report manifests valid\n",
    )
    # The broken file is context only; checked itself, it is reported.
    assert run_cli(["validate"], project).stdout.startswith("campaigns/broken.yaml:2:1: ")


def test_a_name_taken_in_another_file_is_reported_on_the_file_given(tmp_path: Path) -> None:
    project = example_project(tmp_path)
    campaign = (project / "campaigns" / "nps-2099-12.yaml").read_text()
    (project / "campaigns" / "copy.yaml").write_text(campaign)
    result = run_cli(["validate", "campaigns/copy.yaml"], project)
    assert result.stdout.splitlines() == [
        "campaigns/copy.yaml:5:9: metadata.name: Campaign name 'nps-2099-12' is already used "
        "at campaigns/nps-2099-12.yaml:5:9",
        "1 problem in 1 file",
    ]


def test_changed_checks_only_the_changed_files_that_are_manifests(tmp_path: Path) -> None:
    project = example_project(tmp_path)
    (project / ".pre-commit-config.yaml").write_text("repos: []\n")
    (project / "campaigns" / "data" / "notes.yaml").write_text("not: a manifest\n")
    (project / "campaigns" / "broken.yaml").write_text("kind: [\n")  # unchanged, broken
    changed = [".pre-commit-config.yaml", "README.md", REPORT]
    result = run_cli(["validate", "--changed", *changed], project)
    assert (result.returncode, result.stdout) == (
        0,
        "ok: 0 Campaign and 1 Report manifests valid\n",
    )
    result = run_cli(["validate", "--changed", ".pre-commit-config.yaml"], project)
    assert (result.returncode, result.stdout) == (0, "ok: no manifests found\n")


def test_a_changed_config_checks_every_manifest(tmp_path: Path) -> None:
    project = example_project(tmp_path)
    (project / "campaigns" / "broken.yaml").write_text("kind: [\n")
    result = run_cli(["validate", "--changed", "dialogops.yaml"], project)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "1 problem in 1 file"
