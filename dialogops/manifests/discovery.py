"""Finding the manifest files of a run, and the configured manifest folders that are missing."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from dialogops.config import CONFIG_NAME
from dialogops.errors import Location, ManifestError, Problem, Rule, UsageError
from dialogops.specs import Config
from dialogops.yamlio import display_path

SUFFIXES = (".yaml", ".yml")
# Files and folders one run looks at while searching manifest folders. A project holds
# hundreds; a folder named by mistake (/, /proc, a home) must fail fast instead of hanging.
MAX_ENTRIES = 100_000


class _TooManyEntries(Exception):
    pass


def discover(paths: Sequence[Path], config: Config) -> list[Path]:
    """Every manifest file under `paths` (default: the config's), sorted, without duplicates.

    Hidden files and folders (.git, .venv, .dialogops) and dialogops.yaml itself are
    skipped; folders are searched without following symlinks to other folders, and
    unreadable ones are passed over. A given path that does not exist, or a search past
    MAX_ENTRIES, is a UsageError; for a configured folder, a ManifestError placed on its
    entry in dialogops.yaml (see also `missing_manifest_folders`).
    """
    roots = [p if p.is_absolute() else Path.cwd() / p for p in paths] or list(config.manifests)
    found: dict[Path, None] = {}
    counter = itertools.count(1)  # entries looked at, over every root
    for index, root in enumerate(roots):
        if root.is_dir():
            try:
                found.update(dict.fromkeys(_manifests_under(root, counter)))
            except _TooManyEntries:
                message = (
                    f"{display_path(root)} holds more than {MAX_ENTRIES:,} files and folders; "
                    "name the folder that holds the manifests"
                )
                if paths or config.marks is None:
                    raise UsageError(message) from None
                field, where = _config_entry(config, index)
                raise ManifestError([Problem(where, field, message, Rule.CONFIG)]) from None
        elif root.exists():
            # A file, or something that only pretends to be one: reading it says which.
            found[root.resolve()] = None
        elif paths:
            raise UsageError(f"{display_path(root)}: no such file or folder")
    return list(found)


def _manifests_under(root: Path, counter: Iterator[int]) -> list[Path]:
    """The manifest files below folder `root`, sorted, counting each entry on `counter`."""
    files: list[Path] = []
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if next(counter) > MAX_ENTRIES:
                        raise _TooManyEntries
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(Path(entry.path))
                    elif (
                        entry.name.endswith(SUFFIXES)
                        and entry.name != CONFIG_NAME
                        and not _links_to_folder(entry)
                    ):
                        # Kept even when not a regular file (a FIFO, a dangling link):
                        # reading it reports why, where skipping would hide a manifest.
                        files.append(Path(entry.path))
        except OSError:  # unreadable, or gone since it was listed
            continue
    # realpath, unlike Path.resolve on Python 3.11, does not raise on a loop of links.
    return [Path(os.path.realpath(file)) for file in sorted(files)]


def _links_to_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a loop of links
        return False


def _config_entry(config: Config, index: int) -> tuple[str, Location]:
    """The field and place of the `index`th manifests entry in dialogops.yaml."""
    assert config.marks is not None
    if config.marks.manifests:
        return config.marks.manifests[index]
    return "manifests", config.marks.document


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
