"""What a command works against: the state backend and the API client.

The one place that chooses between the real Dialog API with the real state and, for
`--sandbox`, the built-in sandbox server with a state of its own; nothing else (but the
`sandbox serve` command) imports the sandbox, so a real run never loads it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from dialogops.hints import Hints
from dialogops.specs import Config
from dialogops.state import Backend, LocalBackend, StateLock, backend_for

if TYPE_CHECKING:
    from dialogops.client.api import DialogClient
    from dialogops.ledger.store import Ledger


def sandbox_state(config: Config) -> Path:
    """Where `--sandbox` runs keep their state, one file per environment: never the real one."""
    name = "sandbox.state.json"
    if config.environment is not None:
        name = f"sandbox.{config.environment}.state.json"
    return config.root / ".dialogops" / name


def state_backend(config: Config, *, sandbox: bool = False) -> Backend:
    """The project's state backend; with `sandbox`, the sandbox's own state file."""
    if not sandbox:
        return backend_for(config)
    path = sandbox_state(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    return LocalBackend(path)


def no_state(backend: Backend, hints: Hints) -> str:
    """Why a plan that creates campaigns cannot be applied without a state, and what to do.

    A state that is not there (a typo in --state, a CI cache not restored, another
    workspace) would otherwise make apply create every campaign again.
    """
    return (
        f"there is no state at {backend.location}, so every campaign counts as never created. "
        f"If this project was never applied, start its state on purpose with "
        f"`{hints.command('state init')}`; otherwise point dialogops at its state "
        f"(--state, --workspace, or `state:` in dialogops.yaml)"
    )


@contextlib.contextmanager
def ledger_store(
    config: Config,
    *,
    sandbox: bool = False,
    read_only: bool = False,
    lock: StateLock | None = None,
) -> Iterator[Ledger]:
    """The contact ledger kept with the state `state_backend` gives: under `lock`, with a
    database backend, on the lock's connection (see `ledger/postgres.py`)."""
    if config.state_backend == "postgres" and not sandbox:
        # Imported here: psycopg loads only for a project on the postgres backend.
        from dialogops.ledger.postgres import open_postgres_ledger
        from dialogops.state.postgres import PostgresBackend, PostgresLock

        held = lock if isinstance(lock, PostgresLock) else None
        with open_postgres_ledger(PostgresBackend.from_config(config), held) as ledger:
            yield ledger
        return
    # Imported here: the state commands use this module without the ledger.
    from dialogops.ledger.sqlite import open_sqlite_ledger

    path = sandbox_state(config) if sandbox else config.state_path
    with open_sqlite_ledger(path, read_only=read_only) as ledger:
        yield ledger


@contextlib.contextmanager
def open_client(config: Config, *, sandbox: bool = False) -> Iterator[DialogClient]:
    """The API client for `config`; with `sandbox`, for a sandbox server run in this process."""
    # Imported here: plan, validate and the state commands use this module without HTTP.
    from dialogops.client.api import DialogClient

    if not sandbox:
        with DialogClient.from_environment(config) as client:
            yield client
        return
    # Imported here: a real run must not pay for the server (http.server, sqlite3).
    from dialogops.sandbox import SANDBOX_TOKEN, running_sandbox

    # The sandbox places its synthetic calls on the project's wall clock.
    with (
        running_sandbox(config.root, timezone=config.timezone) as server,
        DialogClient(
            server.url,
            token=SANDBOX_TOKEN,
            timeout=config.timeout_seconds,
            retry_503=config.retry_503,
        ) as client,
    ):
        yield client
