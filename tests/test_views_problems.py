"""views.problems: the `validate` lines, summary, JSON, GitHub annotations and SARIF of a
problem list."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from dialogops.errors import Location, Problem, Rule
from dialogops.specs import Config, Project
from dialogops.views.problems import as_json, github, lines, sarif, summary
from tests.sarif_schema import sarif_schema

EMPTY = Project(Config(root=Path("/p"), path=None), (), ())
PROBLEMS = [
    Problem(Location("campaigns/a.yaml", 3, 5), "spec.title", "'' is too short"),
    Problem(Location("campaigns/a.yaml", 9, 1), "", "YAML syntax error: x"),
    Problem(Location("campaigns/b.yaml", 1, 1), "kind", "unknown kind 'Campain'", Rule.DOCUMENT),
]


def test_lines_are_the_problems_then_the_summary() -> None:
    assert lines(EMPTY, PROBLEMS) == [
        "campaigns/a.yaml:3:5: spec.title: '' is too short",
        "campaigns/a.yaml:9:1: YAML syntax error: x",
        "campaigns/b.yaml:1:1: kind: unknown kind 'Campain'",
        "3 problems in 2 files",
    ]


def test_summary_counts() -> None:
    assert summary(EMPTY, PROBLEMS[:1]) == "1 problem in 1 file"
    assert summary(EMPTY, []) == "ok: no manifests found"


def test_json_document() -> None:
    document = json.loads(as_json(EMPTY, PROBLEMS[2:]))
    assert document == {
        "format_version": 2,
        "valid": False,
        "problems": [
            {
                "path": "campaigns/b.yaml",
                "line": 1,
                "col": 1,
                "field": "kind",
                "message": "unknown kind 'Campain'",
                "rule": "document",
                "severity": "error",
            }
        ],
        "summary": {
            "campaigns": 0,
            "reports": 0,
            "problems": 1,
            "warnings": 0,
            "files_with_problems": 1,
            "text": "1 problem in 1 file",
        },
    }


def test_github_annotations_escape_what_github_would_misread() -> None:
    odd = Problem(
        Location("data/a,b:c.yaml", 2, 7), "spec.title", "100% wrong\nsecond line", Rule.SCHEMA
    )
    assert github(EMPTY, [odd], root=Path.cwd()) == [
        "::error file=data/a%2Cb%3Ac.yaml,line=2,col=7,title=dialogops::"
        "spec.title: 100%25 wrong%0Asecond line",
        "1 problem in 1 file",
    ]


def test_github_names_files_from_the_repository_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "repo" / "teams" / "care"
    project.mkdir(parents=True)
    monkeypatch.chdir(project)
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path / "repo"))
    assert github(EMPTY, PROBLEMS[:1])[0] == (
        "::error file=teams/care/campaigns/a.yaml,line=3,col=5,title=dialogops::"
        "spec.title: '' is too short"
    )


def test_github_annotates_ten_problems_and_prints_the_rest() -> None:
    many = [Problem(Location("c.yaml", line, 1), "", f"problem {line}") for line in range(1, 13)]
    out = github(EMPTY, many, root=Path.cwd())
    assert [line.startswith("::error ") for line in out] == [True] * 10 + [False] * 3
    assert out[10:] == [
        "c.yaml:11:1: problem 11",
        "c.yaml:12:1: problem 12",
        "12 problems in 1 file (the first 10 are annotated: GitHub shows no more per step)",
    ]


def test_github_leaves_out_a_line_that_is_not_known() -> None:
    unplaced = Problem(Location("c.yaml"), "", "somewhere")
    assert github(EMPTY, [unplaced], root=Path.cwd())[0] == (
        "::error file=c.yaml,title=dialogops::somewhere"
    )


def test_sarif_has_one_rule_per_kind_and_a_located_result_per_problem() -> None:
    document = json.loads(sarif(PROBLEMS, root=Path.cwd()))
    jsonschema.Draft7Validator(sarif_schema()).validate(document)
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [rule.value for rule in Rule]
    result = run["results"][2]
    assert result == {
        "ruleId": "document",
        "ruleIndex": list(Rule).index(Rule.DOCUMENT),
        "level": "error",
        "message": {"text": "kind: unknown kind 'Campain'"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": "campaigns/b.yaml", "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": 1, "startColumn": 1},
                }
            }
        ],
    }
    assert rules[result["ruleIndex"]]["shortDescription"]["text"] == Rule.DOCUMENT.description


def test_sarif_of_no_problems_is_a_valid_empty_run() -> None:
    document = json.loads(sarif([], root=Path.cwd()))
    jsonschema.Draft7Validator(sarif_schema()).validate(document)
    assert document["runs"][0]["results"] == []


def test_every_rule_is_described() -> None:
    assert all(rule.description.endswith(".") for rule in Rule)


def test_annotations_and_sarif_mask_numbers_and_escape_controls() -> None:
    leaky = Problem(
        Location("c.yaml", 4, 1), "spec.title", "no field '+79991234567' in \x1b]0;pwned\x07"
    )
    [annotation, _] = github(EMPTY, [leaky], root=Path.cwd())
    assert annotation.endswith("spec.title: no field '+7999*****67' in \\x1b]0;pwned\\x07")
    assert "+79991234567" not in sarif([leaky]) and "\\u001b" not in sarif([leaky])


WARNING = Problem(
    Location("campaigns/c.yaml", 10, 11), "spec.schedule.date", "old", Rule.DATE_IN_PAST, "warning"
)


def test_a_warning_is_marked_and_counted_apart_from_the_problems() -> None:
    assert lines(EMPTY, [*PROBLEMS[:1], WARNING]) == [
        "campaigns/a.yaml:3:5: spec.title: '' is too short",
        "campaigns/c.yaml:10:11: warning: spec.schedule.date: old",
        "1 problem in 1 file; 1 warning",
    ]
    assert summary(EMPTY, [WARNING]) == "ok: no manifests found; 1 warning"


def test_warnings_alone_leave_the_json_valid() -> None:
    document = json.loads(as_json(EMPTY, [WARNING, WARNING]))
    assert document["valid"] is True
    assert [p["severity"] for p in document["problems"]] == ["warning", "warning"]
    assert document["summary"] == {
        "campaigns": 0,
        "reports": 0,
        "problems": 0,
        "warnings": 2,
        "files_with_problems": 0,
        "text": "ok: no manifests found; 2 warnings",
    }


def test_a_warning_is_a_github_warning_and_a_sarif_warning() -> None:
    assert github(EMPTY, [WARNING], root=Path.cwd())[0] == (
        "::warning file=campaigns/c.yaml,line=10,col=11,title=dialogops::spec.schedule.date: old"
    )
    [result] = json.loads(sarif([WARNING], root=Path.cwd()))["runs"][0]["results"]
    assert (result["ruleId"], result["level"]) == ("date-in-past", "warning")
