"""`dialogops state init|list|show|rm|unlock|migrate` and `dialogops import NAME ID`: state
by hand.

Every change happens under the state lock with the same durable writes as apply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from dialogops import localhours
from dialogops.changes import sent_summary
from dialogops.commands.project import ProjectFiles
from dialogops.commands.wiring import ledger_store, state_backend
from dialogops.errors import StateError, UsageError
from dialogops.ledger.keys import optional_key
from dialogops.ledger.rebuild import rebuild
from dialogops.manifests import load_project
from dialogops.render import render_campaign
from dialogops.state import Backend, State, forget, record_import, require
from dialogops.variables import resolve_vars
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
    backend = _backend(files)
    view.entries(backend.read(), backend.location, fmt, no_color=no_color)
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


def import_campaign(
    files: ProjectFiles,
    name: str,
    campaign_id: int,
    *,
    vars: Mapping[str, str],
    var_files: Sequence[Path] = (),
    lock_timeout: float,
    command: str,
) -> int:
    """Record `name` as created with `campaign_id`, with its manifest's current fingerprint
    and the summary of what it sends."""
    config = files.load_config()
    project = load_project(config.manifests, config, defer_data_files=True)
    campaign = localhours.find(project.campaigns, name)
    if campaign is None:
        raise UsageError(f"no Campaign named {name!r} in the manifests")
    values = resolve_vars(config.vars, var_files, vars)
    rendered = render_campaign(campaign, values)
    sent = sent_summary(campaign, config.root, rendered.data_files)
    backend = state_backend(config, sandbox=files.sandbox)
    with backend.lock(command, lock_timeout) as lock:
        state = lock.read()
        previous = state.get(name)
        new_state, recorded = record_import(
            state,
            name,
            campaign_id,
            rendered.fingerprint,
            rendered.stats.phones,
            sent=sent,
            hints=files.hints,
        )
        lock.write(new_state)
        key = optional_key()
        if key is not None:  # a campaign whose manifest is known joins the contact ledger
            with ledger_store(config, sandbox=files.sandbox, lock=lock) as ledger:
                ledger.reconcile(new_state)
                rebuild(ledger, key, project, new_state, values, (name,))
    view.imported(recorded, previous)
    return 0


def _backend(files: ProjectFiles) -> Backend:
    return state_backend(files.load_config(), sandbox=files.sandbox)
