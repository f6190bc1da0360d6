"""No token or password in any output, log, state or plan file, even with `-v`."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogops.sandbox import SandboxServer
from tests.conftest import run_cli
from tests.samples import write_project

TOKEN = "tok-Qz7xW2secretKf9"
LOGIN = "ops-robot"
PASSWORD = "pw-Vr4!secret%Lm8"


def leaks(root: Path, outputs: list[str], secrets: list[str]) -> list[str]:
    """Every place (an output, or a file under the project) where a secret appears."""
    places = {f"output {i}": text for i, text in enumerate(outputs)}
    for path in root.rglob("*"):
        if path.is_file() and path.suffix != ".db":
            places[str(path.relative_to(root))] = path.read_text("utf-8", errors="replace")
    return [
        f"{secret!r} in {where}"
        for where, text in places.items()
        for secret in secrets
        if secret in text
    ]


@pytest.fixture
def distinctive_sandbox(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The sandbox accepting only TOKEN, and LOGIN/PASSWORD at /login."""
    monkeypatch.setattr(sandbox, "token", TOKEN)
    monkeypatch.setattr("dialogops.sandbox.server.SANDBOX_LOGIN", LOGIN)
    monkeypatch.setattr("dialogops.sandbox.server.SANDBOX_PASSWORD", PASSWORD)
    return sandbox


def test_token_never_appears_in_outputs_state_or_saved_plan(
    tmp_path: Path,
    distinctive_sandbox: SandboxServer,
) -> None:
    root = write_project(tmp_path / "p", ["alpha", "beta"])
    env = {"DIALOG_API_URL": distinctive_sandbox.url, "DIALOG_TOKEN": TOKEN}
    distinctive_sandbox.faults.update(status=422, status_count=1)

    saved = run_cli(["plan", "-v", "--out", "saved.plan"], root, env=env)
    rejected = run_cli(["apply", "-v", "--auto-approve", "--parallelism", "1"], root, env=env)
    applied = run_cli(["apply", "-v", "--auto-approve"], root, env=env)

    assert (saved.returncode, rejected.returncode, applied.returncode) == (0, 1, 0)
    assert "POST http://127.0.0.1" in rejected.stderr  # -v really logged the requests
    assert distinctive_sandbox.creates_by_name() == {"alpha": 1, "beta": 1}
    outputs = [r.stdout + r.stderr for r in (saved, rejected, applied)]
    assert leaks(root, outputs, [TOKEN]) == []


def test_login_and_password_flow_leaks_neither(
    tmp_path: Path,
    distinctive_sandbox: SandboxServer,
) -> None:
    root = write_project(tmp_path / "p", ["alpha"])
    env = {
        "DIALOG_API_URL": distinctive_sandbox.url,
        "DIALOG_LOGIN": LOGIN,
        "DIALOG_PASSWORD": PASSWORD,
    }

    applied = run_cli(["apply", "-v", "--auto-approve"], root, env=env)
    wrong = run_cli(
        ["apply", "-v", "--auto-approve"],
        write_project(tmp_path / "q", ["beta"]),
        env={**env, "DIALOG_PASSWORD": PASSWORD + "x"},
    )

    assert applied.returncode == 0, applied.stderr
    assert "/api/login" in applied.stderr and "/api/campaigns" in applied.stderr
    assert wrong.returncode == 1 and "HTTP 401" in wrong.stderr
    assert distinctive_sandbox.creates_by_name() == {"alpha": 1}
    outputs = [r.stdout + r.stderr for r in (applied, wrong)]
    assert leaks(tmp_path, outputs, [TOKEN, PASSWORD]) == []
