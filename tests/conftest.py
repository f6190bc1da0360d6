"""Shared fixtures: every test stays on loopback and inside tmp_path."""

from __future__ import annotations

import compileall
import contextlib
import io
import ipaddress
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from dialogops.render import canonical_json
from dialogops.sandbox import SandboxServer

_real_connect = socket.socket.connect


def pytest_configure(config: pytest.Config) -> None:
    """Bytecode kept, as without PYTHONDONTWRITEBYTECODE (set on this project's runners).

    The package is compiled once, before any test starts a `dialogops` process: pip compiles
    an installed package's bytecode, but an editable install run under that setting has
    none, so every command a test starts would compile each module it imports again (0.15 s
    of CPU per command). And each process keeps the test modules as pytest rewrote their
    asserts, which it otherwise does anew in every worker of every run (2 s of CPU each)."""
    sys.dont_write_bytecode = False
    if not hasattr(config, "workerinput"):
        compileall.compile_dir(Path(__file__).parents[1] / "dialogops", quiet=1)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Two workers per usable core for `-n auto`: most of the slow tests' time is a command
    starting in a subprocess or a sandbox answering late, which leaves the core to a second
    worker meanwhile."""
    return 2 * len(os.sched_getaffinity(0))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deal the tests marked `slow` out to the workers, each at the head of a worker's share.

    `--dist worksteal` first hands each worker one contiguous slice of the collection (sizes
    as below), and an idle worker later steals the tail of the longest queue. In collection
    order a third of the slow tests' time (the SIGKILL loops, the pre-commit hooks) fell in
    one slice, and at its head nobody could steal them: one worker ran them one after another
    while the others had finished. Only the order changes: every test still runs."""
    workers = getattr(config, "workerinput", {}).get("workercount", 1)
    if workers < 2:
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    fast = [item for item in items if not item.get_closest_marker("slow")]
    ordered: list[pytest.Item] = []
    pending = len(items)
    for worker in range(workers):
        share = pending // (workers - worker)  # as worksteal's first `check_schedule`
        pending -= share
        heads = slow[worker::workers]
        taken = max(0, share - len(heads))
        ordered += heads + fast[:taken]
        del fast[:taken]
    items[:] = ordered + fast


def _loopback_only(self: socket.socket, address: object) -> None:
    if isinstance(address, tuple):
        host = str(address[0])
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise RuntimeError(f"test tried to reach {host}: only loopback is allowed")
    _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
    for name in ("DIALOG_TOKEN", "DIALOG_LOGIN", "DIALOG_PASSWORD", "DIALOG_API_URL"):
        monkeypatch.delenv(name, raising=False)
    # Annotations name files relative to it: a test run inside GitHub Actions must not see it.
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    yield


def upload(body: object) -> tuple[io.BytesIO, int]:
    """A create body as `DialogClient.create_campaign` takes it: its JSON, and the size."""
    data = canonical_json(body)
    return io.BytesIO(data), len(data)


def child_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without DIALOG_* credentials, plus `env`, colour off."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DIALOG")}
    full_env.update(env or {})
    full_env.setdefault("NO_COLOR", "1")
    full_env.setdefault("COLUMNS", "200")
    return full_env


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@dataclass(frozen=True)
class CliResult:
    """What an in-process run printed and returned, shaped like `subprocess.CompletedProcess`."""

    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def _as_a_user_would(cwd: Path, env: dict[str, str] | None) -> Iterator[None]:
    """The working directory and environment of `run_dialogops`, restored afterwards."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(child_env(env))
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def run_cli(
    args: Sequence[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> CliResult:
    """Run `dialogops` in this process through its own entry point and error boundary.

    Same arguments and result shape as `run_dialogops`, without the cost of a new Python;
    keep `run_dialogops` for what needs a process: signals, kills, the installed command.
    """
    from dialogops.cli import main

    stdin = io.TextIOWrapper(io.BytesIO((input or "").encode("utf-8")), encoding="utf-8")
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
    stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
    with (
        _as_a_user_would(cwd, env),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        saved_stdin, sys.stdin = sys.stdin, stdin
        try:
            code = main(list(args))
        finally:
            sys.stdin = saved_stdin
    texts = []
    for stream in (stdout, stderr):
        stream.flush()
        buffer = stream.buffer
        assert isinstance(buffer, io.BytesIO)
        texts.append(buffer.getvalue().decode("utf-8"))
    return CliResult(code, texts[0], texts[1])


def check_jsonschema(schema: Path, *instances: Path) -> CliResult:
    """The stock validator, `check-jsonschema --schemafile SCHEMA FILE...`, in this process."""
    from check_jsonschema import main
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["--schemafile", str(schema), *map(str, instances)])
    return CliResult(result.exit_code, result.stdout, result.stderr)


def run_dialogops(
    args: Sequence[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the real `dialogops` command in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "dialogops", *args],
        cwd=cwd,
        env=child_env(env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    """A started sandbox on an ephemeral loopback port, its database in tmp_path."""
    with SandboxServer(tmp_path / "sandbox" / "sandbox.db") as server:
        yield server


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A schema of its own in the test PostgreSQL, dropped afterwards (see tests/postgres.py)."""
    from tests.postgres import new_schema

    yield from new_schema()
