"""`dialogops plan`: compare manifests with state and show what apply would do.

No network, no credentials, never writes state. One plan, several outputs: the view on
stdout, and for CI the saved plan (`out`), the JSON document, the Markdown comment and the
counts for GitLab's merge-request widget (`gitlab_report`).
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dialogops.commands.project import ProjectFiles
from dialogops.commands.wiring import ledger_store, no_state, state_backend
from dialogops.durable import write_atomic
from dialogops.errors import ProblemsError, UsageError
from dialogops.ledger.judge import LedgerCheck, needed_by
from dialogops.ledger.keys import require_key
from dialogops.manifests import load_project
from dialogops.planner import Plan, build_plan
from dialogops.savedplan import write_saved_plan
from dialogops.variables import resolve_vars
from dialogops.views import plan as view
from dialogops.views import problems as problems_view

_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclass(frozen=True)
class PlanRequest:
    """Everything `dialogops plan` was asked to do."""

    files: ProjectFiles = field(default_factory=ProjectFiles)
    paths: tuple[Path, ...] = ()
    vars: Mapping[str, str] = field(default_factory=dict)
    var_files: tuple[Path, ...] = ()
    targets: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    format: view.PlanFormat = "text"
    out: Path | None = None  # the saved plan, for `apply --plan`
    json_out: Path | None = None  # the plan document, as `--format json` prints it
    markdown_out: Path | None = None  # the pull-request comment
    gitlab_report: Path | None = None
    detailed_exitcode: bool = False
    no_color: bool = False
    verbose: bool = False  # list the rows skipped as invalid, and every orphaned campaign


def run(request: PlanRequest) -> int:
    """Show the plan; 1 if a campaign blocks it, 2 for changes with `detailed_exitcode`.

    In the github and sarif formats, problems that keep the plan from being made (invalid
    manifests, rows that do not render) are reported in that format, exit 1.
    """
    try:
        plan, root = _plan(request)
    except ProblemsError as exc:
        if request.format not in ("github", "sarif"):
            raise
        problems_view.show(None, exc.problems, request.format)
        return 1
    if request.gitlab_report is not None:
        _write(request.gitlab_report, view.gitlab_report(plan), "GitLab report")
    wants_markdown = request.format == "markdown" or request.markdown_out is not None
    commit = git_commit(root) if wants_markdown else None
    view.show(
        plan, request.format, no_color=request.no_color, verbose=request.verbose, commit=commit
    )
    # The review outputs show a blocked plan too: that is what a reviewer must see.
    if request.json_out is not None:
        _write(request.json_out, view.as_json(plan), "plan JSON")
    if request.markdown_out is not None:
        _write(request.markdown_out, view.markdown(plan, commit=commit), "plan Markdown")
    if plan.blockers:
        view.blocked(plan, request.out)
        return 1
    if request.out is not None:
        write_saved_plan(plan, request.out)
        view.saved(request.out, plan.hints)
    return 2 if request.detailed_exitcode and plan.has_changes else 0


def git_commit(root: Path) -> str | None:
    """The commit checked out at `root`, if it is a git checkout and git is installed."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and _COMMIT.fullmatch(commit) else None


def _plan(request: PlanRequest) -> tuple[Plan, Path]:
    """The plan, and the project root it was made in."""
    files = request.files
    config = files.load_config()
    project = load_project(list(request.paths), config, defer_data_files=True)
    backend = state_backend(config, sandbox=files.sandbox)
    state = backend.read()
    vars = resolve_vars(config.vars, request.var_files, request.vars)
    needed = needed_by(project)
    with contextlib.ExitStack() as stack:
        ledger = None
        if needed is not None:
            key = require_key(needed)
            store = stack.enter_context(ledger_store(config, sandbox=files.sandbox, read_only=True))
            ledger = LedgerCheck(store, key, config.policy.frequency, files.hints)
        plan = build_plan(
            project,
            state,
            targets=request.targets,
            replace=request.replace,
            vars=vars,
            hints=files.hints,
            ledger=ledger,
        )
    if plan.creates and not files.sandbox and not backend.exists():
        view.warning(no_state(backend, files.hints) + "; apply will refuse until then")
    return plan, config.root


def _write(path: Path, text: str, what: str) -> None:
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise UsageError(f"cannot write {what} {path}: {exc.strerror}") from exc
