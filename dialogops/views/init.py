"""The view of `dialogops init`: the files written and the commands to run next."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def created(paths: Sequence[Path]) -> None:
    for path in paths:
        print(f"created {path}")


def next_steps(directory: Path) -> None:
    enter = "" if directory.resolve() == Path.cwd().resolve() else f"cd {directory} && "
    print(f"next: {enter}dialogops validate && dialogops plan")
