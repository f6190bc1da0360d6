"""The view of `dialogops fmt`: each file rewritten (or that would be), each problem that kept
a file from being formatted, then a summary line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dialogops.errors import Problem
from dialogops.yamlio import display_path


@dataclass(frozen=True)
class Outcome:
    """What one `fmt` run found: how many files it looked at, which changed, what failed."""

    files: int
    reformatted: tuple[Path, ...]
    problems: tuple[Problem, ...]
    check: bool


def show(outcome: Outcome) -> None:
    verb = "would reformat" if outcome.check else "reformatted"
    for path in outcome.reformatted:
        print(f"{verb} {display_path(path)}")
    for problem in outcome.problems:
        print(problem)
    print(summary(outcome))


def summary(outcome: Outcome) -> str:
    broken = len({p.location.path for p in outcome.problems})
    changed = len(outcome.reformatted)
    unchanged = outcome.files - changed - broken
    parts = [
        f"{_files(changed)} {'would be reformatted' if outcome.check else 'reformatted'}",
        f"{_files(unchanged)} already formatted",
    ]
    if broken:
        parts.append(f"{_files(broken)} not formatted: fix the problems above")
    return ", ".join(parts)


def _files(count: int) -> str:
    return f"{count} file{'s' if count != 1 else ''}"
