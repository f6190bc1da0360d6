"""The test PostgreSQL at 127.0.0.1:5432 (trust auth, database `test`, user `postgres`).

Every test that uses it gets a schema of its own (`pg_schema` in conftest.py), dropped
afterwards. Outside CI a missing server skips those tests; with CI=true it fails them, so
that CI never passes without having run them.
"""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

PG_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres connect_timeout=5"
DSN_ENV = "DIALOGOPS_STATE_DSN"


def connect() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(PG_DSN, autocommit=True)


def new_schema() -> Iterator[str]:
    """A fresh schema name, dropped with everything in it when the test is done."""
    try:
        connect().close()
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)")
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        yield schema
    finally:
        with connect() as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def pg_env(dsn: str = PG_DSN) -> dict[str, str]:
    """The environment that hands the DSN to dialogops."""
    return {DSN_ENV: dsn}


def use_postgres(root: Path, schema: str, workspace: str = "default") -> Path:
    """Point the project at `root` to the postgres backend in `schema` (its config appended)."""
    config = root / "dialogops.yaml"
    addition = f"""\
    state:
      backend: postgres
      dsn_env: {DSN_ENV}
      schema: {schema}
      workspace: {workspace}
    """
    config.write_text(config.read_text("utf-8") + textwrap.dedent(addition), encoding="utf-8")
    return root


def count(schema: str, query: str, *params: object) -> int:
    """The single number `query` (with `{schema}` in it) returns."""
    with connect() as conn:
        statement = sql.SQL(query).format(schema=sql.Identifier(schema))
        row = conn.execute(statement, params).fetchone()
    assert row is not None
    return int(str(row[0]))
