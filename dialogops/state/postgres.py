"""The postgres backend: a team's state in PostgreSQL, one workspace per state.

The tables live in one schema (default `dialogops`), created on first use and brought up to
date by numbered migrations. Every change is one transaction, committed before the next
HTTP request, as the local backend's durable writes are. The lock is a session-level
advisory lock per workspace, held by the apply's own connection: a runner that dies, or
loses its connection, releases it. The holder's details sit in a row only for messages.

The DSN comes from the environment only; messages show it without its password.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from typing import Any, LiteralString, NoReturn

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dialogops.errors import StateError
from dialogops.masking import secrets
from dialogops.specs import Config
from dialogops.state.codec import entry_json, listing_rows, loads_blocks
from dialogops.state.locking import LockInfo
from dialogops.state.model import Listing, State, StateEntry
from dialogops.state.session import LockSession

CONNECT_TIMEOUT_SECONDS = 10

# Each migration brings the schema from the version before it to its own (index + 1).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE {schema}.workspaces (
        name text PRIMARY KEY,
        lineage text NOT NULL,
        serial bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE {schema}.entries (
        workspace text NOT NULL REFERENCES {schema}.workspaces (name) ON DELETE CASCADE,
        name text NOT NULL,
        status text NOT NULL,
        campaign_id bigint,
        entry jsonb NOT NULL,
        PRIMARY KEY (workspace, name)
    );
    CREATE TABLE {schema}.lock_holders (
        workspace text PRIMARY KEY,
        backend_pid integer NOT NULL,
        holder jsonb NOT NULL,
        since timestamptz NOT NULL DEFAULT now()
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def advisory_key(*words: str) -> int:
    """A signed 64-bit advisory lock key for `words` (a schema and a workspace)."""
    digest = hashlib.blake2b("\0".join(("dialogops", *words)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def shown_dsn(dsn: str) -> str:
    """The DSN for messages: its parts rebuilt without the password; unparsable, not shown."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "(a DSN that cannot be read)"
    parts.pop("password", None)
    return make_conninfo("", **parts)


