"""SIGKILL during apply, at ten different moments: no campaign is ever created twice.

After each kill the state file must parse; the test then does what a user would: clear the
dead process's lock, resolve each unknown campaign by looking it up "in the UI" (the
sandbox's database), and run apply again.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dialogops.cli import main
from dialogops.sandbox import SandboxServer
from dialogops.state import LocalBackend, loads
from tests.conftest import child_env, run_cli, wait_for
from tests.samples import api_env, write_project

NAMES = [f"c{i:02d}" for i in range(20)]

# When to kill: after N seconds; after N create requests reached the server in this run
# (sent, not yet stored); after N campaigns were stored in this run.
MOMENTS = [
    ("seconds", 0.3),
    ("requests", 1),
    ("stored", 1),
    ("stored", 2),
    ("requests", 3),
    ("stored", 3),
    ("stored", 1),
    ("requests", 2),
    ("stored", 4),
    ("stored", 2),
]


def create_requests(sandbox: SandboxServer) -> int:
    return sum(1 for r in sandbox.requests if r.path == "/api/campaigns")


def start_apply(root: Path, sandbox: SandboxServer) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dialogops", "apply", "--auto-approve", "--parallelism", "4"],
        cwd=root,
        env=child_env(api_env(sandbox)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_at(proc: subprocess.Popen[bytes], sandbox: SandboxServer, kind: str, count: float) -> None:
    requests, stored = create_requests(sandbox), len(sandbox.campaigns())
    started = time.monotonic()
    while proc.poll() is None and time.monotonic() - started < 60:
        if kind == "seconds" and time.monotonic() - started >= count:
            break
        if kind == "requests" and create_requests(sandbox) >= requests + count:
            break
        if kind == "stored" and len(sandbox.campaigns()) >= stored + count:
            break
        time.sleep(0.005)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()


def wait_until_served(sandbox: SandboxServer) -> None:
    """Wait for the server to finish the requests the killed process left in flight.

    A user checks the UI after the fact; checking while a create is still being handled
    would wrongly show it as absent.
    """
    httpd = sandbox._httpd
    wait_for(lambda: httpd is None or not httpd.open_sockets, "the sandbox's open requests", 30)


def dialogops(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Run a dialogops command in this process, from the project folder; it must succeed.

    The real command line, without the start-up of a child process: a run resolves a dozen
    entries or more, and the apply runs killed above are what must be separate processes.
    """
    code = main(args)
    assert code == 0, capsys.readouterr().err


def resolve_like_a_user(
    root: Path, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    """Clear the dead lock; import each unknown campaign found on the server, forget the rest.

    Returns the commands run, e.g. `import c03 1004`.
    """
    dialogops(["state", "unlock"], capsys)
    state = LocalBackend(root / "dialogops.state.json").read()
    on_server = {c.name: c.id for c in sandbox.campaigns()}
    commands: list[str] = []
    for name, entry in state.campaigns.items():
        if not entry.outcome_unknown:
            continue
        if name in on_server:
            command = ["import", name, str(on_server[name])]
        else:
            command = ["state", "rm", name]
        dialogops(command, capsys)
        commands.append(" ".join(command))
    return commands


def test_killed_applies_never_create_a_campaign_twice(
    tmp_path: Path,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = write_project(tmp_path / "p", NAMES)
    monkeypatch.chdir(root)
    sandbox.faults.update(latency=0.25)
    state_file = root / "dialogops.state.json"
    killed_with_state = 0
    resolutions: list[str] = []

    for kind, count in MOMENTS:
        kill_at(start_apply(root, sandbox), sandbox, kind, count)
        wait_until_served(sandbox)

        if state_file.exists():
            json.loads(state_file.read_text("utf-8"))
            LocalBackend(state_file).read()  # parses and matches the schema
            backup = state_file.with_name(state_file.name + ".backup")
            if backup.exists():
                loads(backup.read_text("utf-8"), str(backup))
            killed_with_state += 1
        assert max(sandbox.creates_by_name().values(), default=0) <= 1
        resolutions += resolve_like_a_user(root, sandbox, capsys)

    final = run_cli(["apply", "--auto-approve"], root, env=api_env(sandbox))

    assert final.returncode == 0, final.stdout + final.stderr
    assert sandbox.creates_by_name() == dict.fromkeys(NAMES, 1)
    entries = LocalBackend(state_file).read().campaigns
    assert {n: e.id for n, e in entries.items()} == {c.name: c.id for c in sandbox.campaigns()}
    # The kills really landed mid-apply: creates were cut off with their outcome unknown.
    assert killed_with_state >= 8
    assert any(r.startswith("import ") for r in resolutions), resolutions
