"""`dialogops validate`: schema and semantic checks of manifests, config and data files.

Given paths, only their problems are reported, checked within the whole project; given the
changed files of a commit (`changed`), only those that are manifests.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dialogops.commands.project import ProjectFiles
from dialogops.errors import ManifestError, Problem
from dialogops.manifests import check_files, check_project, manifests_among
from dialogops.specs import Config, Project
from dialogops.views import problems as view


def run(
    files: ProjectFiles,
    paths: Sequence[Path],
    fmt: view.ProblemFormat,
    *,
    changed: bool = False,
) -> int:
    """Print every problem and a summary line; 1 if any is an error (warnings pass)."""
    project: Project | None
    try:
        # A config that cannot work, or whose manifest folders cannot be searched.
        project, problems = _check(files.load_config(), paths, changed)
    except ManifestError as exc:
        project, problems = None, list(exc.problems)
    view.show(project, problems, fmt)
    return 1 if any(p.is_error for p in problems) else 0


def _check(config: Config, paths: Sequence[Path], changed: bool) -> tuple[Project, list[Problem]]:
    if not changed:
        return check_files(paths, config) if paths else check_project([], config)
    if config.path is not None and config.path in {(Path.cwd() / p).resolve() for p in paths}:
        return check_project([], config)  # the config bears on every manifest
    manifests = manifests_among(paths, config)
    if not manifests:
        return Project(config, (), ()), []
    return check_files(manifests, config)