class PostgresBackend:
    """The state of one workspace in PostgreSQL."""

    def __init__(self, dsn: str, workspace: str, schema: str, dsn_env: str) -> None:
        self.workspace = workspace
        self.schema = schema
        self._dsn = dsn
        self._shown = shown_dsn(dsn)
        self._dsn_env = dsn_env
        self._key = advisory_key(schema, workspace)

    @classmethod
    def from_config(cls, config: Config) -> PostgresBackend:
        """The backend `config` names, its DSN read from the variable `state.dsn_env`."""
        name = config.state_dsn_env
        dsn = os.environ.get(name, "")
        if not dsn.strip():
            raise StateError(
                f"state backend postgres: the environment variable {name} (state.dsn_env) is "
                f"not set; it holds the PostgreSQL DSN, e.g. postgresql://USER@HOST/DB"
            )
        try:
            password = conninfo_to_dict(dsn).get("password")
        except psycopg.Error:
            raise StateError(
                f"state backend postgres: {name} is not a valid PostgreSQL DSN "
                f"(key=value pairs, or a postgresql:// URL)"
            ) from None
        if password:
            secrets.add(str(password))
        return cls(dsn, config.state_workspace, config.state_schema, name)

    @property
    def location(self) -> str:
        return f"workspace {self.workspace!r} in PostgreSQL ({self._shown}, schema {self.schema})"

    @property
    def lock_location(self) -> str:
        return f"the advisory lock of {self.location}"

    def read(self) -> State:
        with self._connection() as conn:
            return self._read(conn)

    def listing(self) -> Listing:
        # Only the columns shown (status and id from their own columns, written with the
        # entry): a fifth of the data of a read, and no JSON to decode.
        with self._connection() as conn:
            found = self._entries(
                conn,
                "name, status, campaign_id, (entry->>'phones')::bigint, entry->>'created_at'",
            )
        if found is None:
            return Listing(0, ())
        (_, serial), rows = found
        return listing_rows(serial, rows, self.location)

    def exists(self) -> bool:
        with self._connection() as conn, self._errors("reading the state"):
            return self._row(conn) is not None

    @contextlib.contextmanager
    def lock(self, command: str, timeout: float = 0.0) -> Iterator[PostgresLock]:
        """Hold the workspace's advisory lock for the block, waiting up to `timeout` seconds."""
        with self._connection() as conn:
            self._wait_for(conn, timeout)
            info = LockInfo.for_this_process(command)
            with self._errors("recording the lock holder"):
                conn.execute(
                    self._sql(
                        "INSERT INTO {schema}.lock_holders (workspace, backend_pid, holder) "
                        "VALUES (%s, pg_backend_pid(), %s) ON CONFLICT (workspace) DO UPDATE "
                        "SET backend_pid = EXCLUDED.backend_pid, holder = EXCLUDED.holder, "
                        "since = now()"
                    ),
                    (self.workspace, info.to_text()),
                )
            session = PostgresLock(self, conn, self._read(conn))
            try:
                yield session
            finally:
                session.release()

    def unlock(self, force: bool = False) -> LockInfo | None:
        """None when the lock is free; with `force`, end the session that holds it."""
        with self._connection() as conn, self._errors("checking the lock"):
            if self._try_lock(conn):
                self._let_go(conn)
                return None
            holder, pid = self._holder(conn)
            who = holder.describe() if holder else "a session that is starting up"
            if pid is None or not force:
                raise StateError(
                    f"state is locked by {who}, whose database session is still open; the "
                    f"lock ends with it: wait for it, or end a hung holder with "
                    f"`dialogops state unlock --force`"
                )
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
            return holder

    # --- the connection ------------------------------------------------------------------

    def connect(self) -> contextlib.AbstractContextManager[psycopg.Connection[Any]]:
        """A connection of its own, the schema up to date (the contact ledger's reads)."""
        return self._connection()

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection to the state's database, its schema up to date."""
        extra = {"application_name": "dialogops"}
        if "connect_timeout" not in conninfo_to_dict(self._dsn):
            extra["connect_timeout"] = str(CONNECT_TIMEOUT_SECONDS)
        try:
            conn = psycopg.connect(make_conninfo(self._dsn, **extra), autocommit=True)
        except psycopg.Error as exc:
            raise StateError(
                f"cannot connect to the state database ({self._shown}, from {self._dsn_env}): "
                f"{_one_line(exc)}"
            ) from None
        try:
            # Migrations read committed: what another first user made while this one waited
            # for the migration lock must be seen. Reads after them see one snapshot each.
            self._migrate(conn)
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            yield conn
        finally:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """A database error as one clear line naming what was being done."""
        try:
            yield
        except psycopg.Error as exc:
            raise StateError(
                f"{action} in the state database ({self._shown}) failed: {_one_line(exc)}"
            ) from None

    def _sql(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(schema=sql.Identifier(self.schema))

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        """Create the schema's tables on first use, and apply migrations a newer version added."""
        with self._errors("preparing the schema"):
            if self._version(conn) == SCHEMA_VERSION:
                return
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key(self.schema),))
                conn.execute(self._sql("CREATE SCHEMA IF NOT EXISTS {schema}"))
                conn.execute(
                    self._sql(
                        "CREATE TABLE IF NOT EXISTS {schema}.migrations "
                        "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL "
                        "DEFAULT now())"
                    )
                )
                version = self._version(conn)
                for number in range(version + 1, SCHEMA_VERSION + 1):
                    conn.execute(self._sql(MIGRATIONS[number - 1]))
                    conn.execute(
                        self._sql("INSERT INTO {schema}.migrations (version) VALUES (%s)"),
                        (number,),
                    )

    def _version(self, conn: psycopg.Connection[Any]) -> int:
        table = f"{sql.Identifier(self.schema).as_string(conn)}.migrations"
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
        if row is None or not row[0]:
            return 0
        found = conn.execute(self._sql("SELECT max(version) FROM {schema}.migrations")).fetchone()
        version = int(found[0]) if found and found[0] is not None else 0
        if version > SCHEMA_VERSION:
            raise StateError(
                f"the state schema {self.schema} is at version {version}, written by a newer "
                f"dialogops; this one knows version {SCHEMA_VERSION}: upgrade dialogops"
            )
        return version

    # --- reads -----------------------------------------------------------------------------

    def _row(
        self, conn: psycopg.Connection[Any], *, for_update: bool = False
    ) -> tuple[str, int] | None:
        """The workspace's lineage and serial; None when its state was never started."""
        query = "SELECT lineage, serial FROM {schema}.workspaces WHERE name = %s"
        row = conn.execute(
            self._sql(query + (" FOR UPDATE" if for_update else "")), (self.workspace,)
        ).fetchone()
        return None if row is None else (str(row[0]), int(row[1]))

    def _read(self, conn: psycopg.Connection[Any]) -> State:
        found = self._entries(conn, "name, entry::text")
        if found is None:
            return State()
        (lineage, serial), rows = found
        return loads_blocks(lineage, serial, rows, self.location)

    def _entries(
        self, conn: psycopg.Connection[Any], columns: LiteralString
    ) -> tuple[tuple[str, int], list[tuple[Any, ...]]] | None:
        """The workspace's (lineage, serial) and `columns` of each of its entries, read in
        one transaction; None when the workspace has no state."""
        with self._errors("reading the state"), conn.transaction():
            row = self._row(conn)
            if row is None:
                return None
            # Unordered: a State is a mapping, and every view sorts what it shows.
            query = "SELECT " + columns + " FROM {schema}.entries WHERE workspace = %s"
            return row, conn.execute(self._sql(query), (self.workspace,)).fetchall()

    # --- the lock --------------------------------------------------------------------------

    def _try_lock(self, conn: psycopg.Connection[Any]) -> bool:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
        return bool(row and row[0])

    def _wait_for(self, conn: psycopg.Connection[Any], timeout: float) -> None:
        with self._errors("taking the state lock"):
            if self._try_lock(conn):
                return
            if timeout > 0:
                try:
                    conn.execute(f"SET lock_timeout = {int(timeout * 1000) or 1}")
                    conn.execute("SELECT pg_advisory_lock(%s)", (self._key,))
                    conn.execute("RESET lock_timeout")
                    return
                except psycopg.errors.LockNotAvailable:
                    conn.execute("RESET lock_timeout")
            holder, _pid = self._holder(conn)
        self._refuse(holder, timeout)

    def _refuse(self, holder: LockInfo | None, timeout: float) -> NoReturn:
        who = holder.describe() if holder else "a session that is starting up"
        waited = f" (waited {timeout:g}s)" if timeout > 0 else ""
        raise StateError(
            f"state is locked by {who}{waited}; try again later or pass "
            f"--lock-timeout SECONDS to wait"
        )

    def _holder(self, conn: psycopg.Connection[Any]) -> tuple[LockInfo | None, int | None]:
        """Who holds the lock, and the backend pid of the session that holds it now."""
        row = conn.execute(
            self._sql(
                "SELECT h.holder::text, l.pid FROM pg_locks l LEFT JOIN {schema}.lock_holders h "
                "ON h.workspace = %s AND h.backend_pid = l.pid WHERE l.locktype = 'advisory' "
                "AND l.granted AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database "
                "WHERE datname = current_database()) AND l.classid::bigint = ((%s >> 32) & "
                "4294967295) AND l.objid::bigint = (%s & 4294967295)"
            ),
            (self.workspace, self._key, self._key),
        ).fetchone()
        if row is None:
            return None, None
        return (None if row[0] is None else LockInfo.from_text(row[0])), int(row[1])

    def _let_go(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(
            self._sql("DELETE FROM {schema}.lock_holders WHERE workspace = %s"), (self.workspace,)
        )
        conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))

    # --- writes ----------------------------------------------------------------------------

    def _store(
        self, conn: psycopg.Connection[Any], old: State, new: State, changed: frozenset[str]
    ) -> None:
        """`new` in place of `old` in one transaction: the changed entries and the serial."""
        rows = [
            (self.workspace, n, *_columns(new.campaigns[n])) for n in changed if n in new.campaigns
        ]
        gone = [name for name in changed if name not in new.campaigns]
        with self._errors("writing the state"), conn.transaction():
            found = self._row(conn, for_update=True)
            expected = (old.lineage, old.serial) if old.lineage else None
            if found != expected:
                self._changed_behind(expected, found)
            if found is None:
                conn.execute(
                    self._sql(
                        "INSERT INTO {schema}.workspaces (name, lineage, serial) "
                        "VALUES (%s, %s, %s)"
                    ),
                    (self.workspace, new.lineage, new.serial),
                )
            else:
                conn.execute(
                    self._sql(
                        "UPDATE {schema}.workspaces SET lineage = %s, serial = %s, "
                        "updated_at = now() WHERE name = %s"
                    ),
                    (new.lineage, new.serial, self.workspace),
                )
            if gone:
                conn.execute(
                    self._sql(
                        "DELETE FROM {schema}.entries WHERE workspace = %s AND name = ANY(%s)"
                    ),
                    (self.workspace, gone),
                )
            if rows:
                with conn.cursor() as cursor:
                    cursor.executemany(
                        self._sql(
                            "INSERT INTO {schema}.entries (workspace, name, status, campaign_id, "
                            "entry) VALUES (%s, %s, %s, %s, %s::jsonb) ON CONFLICT (workspace, "
                            "name) DO UPDATE SET status = EXCLUDED.status, campaign_id = "
                            "EXCLUDED.campaign_id, entry = EXCLUDED.entry"
                        ),
                        rows,
                    )

    def _changed_behind(
        self, expected: tuple[str, int] | None, found: tuple[str, int] | None
    ) -> NoReturn:
        def shown(at: tuple[str, int] | None) -> str:
            return "no state" if at is None else f"serial {at[1]}"

        raise StateError(
            f"{self.location} was changed by someone else while this command held the lock "
            f"({shown(expected)} expected, {shown(found)} found); nothing was written"
        )


class PostgresLock(LockSession):
    """A workspace held under its advisory lock, on the connection that holds the lock."""

    def __init__(self, backend: PostgresBackend, conn: psycopg.Connection[Any], start: State):
        self.backend = backend
        self._conn = conn
        super().__init__(start)

    @property
    def connection(self) -> psycopg.Connection[Any]:
        """The connection that holds the lock."""
        return self._conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction on the lock's connection, other threads' writes kept out of it:
        state writes made inside join it (the contact ledger writes beside them)."""
        with self._mutex, self._conn.transaction():
            yield

    def _store(self, old: State, new: State, changed: frozenset[str]) -> None:
        self.backend._store(self._conn, old, new, changed)

    def _let_go(self) -> None:
        # A connection already lost took the lock with it.
        with contextlib.suppress(psycopg.Error):
            self.backend._let_go(self._conn)


def _columns(entry: StateEntry) -> tuple[str, int | None, str]:
    return entry.status, entry.id, entry_json(entry)


def _one_line(exc: BaseException) -> str:
    """libpq's message, whose hints span several lines, as one line."""
    return " ".join(str(exc).split()) or type(exc).__name__
