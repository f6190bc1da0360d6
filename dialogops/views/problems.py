"""The `validate` report: one line per problem and a summary for people, and the
`--format json` document (format_version 1, see docs/manifests.md) for machines.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from dialogops.errors import Problem
from dialogops.specs import Project


def lines(project: Project, problems: Sequence[Problem]) -> list[str]:
    """Every problem as `path:line:col: field: message`, then the summary."""
    return [*(str(p) for p in problems), summary(project, problems)]


def summary(project: Project, problems: Sequence[Problem]) -> str:
    """The last line: what was checked, or how much is wrong."""
    if problems:
        files = _files(problems)
        noun = "problem" if len(problems) == 1 else "problems"
        return f"{len(problems)} {noun} in {files} file{'s' if files != 1 else ''}"
    campaigns, reports = len(project.campaigns), len(project.reports)
    if not campaigns + reports:
        return "ok: no manifests found"
    return f"ok: {campaigns} Campaign and {reports} Report manifests valid"


def as_json(project: Project, problems: Sequence[Problem]) -> str:
    """The JSON document, indented, non-ASCII text kept as written."""
    document = {
        "format_version": 1,
        "valid": not problems,
        "problems": [
            {
                "path": p.location.path,
                "line": p.location.line,
                "col": p.location.col,
                "field": p.field,
                "message": p.message,
            }
            for p in problems
        ],
        "summary": {
            "campaigns": len(project.campaigns),
            "reports": len(project.reports),
            "problems": len(problems),
            "files_with_problems": _files(problems),
            "text": summary(project, problems),
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _files(problems: Sequence[Problem]) -> int:
    return len({p.location.path for p in problems})
