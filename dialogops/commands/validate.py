"""`dialogops validate`: schema and semantic checks of manifests, config and data files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from dialogops.commands.project import ProjectFiles
from dialogops.errors import ManifestError
from dialogops.manifests import check_project
from dialogops.specs import Config, Project
from dialogops.views.problems import as_json, lines


def run(files: ProjectFiles, paths: Sequence[Path], fmt: Literal["text", "json"]) -> int:
    """Print every problem and a summary line; 1 if there is any problem."""
    try:
        config = files.load_config()
    except ManifestError as exc:
        project = Project(Config(root=Path.cwd(), path=None), (), ())
        problems = list(exc.problems)
    else:
        project, problems = check_project(paths, config)
    if fmt == "json":
        print(as_json(project, problems))
    else:
        for line in lines(project, problems):
            print(line)
    return 1 if problems else 0
