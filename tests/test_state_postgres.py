"""The postgres backend against the real test PostgreSQL: writes, locks, errors, moves.

Each test works in a schema of its own (`pg_schema`), dropped afterwards.
"""

from __future__ import annotations

import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from dialogops.errors import StateError
from dialogops.specs import Config
from dialogops.state import (
    Listing,
    LocalBackend,
    State,
    StateEntry,
    Summary,
    backend_for,
    superseded,
)
from dialogops.state.codec import entry_json
from dialogops.state.postgres import PostgresBackend
from tests.conftest import run_cli
from tests.postgres import DSN_ENV, PG_DSN, connect, count, pg_env, use_postgres
from tests.samples import write_project
from tests.state_samples import FP_A, created, wait_for_a_holder


def backend(schema: str, workspace: str = "default", dsn: str = PG_DSN) -> PostgresBackend:
    config = Config(
        root=Path("."),
        path=None,
        state_backend="postgres",
        state_schema=schema,
        state_workspace=workspace,
        state_dsn_env="TEST_STATE_DSN",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEST_STATE_DSN", dsn)
        made = backend_for(config)
    assert isinstance(made, PostgresBackend)
    return made


# --- reads and writes ------------------------------------------------------------------


def test_tables_are_made_on_first_use_with_a_migration_version(pg_schema: str) -> None:
    states = backend(pg_schema)
    assert states.read() == State()
    assert not states.exists()
    assert count(pg_schema, "SELECT max(version) FROM {schema}.migrations") == 1
    assert count(pg_schema, "SELECT count(*) FROM {schema}.workspaces") == 0


def test_each_change_is_committed_when_write_returns(pg_schema: str) -> None:
    states = backend(pg_schema)
    with states.lock("test") as lock:
        started = lock.write(lock.read())
        assert (started.serial, len(started.lineage)) == (1, 36)
        first = lock.write(started.put(created("a", 1)))
        # Another session sees it while the lock is still held: it was committed.
        assert backend(pg_schema).read() == first
        second = lock.write(first.put(created("b", 2)).remove("a"))
        assert backend(pg_schema).read() == second
    assert second.serial == 3
    assert set(second.campaigns) == {"b"}
    assert count(pg_schema, "SELECT campaign_id FROM {schema}.entries WHERE name = 'b'") == 2


def test_workspaces_are_separate_states(pg_schema: str) -> None:
    for workspace, campaign_id in (("staging", 1), ("prod", 2)):
        with backend(pg_schema, workspace).lock("test") as lock:
            lock.write(lock.read().put(created("a", campaign_id)))
    assert backend(pg_schema, "staging").read().campaigns["a"].id == 1
    assert backend(pg_schema, "prod").read().campaigns["a"].id == 2
    assert not backend(pg_schema, "dev").exists()


def test_a_run_that_changes_nothing_keeps_the_serial(pg_schema: str) -> None:
    states = backend(pg_schema)
    with states.lock("test") as lock:
        lock.write(lock.read().put(created("a", 1)))
    with states.lock("apply") as lock:
        before = lock.read()
        pending = lock.write(before.put(created("b", 2)))
        assert pending.serial == before.serial + 1
        after = lock.write(pending.remove("b"))
        assert after == before
        assert lock.write(after) is after
    assert states.read() == before


def test_a_state_changed_behind_the_lock_is_not_overwritten(pg_schema: str) -> None:
    states = backend(pg_schema)
    with states.lock("test") as lock:
        lock.write(lock.read())
        with connect() as conn:
            conn.execute(f"UPDATE {pg_schema}.workspaces SET serial = 9")
        expected = r"changed by someone else while this command held the lock \(serial 1 expected"
        with pytest.raises(StateError, match=expected):
            lock.write(lock.read().put(created("a", 1)))
    assert backend(pg_schema).read().campaigns == {}


def test_a_listing_reads_the_summaries_checked_as_a_read_checks_them(pg_schema: str) -> None:
    states = backend(pg_schema)
    assert states.listing() == Listing(0, ())
    unknown = StateEntry("b", "unknown", FP_A, 7, started_at="2099-01-01T00:00:00Z")
    with states.lock("test") as lock:
        lock.write(lock.read().put(created("a", 1)).put(unknown))
    listing = states.listing()
    assert (listing.serial, sorted(listing.entries, key=lambda e: e.name)) == (
        1,
        [
            Summary("a", "created", 1, 3, "2099-01-01T00:00:00Z"),
            Summary("b", "unknown", None, 7, None),
        ],
    )
    hand_edits = [
        ("created_at", '"9 May"', "Expected `str` like 2099-01-01T09:00:00Z (ISO 8601)"),
        ("phones", "-3", "Expected `int` >= 0"),
    ]
    for field, value, reason in hand_edits:
        with connect() as conn:
            conn.execute(
                f"UPDATE {pg_schema}.entries SET entry = jsonb_set(entry, '{{{field}}}', "
                f"'{value}') WHERE name = 'a'"
            )
        for read in (states.listing, states.read):
            with pytest.raises(StateError) as caught:
                read()
            assert str(caught.value).endswith(f"state file: campaigns.a.{field}: {reason}")
        with connect() as conn:  # put back, for the next edit
            conn.execute(
                f"UPDATE {pg_schema}.entries SET entry = %s::jsonb WHERE name = 'a'",
                (entry_json(created("a", 1)),),
            )


# --- the lock --------------------------------------------------------------------------


def test_a_second_lock_waits_then_names_the_holder(pg_schema: str) -> None:
    states = backend(pg_schema)
    with states.lock("dialogops apply --var token=...") as lock:
        with pytest.raises(StateError) as info, states.lock("second", timeout=0.3):
            pass
        assert "`dialogops apply --var token=...`" in str(info.value)
        assert "(waited 0.3s)" in str(info.value)
        with pytest.raises(StateError, match="whose database session is still open"):
            states.unlock()
        lock.write(lock.read())
    assert states.unlock() is None


def test_a_waiting_lock_gets_it_when_the_holder_finishes(pg_schema: str) -> None:
    state = wait_for_a_holder(backend(pg_schema), release_after=0.3)
    assert set(state.campaigns) == {"a", "b"}


HOLD_LOCK = """
import os, sys, time
from pathlib import Path
from dialogops.specs import Config
from dialogops.state import backend_for
config = Config(root=Path("."), path=None, state_backend="postgres", state_schema=sys.argv[1])
with backend_for(config).lock("dialogops apply"):
    print("held", flush=True)
    time.sleep(600)
"""


def hold_in_a_process(schema: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, schema],
        stdout=subprocess.PIPE,
        text=True,
        env={**pg_env(), "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "held\n"
    return proc


def test_the_lock_dies_with_its_holder(pg_schema: str) -> None:
    with hold_in_a_process(pg_schema) as proc:
        with pytest.raises(StateError, match=rf"locked by pid {proc.pid} "):
            backend(pg_schema).lock("second").__enter__()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with backend(pg_schema).lock("next", timeout=30):
        pass


def test_unlock_force_ends_a_hung_holders_session(pg_schema: str) -> None:
    with hold_in_a_process(pg_schema) as proc:
        try:
            holder = backend(pg_schema).unlock(force=True)
            assert holder is not None
            assert holder.pid == proc.pid
            with backend(pg_schema).lock("next", timeout=30):
                pass
        finally:
            proc.kill()


# --- bad connections: one clear line each ----------------------------------------------


@pytest.fixture
def refusing_password_server() -> Iterator[int]:
    """A server that speaks just enough of PostgreSQL's protocol to refuse any password."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                length = struct.unpack("!i", conn.recv(4))[0]
                conn.recv(length - 4)  # the startup message
                conn.sendall(b"R" + struct.pack("!ii", 8, 3))  # cleartext password, please
                conn.recv(4096)
                fields = b'SFATAL\0C28P01\0Mpassword authentication failed for user "ann"\0\0'
                conn.sendall(b"E" + struct.pack("!i", len(fields) + 4) + fields)

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def bad_dsns(password_port: int) -> list[tuple[str | None, str]]:
    return [
        (None, f"the environment variable {DSN_ENV} (state.dsn_env) is not set"),
        ("host=127.0.0.1 password=pw-s3cret port", f"{DSN_ENV} is not a valid PostgreSQL DSN"),
        (
            "postgresql://ann:pw-s3cret@127.0.0.1:1/test?connect_timeout=5",
            f'from {DSN_ENV}): connection failed: connection to server at "127.0.0.1", port 1 '
            "failed: Connection refused",
        ),
        (
            f"host=127.0.0.1 port={password_port} user=ann password=pw-s3cret dbname=test "
            "sslmode=disable gssencmode=disable",
            "password authentication failed for user",
        ),
    ]


def test_bad_connections_are_one_clear_line_without_the_password(
    tmp_path: Path, pg_schema: str, refusing_password_server: int
) -> None:
    root = use_postgres(write_project(tmp_path / "p", ["a"], state=False), pg_schema)
    for dsn, expected in bad_dsns(refusing_password_server):
        for args in (["plan"], ["apply", "--auto-approve"], ["state", "init"]):
            result = run_cli(args, root, env={} if dsn is None else {DSN_ENV: dsn})
            assert result.returncode == 1, (args, dsn, result.stdout)
            assert result.stderr.count("\n") == 1, result.stderr
            assert result.stderr.startswith("error: "), result.stderr
            assert expected in result.stderr, result.stderr
            assert "pw-s3cret" not in result.stdout + result.stderr
            assert "Traceback" not in result.stderr


# --- no silent fresh start, state init -------------------------------------------------


def test_apply_refuses_without_a_state_and_state_init_starts_one(
    tmp_path: Path, pg_schema: str
) -> None:
    root = use_postgres(write_project(tmp_path / "p", ["a"], state=False), pg_schema, "prod")
    planned = run_cli(["plan"], root, env=pg_env())
    refused = run_cli(["apply", "--auto-approve"], root, env=pg_env())
    assert planned.returncode == 0
    assert "warning: there is no state at workspace 'prod' in PostgreSQL" in planned.stderr
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        "error: apply refused: there is no state at workspace 'prod' in PostgreSQL (user=postgres"
    )
    assert "`dialogops state init`" in refused.stderr
    assert not backend(pg_schema, "prod").exists()

    started = run_cli(["state", "init", "--workspace", "prod"], root, env=pg_env())
    again = run_cli(["state", "init"], root, env=pg_env())
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("started an empty state at workspace 'prod'")
    assert "already exists (0 campaign(s), serial 1" in again.stdout
    assert backend(pg_schema, "prod").read().serial == 1


# --- moving a state --------------------------------------------------------------------


def test_a_state_moved_file_to_postgres_to_file_keeps_everything(
    tmp_path: Path, pg_schema: str
) -> None:
    root = write_project(tmp_path / "p", ["a"])
    local = LocalBackend(root / "dialogops.state.json")
    with local.lock("test") as lock:
        state = lock.read()
        for n in range(1, 6):
            state = lock.write(state.put(created(f"c{n}", n)))
        replaced = msgspec.structs.replace(
            created("c1", 9), history=superseded(state.campaigns["c1"], "2099-02-01T00:00:00Z")
        )
        state = lock.write(state.put(replaced))
    original = local.read()
    pg_config = tmp_path / "pg.yaml"
    pg_config.write_text(
        f"state: {{backend: postgres, dsn_env: {DSN_ENV}, schema: {pg_schema}, workspace: w}}\n"
    )
    back_config = tmp_path / "back" / "dialogops.yaml"
    back_config.parent.mkdir()
    back_config.write_text("state: {path: moved.state.json}\n")

    pushed = run_cli(["state", "migrate", "--to-config", str(pg_config)], root, env=pg_env())
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.startswith("copied the state (5 campaign(s), serial 7, lineage ")
    assert backend(pg_schema, "w").read() == original
    again = run_cli(["state", "migrate", "--to-config", str(pg_config)], root, env=pg_env())
    assert "already holds this state" in again.stdout

    pulled = run_cli(
        ["state", "migrate", "--config", str(pg_config), "--to-config", str(back_config)],
        root,
        env=pg_env(),
    )
    assert pulled.returncode == 0, pulled.stderr
    moved = LocalBackend(back_config.parent / "moved.state.json").read()
    assert moved == original
    assert moved.campaigns["c1"].history[0].id == 1


def test_migrate_refuses_another_lineage_or_a_newer_state(tmp_path: Path, pg_schema: str) -> None:
    root = write_project(tmp_path / "p", ["a"])
    other = tmp_path / "other" / "dialogops.yaml"
    other.parent.mkdir()
    other.write_text(
        f"state: {{backend: postgres, dsn_env: {DSN_ENV}, schema: {pg_schema}, workspace: w}}\n"
    )
    with backend(pg_schema, "w").lock("test") as lock:
        lock.write(lock.read())
    refused = run_cli(["state", "migrate", "--to-config", str(other)], root, env=pg_env())
    assert refused.returncode == 1
    assert "holds another state (lineage " in refused.stderr
    assert "refusing to overwrite it" in refused.stderr
