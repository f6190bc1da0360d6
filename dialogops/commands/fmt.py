"""`dialogops fmt`: rewrite manifests in the canonical layout, or with `check` only list the
files that would change; a file that does not load is never rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dialogops.commands.project import ProjectFiles
from dialogops.durable import write_atomic
from dialogops.errors import ManifestError, Problem, UsageError
from dialogops.fmt import format_file
from dialogops.manifests import discover, manifests_among
from dialogops.views import fmt as view


def run(files: ProjectFiles, paths: Sequence[Path], *, check: bool, changed: bool = False) -> int:
    """Format the manifests under `paths` (default: the config's), or with `changed` the
    manifests among `paths`; 1 if a file does not load, or with `check` would change."""
    config = files.load_config()
    targets = manifests_among(paths, config) if changed else discover(paths, config)
    problems: list[Problem] = []
    reformatted: list[Path] = []
    for path in targets:
        try:
            result = format_file(path)
        except ManifestError as exc:
            problems.extend(exc.problems)
            continue
        if not result.changed:
            continue
        reformatted.append(path)
        if not check:
            _write(path, result.text)
    outcome = view.Outcome(len(targets), tuple(reformatted), tuple(sorted(problems)), check)
    view.show(outcome)
    return 1 if problems or (check and reformatted) else 0


def _write(path: Path, text: str) -> None:
    try:
        write_atomic(path, text, mode=path.stat().st_mode & 0o7777)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from exc
