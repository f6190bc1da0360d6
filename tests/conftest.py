"""Shared fixtures: every test stays on loopback and inside tmp_path."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from dialogops.sandbox import SandboxServer

_real_connect = socket.socket.connect


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
    yield


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
