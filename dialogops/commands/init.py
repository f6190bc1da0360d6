"""`dialogops init`: scaffold an example project, then say what to run next."""

from __future__ import annotations

from pathlib import Path

from dialogops.scaffold import scaffold
from dialogops.views import init as view


def run(directory: Path) -> int:
    view.created(scaffold(directory), directory)
    return 0
