"""`dialogops plan`: compare manifests with state and show what apply would do.

No network, no credentials, never writes state; `out` saves the plan for `apply --plan`,
`gitlab_report` writes its counts for GitLab's merge-request widget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dialogops.commands.project import ProjectFiles
from dialogops.commands.wiring import state_backend
from dialogops.durable import write_atomic
from dialogops.errors import ProblemsError, UsageError
from dialogops.manifests import load_project
from dialogops.planner import Plan, build_plan
from dialogops.savedplan import write_saved_plan
from dialogops.views import plan as view
from dialogops.views import problems as problems_view


@dataclass(frozen=True)
class PlanRequest:
    """Everything `dialogops plan` was asked to do."""

    files: ProjectFiles = field(default_factory=ProjectFiles)
    paths: tuple[Path, ...] = ()
    vars: Mapping[str, str] = field(default_factory=dict)
    targets: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    format: view.PlanFormat = "text"
    out: Path | None = None
    gitlab_report: Path | None = None
    detailed_exitcode: bool = False
    no_color: bool = False


def run(request: PlanRequest) -> int:
    """Show the plan; 1 if a campaign blocks it, 2 for changes with `detailed_exitcode`.

    In the github and sarif formats, problems that keep the plan from being made (invalid
    manifests, rows that do not render) are reported in that format, exit 1.
    """
    try:
        plan = _plan(request)
    except ProblemsError as exc:
        if request.format not in ("github", "sarif"):
            raise
        problems_view.show(None, exc.problems, request.format)
        return 1
    if request.gitlab_report is not None:
        _write(request.gitlab_report, view.gitlab_report(plan), "GitLab report")
    view.show(plan, request.format, no_color=request.no_color)
    if plan.blockers:
        view.blocked(plan, request.out)
        return 1
    if request.out is not None:
        write_saved_plan(plan, request.out)
        view.saved(request.out)
    return 2 if request.detailed_exitcode and plan.has_changes else 0


def _plan(request: PlanRequest) -> Plan:
    config = request.files.load_config()
    project = load_project(list(request.paths), config)
    state = state_backend(config).read()
    return build_plan(
        project, state, targets=request.targets, replace=request.replace, vars=request.vars
    )


def _write(path: Path, text: str, what: str) -> None:
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise UsageError(f"cannot write {what} {path}: {exc.strerror}") from exc
