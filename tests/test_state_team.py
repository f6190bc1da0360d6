"""A team's state: runners side by side, and a database connection lost mid-apply.

Each apply is the real command in a process of its own, from its own copy of the project,
against one sandbox with latency; the sandbox's own record of creates is the judge.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dialogops.sandbox import SandboxServer
from tests.conftest import child_env, run_cli, wait_for
from tests.postgres import DSN_ENV, PG_DSN, connect, use_postgres
from tests.samples import api_env, create_requests, start_state, write_project

NAMES = [f"c{i}" for i in range(6)]


def start_apply(root: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dialogops", "apply", "--auto-approve", *extra],
        cwd=root,
        env=child_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(params=["file", "postgres"])
def two_runners(
    request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[list[Path], dict[str, str], tuple[str, ...]]:
    """Two copies of one project sharing one state, the environment and options they run with.

    postgres: one workspace in one database. file: one state file on this machine, named
    by both with --state.
    """
    roots = [write_project(tmp_path / name, NAMES, state=False) for name in ("one", "two")]
    if request.param == "file":
        shared = tmp_path / "shared.state.json"
        start_state(shared)
        return roots, {}, ("--state", str(shared))
    schema = request.getfixturevalue("pg_schema")
    for root in roots:
        use_postgres(root, schema, "prod")
    assert run_cli(["state", "init"], roots[0], env={DSN_ENV: PG_DSN}).returncode == 0
    return roots, {DSN_ENV: PG_DSN}, ()


@pytest.mark.slow
def test_two_runners_at_once_create_each_campaign_once(
    two_runners: tuple[list[Path], dict[str, str], tuple[str, ...]], sandbox: SandboxServer
) -> None:
    roots, env, options = two_runners
    sandbox.faults.update(latency=1.0)
    env = {**api_env(sandbox), **env}
    runs = [start_apply(root, env, *options, "--lock-timeout", "120") for root in roots]
    results = [(proc.wait(timeout=180), *proc.communicate()) for proc in runs]

    for code, out, err in results:
        assert code == 0, out + err
    assert sandbox.creates_by_name() == dict.fromkeys(NAMES, 1)
    outs = sorted((out for _code, out, _err in results), key=lambda out: "Nothing" in out)
    assert outs[0].count("+ created c") == len(NAMES)
    # The second waited for the lock, then planned against the first one's state.
    assert "Nothing to create." in outs[1]
    assert all(f"= {name}  unchanged" in outs[1] for name in NAMES), outs[1]
    if os.environ.get("DIALOGOPS_TEST_FIGURES"):
        print(f"\nfigures: 2 runners, {len(NAMES)} campaigns, {sandbox.creates_by_name()}")


@pytest.mark.slow
def test_a_connection_killed_mid_apply_stops_it_and_nothing_is_resent(
    tmp_path: Path, pg_schema: str, sandbox: SandboxServer
) -> None:
    root = use_postgres(write_project(tmp_path / "p", NAMES, state=False), pg_schema)
    env = {**api_env(sandbox), DSN_ENV: PG_DSN}
    assert run_cli(["state", "init"], root, env=env).returncode == 0
    sandbox.faults.update(latency=0.5)

    proc = start_apply(root, env, "--parallelism", "1")
    # The third create has reached the server, which takes 0.5 s to answer: it is in flight.
    wait_for(lambda: create_requests(sandbox) >= 3, "a third create sent")
    with connect() as conn:
        killed = conn.execute(
            f"SELECT pg_terminate_backend(backend_pid) FROM {pg_schema}.lock_holders"
        ).fetchall()
    out, err = proc.communicate(timeout=60)
    time.sleep(0.6)  # the create in flight is answered

    assert killed == [(True,)]
    assert proc.returncode == 1, out + err
    assert "Traceback" not in out + err
    assert "created with ID 1003, but the state could not be written (writing the state" in out
    sent = sandbox.creates_by_name()
    assert sent == {"c0": 1, "c1": 1, "c2": 1}

    again = run_cli(["apply", "--auto-approve"], root, env=env)
    assert again.returncode == 1
    assert "apply refused: resolve these campaigns first" in again.stderr
    assert "  c2: unknown; " in again.stderr
    assert sandbox.creates_by_name() == sent  # nothing resent, nothing new started
