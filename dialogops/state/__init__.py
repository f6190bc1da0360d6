"""The state: which campaigns exist on the platform under which ID, behind a small backend.

    model.py    the records (`State`, `StateEntry`, `Replaced`) and the pure changes to them
    codec.py    the state file format: decoding with checks, stable encoding
    locking.py  who holds the lock: the details kept for the messages of others
    session.py  a lock session's reads and writes, and the serial of each write
    local.py    `LocalBackend`: a JSON file with a kernel-locked lock file, durable writes
    postgres.py `PostgresBackend`: a workspace in PostgreSQL, an advisory lock per workspace

Callers hold a `Backend` and a `StateLock`: a new backend is one module beside local.py and
one more branch in `backend_for`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from dialogops.specs import Config
from dialogops.state.codec import dumps, every_field, file_fields, loads
from dialogops.state.local import LocalBackend
from dialogops.state.locking import LockInfo
from dialogops.state.model import (
    Listing,
    Replaced,
    Sent,
    SentSchedule,
    State,
    StateEntry,
    Status,
    Summary,
    TemplateSource,
    forget,
    record_import,
    require,
    superseded,
    utc_now,
)

__all__ = [
    "Backend",
    "Listing",
    "LocalBackend",
    "LockInfo",
    "Replaced",
    "Sent",
    "SentSchedule",
    "State",
    "StateEntry",
    "StateLock",
    "Status",
    "Summary",
    "TemplateSource",
    "backend_for",
    "dumps",
    "every_field",
    "file_fields",
    "forget",
    "loads",
    "record_import",
    "require",
    "superseded",
    "utc_now",
]


class StateLock(Protocol):
    """The state held under its lock, for as long as the command holds it.

    Every `write` is durable when it returns and bumps the serial; a backend may store only
    the entries that changed, each in a transaction of its own.
    """

    def read(self) -> State:
        """The state as last read or written under this lock."""
        ...

    def write(self, state: State) -> State:
        """Store `state`, derived from the latest read or write, and return it as stored."""
        ...

    def update(self, change: Callable[[State], State]) -> State:
        """Write `change(current state)`, atomically with respect to other threads."""
        ...

    def restore(self, state: State) -> State:
        """Store `state` as it is, its lineage and serial kept (moving a state between backends)."""
        ...

    def release(self) -> None:
        """Let go of the lock early; later writes are refused."""
        ...


class Backend(Protocol):
    """Where the state is kept; reads need no lock, writes happen under one."""

    @property
    def location(self) -> str:
        """The state's place, for messages (a file, a database workspace)."""
        ...

    @property
    def lock_location(self) -> str:
        """The lock's place, for messages."""
        ...

    def read(self) -> State:
        """The state as stored; the empty state when there is none yet."""
        ...

    def listing(self) -> Listing:
        """Each entry's `Summary` and the serial, checked as `read` checks those fields; a
        database reads only them (postgres: status and id from their own columns)."""
        ...

    def exists(self) -> bool:
        """True once the state was started (`state init`): apply creates nothing without it."""
        ...

    def lock(self, command: str, timeout: float = 0.0) -> AbstractContextManager[StateLock]:
        """Hold the lock as `command`; wait up to `timeout` seconds, then fail naming the holder."""
        ...

    def unlock(self, force: bool = False) -> LockInfo | None:
        """None when nobody holds the lock; with `force`, end the holder where the backend
        can (and return who it was); otherwise an error naming the holder."""
        ...


def backend_for(config: Config) -> Backend:
    """The state backend the project config names."""
    if config.state_backend == "postgres":
        # Imported here: psycopg and libpq load only for a project that uses them.
        from dialogops.state.postgres import PostgresBackend

        return PostgresBackend.from_config(config)
    return LocalBackend(config.state_path)
