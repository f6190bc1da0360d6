"""The ledger of the postgres backend: tables in the state's schema, beside its entries.

Under a lock it works on the lock's own connection, so that a campaign's recipients and its
`pending` entry (later its `created` entry, or its removal after a refusal) are written in
one transaction: `together` opens it, holding the lock session's mutex so that no other
worker's state write lands inside, and the state's own transactions become savepoints of it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from psycopg import sql as pgsql

from dialogops.errors import StateError
from dialogops.ledger import sql
from dialogops.ledger.store import Ledger
from dialogops.state.postgres import PostgresBackend, PostgresLock, advisory_key

Transaction = Callable[[], AbstractContextManager[object]]


class PostgresDatabase:
    """The ledger's queries on one connection, its search path the state's schema."""

    def __init__(
        self, conn: psycopg.Connection[Any], workspace: str, transaction: Transaction
    ) -> None:
        self.conn = conn
        self.workspace = workspace
        self._transaction = transaction

    def rows(self, query: str, params: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
        with self._transaction(), _errors():
            found = self.conn.execute(sql.for_psycopg(query), self._params(params)).fetchall()
        yield from found

    def run(self, query: str, params: Mapping[str, Any]) -> None:
        with self._transaction(), _errors():
            self.conn.execute(sql.for_psycopg(query), self._params(params))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._transaction():
            yield

    def together(self) -> AbstractContextManager[object]:
        """One transaction for the ledger's writes and the state's (theirs are savepoints)."""
        return self._transaction()

    def _params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {**params, "workspace": self.workspace}


@contextlib.contextmanager
def open_postgres_ledger(
    backend: PostgresBackend, lock: PostgresLock | None = None
) -> Iterator[Ledger]:
    """The workspace's ledger: on `lock`'s connection when given, else on one of its own."""
    with contextlib.ExitStack() as stack:
        transaction: Transaction
        if lock is not None:
            conn, transaction = lock.connection, lock.transaction
        else:
            conn = stack.enter_context(backend.connect())
            transaction = conn.transaction
        with _errors():
            conn.execute(
                pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(backend.schema))
            )
            _create_tables(conn, backend.schema)
        yield Ledger(PostgresDatabase(conn, backend.workspace, transaction), backend.location)


def _create_tables(conn: psycopg.Connection[Any], schema: str) -> None:
    """The ledger's tables, made on first use like the state's; one maker at a time."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key(schema, "ledger"),))
        for statement in sql.CREATE_TABLES:
            conn.execute(statement.format(serial="BIGSERIAL", blob="BYTEA", without_rowid=""))


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise StateError(f"the contact ledger in PostgreSQL: {message}") from None
