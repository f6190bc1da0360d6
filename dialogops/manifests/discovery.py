"""Finding the manifest files of a run, and the configured manifest folders that are missing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dialogops.config import CONFIG_NAME
from dialogops.errors import Problem, Rule, UsageError
from dialogops.specs import Config
from dialogops.yamlio import display_path

SUFFIXES = (".yaml", ".yml")


def discover(paths: Sequence[Path], config: Config) -> list[Path]:
    """Every manifest file under `paths` (default: the config's), sorted, without duplicates.

    Hidden folders (.git, .venv, .dialogops) and dialogops.yaml itself are skipped. A
    given path that does not exist is a UsageError; a configured one, a problem (see
    `missing_manifest_folders`).
    """
    roots = [p if p.is_absolute() else Path.cwd() / p for p in paths] or list(config.manifests)
    found: dict[Path, None] = {}
    for root in roots:
        if root.is_file():
            found[root.resolve()] = None
        elif root.is_dir():
            for candidate in sorted(root.rglob("*")):
                relative = candidate.relative_to(root).parts
                if (
                    candidate.suffix in SUFFIXES
                    and candidate.name != CONFIG_NAME
                    and not any(part.startswith(".") for part in relative)
                    and candidate.is_file()
                ):
                    found[candidate.resolve()] = None
        elif paths:
            raise UsageError(f"{display_path(root)}: no such file or folder")
    return list(found)


def manifests_among(paths: Sequence[Path], config: Config) -> list[Path]:
    """The files of `paths` (a changed-file list) that are manifests of the project: those
    `discover` finds under the config's `manifests`; the others are ignored."""
    given = {(Path.cwd() / p).resolve() for p in paths}
    return [path for path in discover([], config) if path in given]


def missing_manifest_folders(config: Config) -> list[Problem]:
    """The config's `manifests` entries that do not exist, placed in dialogops.yaml.

    Without a config file the default `campaigns/` is meant; its absence is a UsageError
    saying how to start.
    """
    missing = [(i, root) for i, root in enumerate(config.manifests) if not root.exists()]
    if not missing:
        return []
    marks = config.marks
    if marks is None:
        raise UsageError(
            f"{display_path(missing[0][1])}: no such folder and no {CONFIG_NAME} "
            "here; run `dialogops init`, or name the manifests to check"
        )
    if not marks.manifests:
        return [
            Problem(
                marks.document,
                "manifests",
                f"{display_path(root)} does not exist (the default)",
                Rule.CONFIG,
            )
            for _, root in missing
        ]
    problems = []
    for index, root in missing:
        field, where = marks.manifests[index]
        problems.append(Problem(where, field, f"{display_path(root)} does not exist", Rule.CONFIG))
    return problems
