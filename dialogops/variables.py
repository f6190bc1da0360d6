"""Template vars (`{{ vars.NAME }}`) from their three places, later ones winning: `vars` of
dialogops.yaml (with its environment's), each `--var-file FILE` in turn, then `--var K=V`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dialogops.errors import Location, ManifestError, Problem, UsageError
from dialogops.yamlio import display_path, load_file


def as_text(value: str | int | float | bool) -> str:
    """A var value as templates see it: text, with booleans as YAML writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def resolve_vars(
    configured: Mapping[str, str], files: Iterable[Path], given: Mapping[str, str]
) -> dict[str, str]:
    """`configured` (dialogops.yaml), overridden by each file in turn, then by `given`."""
    values = dict(configured)
    for path in files:
        values.update(read_var_file(path))
    values.update(given)
    return values


def read_var_file(path: Path) -> dict[str, str]:
    """A YAML mapping of names to strings, numbers or booleans; anything else is a located
    `ManifestError`, a missing file a `UsageError`."""
    if not path.exists():  # a FIFO or a folder is refused by load_file, naming what it is
        raise UsageError(f"var file {path} does not exist")
    display = display_path(path)
    docs, problems = load_file(path, display)
    if problems:
        raise ManifestError(problems)
    if len(docs) != 1 or not isinstance(docs[0].data, dict):
        where = docs[0].location if docs else Location(display, 1, 1)
        raise ManifestError([Problem(where, "", "a var file holds one mapping of names to values")])
    doc = docs[0]
    problems = [
        Problem(
            doc.key_at((name,)),
            name,
            f"{_kind(value)} is not a var value: give a string, number or boolean",
        )
        for name, value in doc.data.items()
        if not isinstance(value, str | int | float)  # a bool is an int
    ]
    if problems:
        raise ManifestError(problems)
    return {name: as_text(value) for name, value in doc.data.items()}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return "a mapping" if isinstance(value, dict) else "a list"
