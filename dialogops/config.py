"""Finding and loading `dialogops.yaml` (placeholder until issue 2 lands)."""

from __future__ import annotations

from pathlib import Path

from dialogops.specs import Config


def load_config(explicit: Path | None, cwd: Path) -> Config:
    """Load `explicit`, else the first dialogops.yaml walking up from `cwd`, else defaults."""
    raise NotImplementedError
