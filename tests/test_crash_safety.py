"""SIGKILL during apply, at twenty different moments, with each backend: no campaign is ever
created twice, and no kill needs a manual unlock.

After each kill the test does what a user would: resolve each unknown campaign by looking
it up "in the UI" (the sandbox's own record of creates), and run apply again. It never runs
`state unlock`: the lock died with the killed process (kernel lock, or database session).

The twenty moments are four runs of five kills, each run a project of its own, so that the
runs go side by side on the test workers instead of one after another. Each apply is a
process of its own, forked from a server that has imported dialogops once (the standard
library's forkserver), so forty kills do not pay Python's start and imports forty times.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.process
import os
import time
from pathlib import Path

import pytest

from dialogops.cli import main
from dialogops.config import load_config
from dialogops.sandbox import SandboxServer
from dialogops.state import Backend, backend_for
from tests.conftest import child_env, run_cli, wait_for
from tests.postgres import DSN_ENV, PG_DSN, use_postgres
from tests.samples import api_env, create_requests, write_project

NAMES = [f"c{i:02d}" for i in range(48)]

# When to kill: after N seconds; after N create requests reached the server in this run
# (sent, not yet stored); after N campaigns were stored in this run.
MOMENTS = [
    ("seconds", 0.3),
    ("requests", 1),
    ("stored", 1),
    ("stored", 2),
    ("requests", 3),
    ("stored", 3),
    ("seconds", 0.8),
    ("requests", 2),
    ("stored", 4),
    ("stored", 2),
    ("requests", 1),
    ("stored", 1),
    ("seconds", 1.2),
    ("requests", 4),
    ("stored", 3),
    ("stored", 1),
    ("requests", 2),
    ("stored", 2),
    ("seconds", 0.5),
    ("requests", 3),
]
RUNS = [MOMENTS[start : start + 5] for start in range(0, len(MOMENTS), 5)]


APPLY_OPTIONS = ("--parallelism", "4", "--lock-timeout", "10")


_FORKS = multiprocessing.get_context("forkserver")
_FORKS.set_forkserver_preload(["dialogops.cli", "dialogops.commands.apply", __name__])


def _apply(root: Path, env: dict[str, str]) -> None:
    """`dialogops apply` through its entry point, in a forked process, output discarded."""
    os.chdir(root)
    os.environ.clear()
    os.environ.update(env)
    discard = os.open(os.devnull, os.O_WRONLY)
    os.dup2(discard, 1)
    os.dup2(discard, 2)
    os._exit(main(["apply", "--auto-approve", *APPLY_OPTIONS]))


def start_apply(root: Path, env: dict[str, str]) -> multiprocessing.process.BaseProcess:
    process = _FORKS.Process(target=_apply, args=(root, child_env(env)))
    process.start()
    return process


def stored(sandbox: SandboxServer) -> int:
    return sum(sandbox.creates_by_name().values())


def kill_at(
    proc: multiprocessing.process.BaseProcess, sandbox: SandboxServer, kind: str, count: float
) -> bool:
    """Kill `proc` at the moment given; False if it had already ended by then.

    Polled every 10 ms: the sandbox answers each create 150 ms late, so a kill lands
    between the moment and the next answer."""
    requests, before = create_requests(sandbox), stored(sandbox)
    started = time.monotonic()
    while proc.is_alive() and time.monotonic() - started < 60:
        if kind == "seconds" and time.monotonic() - started >= count:
            break
        if kind == "requests" and create_requests(sandbox) >= requests + count:
            break
        if kind == "stored" and stored(sandbox) >= before + count:
            break
        time.sleep(0.01)
    alive = proc.is_alive()
    if alive:
        proc.kill()  # SIGKILL
    proc.join()
    return alive


def wait_until_served(sandbox: SandboxServer) -> None:
    """Wait for the server to finish the requests the killed process left in flight.

    A user checks the UI after the fact; checking while a create is still being handled
    would wrongly show it as absent.
    """
    httpd = sandbox._httpd
    wait_for(lambda: httpd is None or not httpd.open_sockets, "the sandbox's open requests", 30)


def dialogops(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Run a dialogops command in this process, from the project folder; it must succeed."""
    code = main(args)
    assert code == 0, capsys.readouterr().err


def resolve_like_a_user(
    backend: Backend, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    """Import each unknown campaign found on the server, forget the rest (no unlock first).

    Returns the commands run, e.g. `import c03 1004`.
    """
    on_server = {c.name: c.id for c in sandbox.campaigns()}
    commands: list[str] = []
    for name, entry in backend.read().campaigns.items():
        if not entry.outcome_unknown:
            continue
        command = (
            ["import", name, str(on_server[name])] if name in on_server else ["state", "rm", name]
        )
        # A killed session's lock may take the database a moment to notice: waited for.
        dialogops([*command, "--lock-timeout", "10"], capsys)
        commands.append(" ".join(command))
    return commands


@pytest.fixture(params=["file", "postgres"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The project, with its state in a file or in a PostgreSQL schema of its own, and the
    environment its commands need."""
    if request.param == "file":
        return write_project(tmp_path / "p", NAMES), {}
    schema = request.getfixturevalue("pg_schema")
    root = use_postgres(write_project(tmp_path / "p", NAMES, state=False), schema)
    assert run_cli(["state", "init"], root, env={DSN_ENV: PG_DSN}).returncode == 0
    return root, {DSN_ENV: PG_DSN}


@pytest.mark.slow
@pytest.mark.parametrize("moments", RUNS, ids=[f"kills{n * 5 + 1}-{n * 5 + 5}" for n in range(4)])
def test_killed_applies_never_create_a_campaign_twice(
    moments: list[tuple[str, float]],
    project: tuple[Path, dict[str, str]],
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, env = project
    monkeypatch.chdir(root)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    backend = backend_for(load_config(None, root))
    sandbox.faults.update(latency=0.15)
    cut_off = 0  # kills that left a create's outcome unknown
    resolutions: list[str] = []

    for kind, count in moments:
        assert kill_at(start_apply(root, {**api_env(sandbox), **env}), sandbox, kind, count)
        wait_until_served(sandbox)
        assert max(sandbox.creates_by_name().values(), default=0) <= 1
        resolved = resolve_like_a_user(backend, sandbox, capsys)
        cut_off += bool(resolved)
        resolutions += resolved

    left = len(NAMES) - len(sandbox.campaigns())
    sandbox.faults.update(latency=0)  # nothing is killed now: the rest is created at once
    final = run_cli(["apply", "--auto-approve"], root, env={**api_env(sandbox), **env})

    assert final.returncode == 0, final.stdout + final.stderr
    assert sandbox.creates_by_name() == dict.fromkeys(NAMES, 1)
    entries = backend.read().campaigns
    assert {n: e.id for n, e in entries.items()} == {c.name: c.id for c in sandbox.campaigns()}
    # The kills really landed mid-apply: creates were cut off with their outcome unknown.
    assert cut_off >= 2, resolutions
    assert any(r.startswith("import ") for r in resolutions), resolutions
    if os.environ.get("DIALOGOPS_TEST_FIGURES"):
        print(
            f"\nfigures: {len(moments)} kills, {len(NAMES)} campaigns, {cut_off} kills cut "
            f"creates off, {len(resolutions)} resolved by hand "
            f"({sum(r.startswith('import ') for r in resolutions)} imported), creates per "
            f"campaign: {sorted(set(sandbox.creates_by_name().values()))}, {left} left to the "
            "last apply"
        )
