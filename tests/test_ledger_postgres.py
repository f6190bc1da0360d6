"""The contact ledger on the postgres backend: its tables in the state's schema, written in
the same transaction as the state entries they go with (as the team-state tests, these run
against the real PostgreSQL and, with CI=true, never skip)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dialogops.commands.wiring import ledger_store
from dialogops.config import load_config
from dialogops.sandbox import SandboxServer
from tests.conftest import CliResult, child_env, run_cli, wait_for
from tests.ledger_samples import KEY_ENV, ledger_project, put, sent_phones
from tests.postgres import DSN_ENV, PG_DSN, connect, pg_env, use_postgres
from tests.samples import api_env, phone

ENV = pg_env() | KEY_ENV


def pg_project(tmp_path: Path, schema: str, config: str = "") -> Path:
    root = use_postgres(ledger_project(tmp_path / "p", config, state=False), schema)
    assert run_cli(["state", "init"], root, env=ENV).returncode == 0
    return root


def apply(root: Path, sandbox: SandboxServer, *args: str) -> CliResult:
    return run_cli(["apply", "--auto-approve", *args], root, env=api_env(sandbox) | ENV)


def entries(root: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, object]]:
    monkeypatch.setenv(DSN_ENV, PG_DSN)
    from dialogops.state import backend_for

    state = backend_for(load_config(None, root)).read()
    return {n: {"fingerprint": e.fingerprint, "id": e.id} for n, e in state.campaigns.items()}


def ledger_agrees_with_state(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DSN_ENV, PG_DSN)
    state = entries(root, monkeypatch)
    with ledger_store(load_config(None, root)) as ledger:
        campaigns = ledger.campaigns()
    assert {c.name for c in campaigns} == set(state)
    for campaign in campaigns:
        assert campaign.fingerprint == state[campaign.name]["fingerprint"]
        assert campaign.campaign_id == state[campaign.name]["id"]


def test_caps_skip_and_only_new_on_postgres_store_no_number(
    tmp_path: Path, sandbox: SandboxServer, pg_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = pg_project(tmp_path, pg_schema, "policy:\n  frequency: {per_day: 1}\n")
    put(root, "a-first", list(range(100)))
    put(root, "b-second", list(range(90, 190)))

    planned = run_cli(["plan"], root, env=ENV)
    assert planned.returncode == 1
    assert "frequency: 10 over per_day 1, apply refuses" in planned.stdout
    put(root, "b-second", list(range(90, 190)), phones_extra="on_frequency: skip")
    assert apply(root, sandbox).returncode == 0
    assert sent_phones(sandbox, "b-second") == [phone(i) for i in range(100, 190)]
    again = run_cli(["plan"], root, env=ENV)
    assert again.returncode == 0 and "0 to create, 2 unchanged" in again.stdout
    ledger_agrees_with_state(root, monkeypatch)

    put(root, "a-first", [*range(100), 500], revision=2, phones_extra="only_new: true")
    assert apply(root, sandbox).returncode == 0
    assert sent_phones(sandbox, "a-first") == [phone(500)]
    stats = run_cli(["ledger", "stats"], root, env=ENV)
    assert stats.stdout.splitlines()[1].split() == ["2099-12", "3", "191", "191"]

    with connect() as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name LIKE 'ledger%%' ORDER BY 1",
            (pg_schema,),
        ).fetchall()
        dump = b"".join(
            bytes(str(row), "utf-8") + (row[0] if isinstance(row[0], bytes) else b"")
            for table in ("ledger_campaigns", "ledger_recipients", "ledger_left_out", "entries")
            for row in conn.execute(f'SELECT * FROM "{pg_schema}".{table}').fetchall()
        )
    assert [t for (t,) in tables] == ["ledger_campaigns", "ledger_left_out", "ledger_recipients"]
    for i in [*range(190), 500]:
        number = phone(i)
        for form in (number, number[1:], number[2:]):
            assert form.encode() not in dump


def test_sigkill_during_apply_on_postgres_leaves_ledger_and_state_in_agreement(
    tmp_path: Path, sandbox: SandboxServer, pg_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = pg_project(tmp_path, pg_schema, "policy:\n  frequency: {per_day: 3}\n")
    for n, name in enumerate(["a1", "a2", "a3", "a4"]):
        put(root, name, list(range(10 * n, 10 * n + 20)))
    sandbox.faults.update(status=422, status_count=1)  # a1 is refused: no entries may stay
    assert apply(root, sandbox, "--target", "a1").returncode == 1
    sent_before = len(sandbox.requests)
    sandbox.faults.update(latency=30.0)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dialogops", "apply", "--auto-approve", "--parallelism", "2"],
        cwd=root,
        env=child_env(api_env(sandbox) | ENV),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: len(sandbox.requests) >= sent_before + 2, "two creates in flight")

    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)

    # Nothing has run since: the ledger agrees because it was written in the same
    # transactions as the state, not because a later command reconciled it.
    assert len(entries(root, monkeypatch)) == 2
    ledger_agrees_with_state(root, monkeypatch)
