"""The problem reports of `validate` (and of a `plan` that fails on its inputs): one problem
list rendered as lines for people, a JSON document (format_version 2, see docs/manifests.md),
GitHub workflow commands (annotations) or a SARIF 2.1.0 log (code scanning).

A warning is listed like an error (`path:line:col: warning: ...`) but does not fail.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from dialogops import __version__
from dialogops.errors import Problem, Rule
from dialogops.masking import scrub
from dialogops.specs import Project

ProblemFormat = Literal["text", "json", "github", "sarif"]

# GitHub shows at most 10 error annotations per step; the rest would be dropped unseen.
GITHUB_ANNOTATIONS = 10
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def show(project: Project | None, problems: Sequence[Problem], fmt: ProblemFormat) -> None:
    """Print the report on stdout; without a project (a failed plan) the summary counts only
    problems."""
    if fmt == "json":
        print(as_json(project, problems))
    elif fmt == "sarif":
        print(sarif(problems))
    else:
        report = github(project, problems) if fmt == "github" else lines(project, problems)
        for line in report:
            print(line)


def lines(project: Project | None, problems: Sequence[Problem]) -> list[str]:
    """Every problem as `path:line:col: field: message` (through `scrub`), then the summary."""
    return [*(scrub(str(p)) for p in problems), summary(project, problems)]


def summary(project: Project | None, problems: Sequence[Problem]) -> str:
    """The last line: what was checked, or how much is wrong, and how many warnings."""
    errors = _errors(problems)
    warnings = len(problems) - len(errors)
    note = f"; {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
    if errors:
        files = _files(errors)
        noun = "problem" if len(errors) == 1 else "problems"
        return f"{len(errors)} {noun} in {files} file{'s' if files != 1 else ''}{note}"
    campaigns = len(project.campaigns) if project else 0
    reports = len(project.reports) if project else 0
    if not campaigns + reports:
        return "ok: no manifests found" + note
    return f"ok: {campaigns} Campaign and {reports} Report manifests valid{note}"


def as_json(project: Project | None, problems: Sequence[Problem]) -> str:
    """The JSON document, indented, non-ASCII text kept as written."""
    errors = _errors(problems)
    document = {
        "format_version": 2,
        "valid": not errors,
        "problems": [
            {
                "path": p.location.path,
                "line": p.location.line,
                "col": p.location.col,
                "field": p.field,
                "message": p.message,
                "rule": p.rule.value,
                "severity": p.severity,
            }
            for p in problems
        ],
        "summary": {
            "campaigns": len(project.campaigns) if project else 0,
            "reports": len(project.reports) if project else 0,
            "problems": len(errors),
            "warnings": len(problems) - len(errors),
            "files_with_problems": _files(errors),
            "text": summary(project, problems),
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def github(
    project: Project | None, problems: Sequence[Problem], root: Path | None = None
) -> list[str]:
    """GitHub workflow commands: an `::error` (or `::warning`) annotation for each of the
    first ten problems (GitHub shows no more per step), the others as plain lines, then the
    summary.

    Files are named relative to `root`, the repository's checkout (default:
    `$GITHUB_WORKSPACE`, else the working directory), where GitHub looks for them.
    """
    base = root or _checkout()
    out = []
    for problem in problems[:GITHUB_ANNOTATIONS]:
        where = problem.location
        properties = [f"file={_escape_property(_relative(where.path, base))}"]
        if where.line:
            properties.append(f"line={where.line}")
            if where.col:
                properties.append(f"col={where.col}")
        properties.append("title=dialogops")
        command = f"::{problem.severity} {','.join(properties)}"
        out.append(f"{command}::{_escape_data(_text(problem))}")
    out += [str(p) for p in problems[GITHUB_ANNOTATIONS:]]
    last = summary(project, problems)
    if len(problems) > GITHUB_ANNOTATIONS:
        last += f" (the first {GITHUB_ANNOTATIONS} are annotated: GitHub shows no more per step)"
    return [*out, last]


def sarif(problems: Sequence[Problem], root: Path | None = None) -> str:
    """A SARIF 2.1.0 log: one rule per kind of problem, one result per problem.

    Files are named relative to `root` as in `github`, so that code scanning finds them.
    """
    base = root or _checkout()
    rules = list(Rule)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dialogops",
                        "version": __version__,
                        "rules": [
                            {
                                "id": rule.value,
                                "shortDescription": {"text": rule.description},
                                "defaultConfiguration": {"level": "error"},
                            }
                            for rule in rules
                        ],
                    }
                },
                "results": [
                    {
                        "ruleId": p.rule.value,
                        "ruleIndex": rules.index(p.rule),
                        "level": p.severity,
                        "message": {"text": _text(p)},
                        "locations": [_sarif_location(p, base)],
                    }
                    for p in problems
                ],
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _sarif_location(problem: Problem, base: Path) -> dict[str, Any]:
    where = problem.location
    path = _relative(where.path, base)
    artifact: dict[str, Any] = (
        {"uri": Path(path).as_uri()}
        if Path(path).is_absolute()
        else {"uri": path, "uriBaseId": "%SRCROOT%"}
    )
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if where.line:
        region = {"startLine": where.line}
        if where.col:
            region["startColumn"] = where.col
        physical["region"] = region
    return {"physicalLocation": physical}


def _text(problem: Problem) -> str:
    """The problem as the text report shows it after the location, through `scrub`: CI logs
    and code-scanning alerts are read by people too."""
    text = f"{problem.field}: {problem.message}" if problem.field else problem.message
    return scrub(text)


def _checkout() -> Path:
    return Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd())


def _relative(path: str, base: Path) -> str:
    """A problem's path (relative to the working directory, or absolute) relative to `base`,
    with forward slashes; a file outside `base` keeps its absolute path."""
    absolute = (Path.cwd() / path).resolve()
    try:
        return absolute.relative_to(base.resolve()).as_posix()
    except ValueError:
        return absolute.as_posix()


def _escape_data(text: str) -> str:
    # As GitHub's own toolkit escapes workflow-command messages (actions/toolkit command.ts).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _errors(problems: Sequence[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


def _files(problems: Sequence[Problem]) -> int:
    return len({p.location.path for p in problems})
