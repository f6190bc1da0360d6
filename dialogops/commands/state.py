"""`dialogops state init|list|show|rm|unlock|migrate`: state by hand.

Every change happens under the state lock with the same durable writes as apply
(`importing.py` records a campaign created elsewhere the same way).
"""

from __future__ import annotations

from dialogops.commands.project import ProjectFiles
from dialogops.commands.wiring import state_backend
from dialogops.errors import StateError, UsageError
from dialogops.state import Backend, State, forget, require
from dialogops.views import state as view


def init(files: ProjectFiles, *, lock_timeout: float, command: str) -> int:
    """Start the state on purpose; one that exists is left as it is."""
    backend = _backend(files)
    state, started = start(backend, command, lock_timeout)
    view.started(state, started, backend.location)
    return 0


def start(backend: Backend, command: str, lock_timeout: float = 0.0) -> tuple[State, bool]:
    """The state, written empty with a new lineage when there was none; True if it was."""
    with backend.lock(command, lock_timeout) as lock:
        if backend.exists():
            return lock.read(), False
        return lock.write(lock.read()), True


def list_entries(files: ProjectFiles, fmt: view.ListFormat, *, no_color: bool = False) -> int:
    """Every entry: the table needs only each entry's summary, JSON every field."""
    backend = _backend(files)
    if fmt == "json":
        view.entries_json(backend.read())
    else:
        view.listing(backend.listing(), backend.location, no_color=no_color)
    return 0


def show(files: ProjectFiles, name: str) -> int:
    view.entry(require(_backend(files).read(), name))
    return 0


def rm(files: ProjectFiles, name: str, *, lock_timeout: float, command: str) -> int:
    """Forget `name`; `command` is recorded in the lock for anyone who waits for it."""
    with _backend(files).lock(command, lock_timeout) as lock:
        new_state, dropped = forget(lock.read(), name)
        lock.write(new_state)
    view.forgot(name, dropped)
    return 0


def unlock(files: ProjectFiles, *, force: bool) -> int:
    backend = _backend(files)
    view.unlocked(backend.unlock(force=force), backend.lock_location)
    return 0


def migrate(files: ProjectFiles, target: ProjectFiles, *, lock_timeout: float, command: str) -> int:
    """Copy the state to the backend `target` names, lineage and serial kept.

    Both are locked meanwhile. A state there of another lineage, or ahead of this one, is
    never overwritten; one equal to this one is left as it is.
    """
    source, destination = _backend(files), _backend(target)
    if source.location == destination.location:
        raise UsageError(f"the state is already at {destination.location}: nothing to move")
    with source.lock(command, lock_timeout) as held:
        if not source.exists():
            raise StateError(f"there is no state at {source.location} to move")
        state = held.read()
        with destination.lock(command, lock_timeout) as into:
            there = into.read()
            if destination.exists():
                _refuse_to_overwrite(state, there, destination.location)
            copied = there != state
            if copied:
                into.restore(state)
    view.moved(state, source.location, destination.location, copied)
    return 0


def _refuse_to_overwrite(state: State, there: State, location: str) -> None:
    if there.lineage != state.lineage:
        raise StateError(
            f"{location} holds another state (lineage {there.lineage}, this one is "
            f"{state.lineage}); refusing to overwrite it: move it away or pick another "
            f"workspace or file"
        )
    if there.serial > state.serial:
        raise StateError(
            f"{location} is ahead of this state (serial {there.serial}, this one is at "
            f"{state.serial}); refusing to go back: move it the other way"
        )


def _backend(files: ProjectFiles) -> Backend:
    return state_backend(files.load_config(), sandbox=files.sandbox)
