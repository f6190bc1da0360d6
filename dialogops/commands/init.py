"""`dialogops init`: scaffold an example project, start its state, say what to run next."""

from __future__ import annotations

from pathlib import Path

from dialogops.commands import state
from dialogops.config import load_config
from dialogops.scaffold import scaffold
from dialogops.state import backend_for
from dialogops.views import init as view
from dialogops.views import state as state_view


def run(directory: Path) -> int:
    view.created(scaffold(directory))
    backend = backend_for(load_config(None, directory))
    started, new = state.start(backend, "dialogops init")
    state_view.started(started, new, backend.location)
    view.next_steps(directory)
    return 0
