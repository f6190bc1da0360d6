"""views.problems: the `validate` lines, summary and JSON document for a problem list."""

from __future__ import annotations

import json
from pathlib import Path

from dialogops.errors import Location, Problem
from dialogops.specs import Config, Project
from dialogops.views.problems import as_json, lines, summary

EMPTY = Project(Config(root=Path("/p"), path=None), (), ())
PROBLEMS = [
    Problem(Location("campaigns/a.yaml", 3, 5), "spec.title", "'' is too short"),
    Problem(Location("campaigns/a.yaml", 9, 1), "", "YAML syntax error: x"),
    Problem(Location("campaigns/b.yaml", 1, 1), "kind", "unknown kind 'Campain'"),
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
        "format_version": 1,
        "valid": False,
        "problems": [
            {
                "path": "campaigns/b.yaml",
                "line": 1,
                "col": 1,
                "field": "kind",
                "message": "unknown kind 'Campain'",
            }
        ],
        "summary": {
            "campaigns": 0,
            "reports": 0,
            "problems": 1,
            "files_with_problems": 1,
            "text": "1 problem in 1 file",
        },
    }
