"""The ledger of the local backend: a SQLite file beside the state file.

`dialogops.state.json` keeps its ledger in `dialogops.state.ledger.sqlite`, written in WAL
mode with full syncs, so a commit survives a crash the moment it returns.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dialogops.errors import StateError
from dialogops.ledger import sql
from dialogops.ledger.store import Ledger


def ledger_path(state_path: Path) -> Path:
    """The ledger file of the state file `state_path`."""
    return state_path.with_name(state_path.name.removesuffix(".json") + ".ledger.sqlite")


class SqliteDatabase:
    """One connection, shared by apply's workers under a lock."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self._mutex = threading.RLock()
        try:
            if read_only and path.exists():
                self.connection = self._connect(f"{path.resolve().as_uri()}?mode=ro")
                return
            if not read_only:
                # Created private, like the state file: the hashes are kept from others.
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            # A plan before the first apply reads an empty ledger, without creating a file.
            self.connection = self._connect(":memory:" if read_only else str(path))
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=FULL")
            for statement in sql.CREATE_TABLES:
                self.connection.execute(
                    statement.format(serial="INTEGER", blob="BLOB", without_rowid=" WITHOUT ROWID")
                )
        except (sqlite3.Error, OSError) as exc:
            raise StateError(f"{path}: cannot open the contact ledger: {exc}") from exc

    @staticmethod
    def _connect(target: str) -> sqlite3.Connection:
        return sqlite3.connect(
            target, uri=True, isolation_level=None, check_same_thread=False, timeout=30
        )

    def rows(self, query: str, params: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
        with self._mutex, self._errors():
            found = self.connection.execute(query, {**params, "workspace": ""}).fetchall()
        yield from found

    def run(self, query: str, params: Mapping[str, Any]) -> None:
        with self._mutex, self._errors():
            self.connection.execute(query, {**params, "workspace": ""})

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._mutex:
            if self.connection.in_transaction:  # nested: the outer block commits
                yield
                return
            with self._errors():
                self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.connection.rollback()
                raise
            with self._errors():
                self.connection.commit()

    def together(self) -> contextlib.nullcontext[None]:
        """Apart from the state file, the ledger commits first (see `Ledger.reconcile`)."""
        return contextlib.nullcontext()

    def close(self) -> None:
        with self._mutex, contextlib.suppress(sqlite3.Error):
            # Folds the write-ahead log into the file, so the file alone is the ledger.
            self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.connection.close()

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StateError(f"{self.path}: contact ledger: {exc}") from exc


@contextlib.contextmanager
def open_sqlite_ledger(state_path: Path, *, read_only: bool = False) -> Iterator[Ledger]:
    """The ledger beside `state_path`, created empty when missing (unless `read_only`);
    closed after the block."""
    path = ledger_path(state_path)
    db = SqliteDatabase(path, read_only=read_only)
    try:
        yield Ledger(db, str(path))
    finally:
        db.close()
