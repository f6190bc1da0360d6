"""`dialogops ledger stats|check|prune|rebuild`: the contact ledger by hand.

Changes happen under the state lock, after the ledger is made to agree with the state.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from dialogops import phones
from dialogops.commands.project import ProjectFiles
from dialogops.commands.wiring import ledger_store, state_backend
from dialogops.errors import UsageError
from dialogops.ledger.keys import require_key
from dialogops.ledger.rebuild import rebuild as rebuild_ledger
from dialogops.ledger.store import Ledger
from dialogops.manifests import load_project
from dialogops.specs import Config
from dialogops.state import State
from dialogops.variables import resolve_vars
from dialogops.views import ledger as view


def stats(files: ProjectFiles, *, no_color: bool = False) -> int:
    config = files.load_config()
    with ledger_store(config, sandbox=files.sandbox, read_only=True) as ledger:
        view.stats(ledger.stats(), ledger.location, no_color=no_color)
    return 0


def check(files: ProjectFiles, phone: str, region: str) -> int:
    """Which campaigns contacted `phone`; 0 either way."""
    key = require_key("ledger check")
    try:
        e164 = phones.normalize(phone, region)
    except ValueError as exc:
        raise UsageError(f"PHONE: {exc}") from None
    config = files.load_config()
    with ledger_store(config, sandbox=files.sandbox, read_only=True) as ledger:
        view.contacted(phones.mask(e164), ledger.find(key.hash(e164)))
    return 0


def prune(files: ProjectFiles, before: dt.date, *, lock_timeout: float, command: str) -> int:
    with _locked(files.load_config(), files, lock_timeout, command) as (ledger, _state):
        campaigns, contacts = ledger.prune(before)
    view.pruned(campaigns, contacts, before.isoformat())
    return 0


def rebuild(
    files: ProjectFiles,
    *,
    vars: Mapping[str, str],
    var_files: Sequence[Path] = (),
    names: tuple[str, ...] = (),
    lock_timeout: float,
    command: str,
) -> int:
    """Record the created campaigns in state that the ledger lacks, from their manifests."""
    key = require_key("ledger rebuild")
    config = files.load_config()
    project = load_project(list(config.manifests), config)
    values = resolve_vars(config.vars, var_files, vars)
    with _locked(config, files, lock_timeout, command) as (ledger, state):
        result = rebuild_ledger(ledger, key, project, state, values, names)
    view.rebuilt(result)
    return 0


@contextlib.contextmanager
def _locked(
    config: Config, files: ProjectFiles, lock_timeout: float, command: str
) -> Iterator[tuple[Ledger, State]]:
    backend = state_backend(config, sandbox=files.sandbox)
    with (
        backend.lock(command, lock_timeout) as lock,
        ledger_store(config, sandbox=files.sandbox, lock=lock) as ledger,
    ):
        state = lock.read()
        ledger.reconcile(state)
        yield ledger, state
