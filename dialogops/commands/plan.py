"""`dialogops plan`: compare manifests with state and show what apply would do.

No network, no credentials, never writes state; `out` saves the plan for `apply --plan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dialogops.commands.project import ProjectFiles
from dialogops.commands.wiring import state_backend
from dialogops.manifests import load_project
from dialogops.planner import build_plan
from dialogops.savedplan import write_saved_plan
from dialogops.views import plan as view


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
    detailed_exitcode: bool = False
    no_color: bool = False


def run(request: PlanRequest) -> int:
    """Show the plan; 1 if a campaign blocks it, 2 for changes with `detailed_exitcode`."""
    config = request.files.load_config()
    project = load_project(list(request.paths), config)
    state = state_backend(config).read()
    plan = build_plan(
        project, state, targets=request.targets, replace=request.replace, vars=request.vars
    )
    view.show(plan, request.format, no_color=request.no_color)
    if plan.blockers:
        view.blocked(plan, request.out)
        return 1
    if request.out is not None:
        write_saved_plan(plan, request.out)
        view.saved(request.out)
    return 2 if request.detailed_exitcode and plan.has_changes else 0
