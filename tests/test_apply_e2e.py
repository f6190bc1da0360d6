"""`dialogops apply` run as a user runs it, against the sandbox over HTTP.

The sandbox lives in the pytest process so each test can inject a fault and count exactly
what the server received; the command finds it through DIALOG_API_URL / DIALOG_TOKEN. Most
runs go through the CLI's entry point in this process; signals, a second process holding
the lock and the terminal need a process of their own.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dialogops.sandbox import SandboxServer
from tests.conftest import CliResult, child_env, run_cli, wait_for
from tests.samples import (
    api_env,
    example_project,
    manifest,
    read_state,
    state_as_started,
    write_project,
)


def creates(sandbox: SandboxServer) -> list[str]:
    """The campaign names of every create request the server received, in order."""
    return [r.body["campaign"]["name"] for r in sandbox.requests if r.path == "/api/campaigns"]


def apply(root: Path, sandbox: SandboxServer, *args: str) -> CliResult:
    return run_cli(["apply", "--auto-approve", *args], root, env=api_env(sandbox))


EXAMPLE_BODY: dict[str, Any] = {
    "campaign": {
        "project_id": 1,
        "name": "Обзвон клиентов",
        "description": "Опрос удовлетворенности",
        "start_block_id": 10,
        "schedule": {
            "date": "2099-12-01",
            "start_time": "09:00",
            "end_time": "17:00",
            "periods": {"id": 1, "title": "Однократно"},
            "attempts": {"id": 3, "title": "3"},
            "interval": "5",
        },
        "state": "Создано",
        "phone_id": 5,
    },
    "phones": [
        {
            "phone": "+79991234567",
            "add_data": {
                "name": "Иванов Иван",
                "time": "10:00",
                "contract": 1001,
                "source": "nps-survey",
            },
        },
        # Her slot cell is empty: the example's `default('10:00', true)` fills it.
        {
            "phone": "+79991234568",
            "add_data": {
                "name": "Петрова Анна",
                "time": "10:00",
                "contract": 1002,
                "source": "nps-survey",
            },
        },
        {
            "phone": "+79991234569",
            "add_data": {
                "name": "Сидоров Пётр",
                "time": "11:30",
                "contract": 1003,
                "source": "nps-survey",
            },
        },
    ],
}


def test_apply_the_example_project_then_nothing_more(
    tmp_path: Path,
    sandbox: SandboxServer,
) -> None:
    root = example_project(tmp_path)

    first = apply(root, sandbox)

    assert first.returncode == 0, first.stderr
    [stored] = sandbox.campaigns()
    assert stored.body == EXAMPLE_BODY
    assert f"+ created nps-2099-12 (id {stored.id})" in first.stdout
    assert f"nps-2099-12: id {stored.id}" in first.stdout
    entry = read_state(root)["campaigns"]["nps-2099-12"]
    assert (entry["status"], entry["id"], entry["phones"]) == ("created", stored.id, 3)
    assert stat.S_IMODE((root / "dialogops.state.json").stat().st_mode) == 0o600
    assert not (root / "dialogops.state.json.lock").read_text()  # no holder

    # Nothing left to do needs no credentials and sends nothing.
    second = run_cli(["apply", "--auto-approve"], root)
    assert second.returncode == 0, second.stderr
    assert "Nothing to create." in second.stdout
    assert creates(sandbox) == ["Обзвон клиентов"]
    plan = run_cli(["plan", "--detailed-exitcode", "--format", "json"], root)
    assert plan.returncode == 0, plan.stderr
    assert [c["status"] for c in json.loads(plan.stdout)["campaigns"]] == ["unchanged"]


def test_without_a_terminal_apply_refuses_unless_auto_approved(
    tmp_path: Path,
    sandbox: SandboxServer,
) -> None:
    root = example_project(tmp_path)

    result = run_cli(["apply"], root, env=api_env(sandbox), input="yes\n")

    assert result.returncode == 1
    assert "error: apply needs confirmation: there is no terminal" in result.stderr
    assert "Traceback" not in result.stderr
    assert sandbox.requests == []
    assert state_as_started(root)


def test_sandbox_flag_keeps_its_own_state_and_never_touches_the_real_one(tmp_path: Path) -> None:
    root = example_project(tmp_path)

    first = run_cli(["apply", "--sandbox", "--auto-approve"], root)
    second = run_cli(["apply", "--sandbox", "--auto-approve"], root)

    assert first.returncode == 0, first.stderr
    assert "+ created nps-2099-12 (id " in first.stdout
    assert second.returncode == 0 and "Nothing to create." in second.stdout
    sandbox_state = json.loads((root / ".dialogops" / "sandbox.state.json").read_text("utf-8"))
    assert sandbox_state["campaigns"]["nps-2099-12"]["status"] == "created"
    assert state_as_started(root)


@pytest.mark.parametrize("status", [400, 422])
def test_a_rejected_create_is_forgotten_and_the_message_shown(
    tmp_path: Path,
    sandbox: SandboxServer,
    status: int,
) -> None:
    root = write_project(tmp_path / "p", ["alpha"])
    sandbox.faults.update(status=status, status_count=1)

    result = apply(root, sandbox)

    assert result.returncode == 1
    assert (
        f"x failed alpha: creating the campaign: HTTP {status}: sandbox fault: injected"
        in result.stdout
    )
    assert "0 created, 1 failed" in result.stdout
    assert read_state(root)["campaigns"] == {}
    again = apply(root, sandbox)
    assert again.returncode == 0 and sandbox.creates_by_name() == {"alpha": 1}


def test_unauthorized_stops_all_further_creates(tmp_path: Path, sandbox: SandboxServer) -> None:
    root = write_project(tmp_path / "p", ["alpha", "beta", "gamma"])

    result = run_cli(
        ["apply", "--auto-approve", "--parallelism", "1"],
        root,
        env={"DIALOG_API_URL": sandbox.url, "DIALOG_TOKEN": "wrong-token"},
    )

    assert result.returncode == 1
    assert "x failed alpha: creating the campaign: HTTP 401" in result.stdout
    assert "- skipped beta: not started: the API refused the credentials" in result.stdout
    assert "0 created, 1 failed, 2 skipped" in result.stdout
    assert creates(sandbox) == ["alpha"]
    assert read_state(root)["campaigns"] == {}


def opt_in_to_retry_503(root: Path) -> None:
    config = root / "dialogops.yaml"
    config.write_text(
        config.read_text("utf-8").replace("api:\n", "api:\n  retry_503: true\n"), encoding="utf-8"
    )


@pytest.mark.parametrize("status", [429, 503])
def test_retry_later_is_retried_and_created_once(
    tmp_path: Path,
    sandbox: SandboxServer,
    status: int,
) -> None:
    root = write_project(tmp_path / "p", ["alpha"])
    if status == 503:
        opt_in_to_retry_503(root)
    sandbox.faults.update(status=status, status_count=2, retry_after=0.2)

    result = apply(root, sandbox)

    assert result.returncode == 0, result.stdout + result.stderr
    assert creates(sandbox) == ["alpha"] * 3
    assert sandbox.creates_by_name() == {"alpha": 1}
    assert read_state(root)["campaigns"]["alpha"]["status"] == "created"


def test_a_503_with_retry_after_is_unknown_by_default_so_a_stored_campaign_is_not_made_twice(
    tmp_path: Path,
    sandbox: SandboxServer,
) -> None:
    root = write_project(tmp_path / "p", ["alpha"])
    sandbox.faults.update(status=503, status_count=1, retry_after=0.1, status_after_store=True)

    result = apply(root, sandbox)

    assert result.returncode == 1
    assert "? unknown alpha: creating the campaign: HTTP 503" in result.stdout
    assert "0 created, 1 unknown" in result.stdout
    assert sandbox.creates_by_name() == {"alpha": 1}
    assert read_state(root)["campaigns"]["alpha"]["status"] == "unknown"
    again = apply(root, sandbox)
    assert again.returncode == 1 and "alpha: unknown" in again.stderr
    assert sandbox.creates_by_name() == {"alpha": 1}


@pytest.mark.parametrize("answer", [0, -5, "12", 10**30])
def test_an_id_that_is_not_a_positive_integer_is_unknown_never_pending(
    tmp_path: Path,
    sandbox: SandboxServer,
    answer: object,
) -> None:
    root = write_project(tmp_path / "p", ["alpha"])
    sandbox.faults.update(answer_id=answer, answer_id_count=1)

    result = apply(root, sandbox)

    assert result.returncode == 1
    assert (
        "? unknown alpha: creating the campaign: HTTP 200 without a campaign.id that is a "
        "positive integer" in result.stdout
    )
    assert read_state(root)["campaigns"]["alpha"]["status"] == "unknown"
    # The hint is runnable as printed once the user puts in the ID the Dialog UI shows.
    assert "dialogops import alpha ID" in result.stdout
    [stored] = sandbox.campaigns()
    imported = run_cli(["import", "alpha", "--", str(stored.id)], root)
    assert imported.returncode == 0, imported.stderr
    entry = read_state(root)["campaigns"]["alpha"]
    assert (entry["status"], entry["id"], entry["phones"]) == ("created", stored.id, 2)


def test_an_id_already_recorded_for_another_campaign_is_unknown(
    tmp_path: Path,
    sandbox: SandboxServer,
) -> None:
    root = write_project(tmp_path / "p", ["alpha", "beta"])
    assert apply(root, sandbox, "--target", "alpha").returncode == 0
    alpha_id = read_state(root)["campaigns"]["alpha"]["id"]
    sandbox.faults.update(answer_id=alpha_id, answer_id_count=1)

    result = apply(root, sandbox)

    assert result.returncode == 1
    assert (
        f"? unknown beta: the server answered with ID {alpha_id}, which state already "
        "records for campaign 'alpha'"
    ) in result.stdout
    campaigns = read_state(root)["campaigns"]
    assert campaigns["beta"]["status"] == "unknown" and "id" not in campaigns["beta"]
    assert campaigns["alpha"]["id"] == alpha_id


def test_a_lost_state_with_its_backup_left_is_refused_by_plan_and_apply(
    tmp_path: Path,
    sandbox: SandboxServer,
) -> None:
    root = write_project(tmp_path / "p", ["alpha", "beta"])
    assert apply(root, sandbox, "--target", "alpha").returncode == 0
    assert apply(root, sandbox, "--target", "beta").returncode == 0
    (root / "dialogops.state.json").unlink()

    for command in (["plan"], ["apply", "--auto-approve"]):
        result = run_cli(command, root, env=api_env(sandbox))
        assert result.returncode == 1
        assert "dialogops.state.json.backup does: the state was lost" in result.stderr
        assert "Traceback" not in result.stderr
    assert sandbox.creates_by_name() == {"alpha": 1, "beta": 1}


def test_import_names_a_clear_error_for_an_id_that_cannot_be_one(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", ["alpha"])
    # "²" is a digit to str.isdigit() and not to int(); a 5,000-digit ID is past what
    # int() reads: both crashed before.
    ids = ["-5", "12x", "²", "9" * 5000, str(2**63)]
    for args in (["alpha", "--", "-5"], *(["alpha", i] for i in ids)):
        result = run_cli(["import", *args], root)
        assert result.returncode == 1
        shown = f"{args[-1][:30]!r}..." if len(args[-1]) > 30 else repr(args[-1])
        assert f"{shown} is not a campaign ID: IDs are whole numbers" in result.stderr
        assert "No such option" not in result.stderr


AMBIGUOUS = {
    "500": {"status": 500, "status_count": 1},
    "timeout-after-store": {"timeout_after_store": 3.0},
    "dropped-after-store": {"drop": "after_store", "drop_count": 1},
    "malformed-200": {"malformed_count": 1},
}


@pytest.mark.parametrize("fault", AMBIGUOUS.values(), ids=AMBIGUOUS.keys())
def test_an_ambiguous_outcome_is_unknown_never_resent_and_blocks_until_resolved(
    tmp_path: Path,
    sandbox: SandboxServer,
    fault: dict[str, Any],
) -> None:
    root = write_project(tmp_path / "p", ["alpha"], timeout=1)
    sandbox.faults.update(**fault)

    result = apply(root, sandbox)

    assert result.returncode == 1
    assert "? unknown alpha: " in result.stdout
    assert "was NOT resent" in result.stdout
    assert (
        "dialogops import alpha ID" in result.stdout and "dialogops state rm alpha" in result.stdout
    )
    assert read_state(root)["campaigns"]["alpha"]["status"] == "unknown"
    sandbox.faults.update(status=None, timeout_after_store=0.0)

    plan = run_cli(["plan"], root)
    assert plan.returncode == 1
    assert "dialogops import alpha ID" in plan.stdout + plan.stderr
    assert "dialogops state rm alpha" in plan.stdout + plan.stderr
    again = apply(root, sandbox)
    assert again.returncode == 1
    assert "apply refused" in again.stderr and "alpha: unknown" in again.stderr
    assert creates(sandbox) == ["alpha"]

    # The user looks in the UI: it exists (or not), and says so.
    stored = {c.name: c.id for c in sandbox.campaigns()}
    if "alpha" in stored:
        resolved = run_cli(["import", "alpha", str(stored["alpha"])], root)
    else:
        resolved = run_cli(["state", "rm", "alpha"], root)
    assert resolved.returncode == 0, resolved.stderr
    final = apply(root, sandbox)
    assert final.returncode == 0, final.stderr
    assert sandbox.creates_by_name() == {"alpha": 1}


def test_no_credentials_when_something_must_be_created_is_a_clear_error(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", ["alpha"])

    result = run_cli(["apply", "--auto-approve"], root)

    assert result.returncode == 1
    assert "error: no Dialog API credentials: set DIALOG_TOKEN" in result.stderr
    assert state_as_started(root)


def test_a_saved_plan_is_applied_and_a_second_run_sends_nothing(
    tmp_path: Path,
    sandbox: SandboxServer,
) -> None:
    root = write_project(tmp_path / "p", ["alpha", "beta"])
    saved = run_cli(["plan", "--out", "alpha.plan", "--target", "alpha"], root)
    assert saved.returncode == 0, saved.stderr

    applied = run_cli(["apply", "--plan", "alpha.plan"], root, env=api_env(sandbox))
    state_after_first = (root / "dialogops.state.json").read_bytes()
    requests_after_first = len(sandbox.requests)
    again = run_cli(["apply", "--plan", "alpha.plan"], root, env=api_env(sandbox))

    assert applied.returncode == 0, applied.stderr
    assert creates(sandbox) == ["alpha"]
    alpha_id = read_state(root)["campaigns"]["alpha"]["id"]
    assert (again.returncode, again.stderr) == (0, "")
    assert again.stdout == f"already applied: alpha (id {alpha_id}); nothing was sent\n"
    assert len(sandbox.requests) == requests_after_first
    assert (root / "dialogops.state.json").read_bytes() == state_after_first


def test_a_malformed_saved_plan_is_one_error_line_naming_the_field(
    tmp_path: Path,
    sandbox: SandboxServer,
) -> None:
    root = write_project(tmp_path / "p", ["alpha"])
    saved = run_cli(["plan", "--out", "alpha.plan"], root)
    assert saved.returncode == 0, saved.stderr
    data = json.loads((root / "alpha.plan").read_text(encoding="utf-8"))
    data["campaigns"][0]["render"]["phones"] = "3"
    (root / "alpha.plan").write_text(json.dumps(data), encoding="utf-8")

    result = run_cli(["apply", "--plan", "alpha.plan"], root, env=api_env(sandbox))

    assert result.returncode == 1
    assert result.stderr == (
        "error: plan file alpha.plan is not a dialogops saved plan "
        "($.campaigns[0].render.phones: Expected `int`, got `str`)\n"
    )
    assert sandbox.requests == []


def popen_apply(root: Path, sandbox: SandboxServer, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dialogops", "apply", "--auto-approve", *args],
        cwd=root,
        env=child_env(api_env(sandbox)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_a_second_apply_waits_for_the_lock_then_fails_naming_the_holder(
    tmp_path: Path,
    sandbox: SandboxServer,
) -> None:
    root = write_project(tmp_path / "p", ["alpha", "beta"])
    sandbox.faults.update(latency=3.0)
    # A --var value may be a secret: the lock names the variable, not its value.
    first = popen_apply(root, sandbox, "--target", "alpha", "--var", "code=Secret-42")
    wait_for(lambda: len(creates(sandbox)) == 1, "the first apply's create")

    second = run_cli(
        ["apply", "--auto-approve", "--target", "beta", "--lock-timeout", "0.5"],
        root,
        env=api_env(sandbox),
    )
    third = popen_apply(root, sandbox, "--target", "beta", "--lock-timeout", "60")
    sandbox.faults.update(latency=0.0)
    first_out, first_err = first.communicate(timeout=60)
    third_out, third_err = third.communicate(timeout=60)

    assert second.returncode == 1
    assert f"error: state is locked by pid {first.pid} (" in second.stderr
    assert "`dialogops apply --auto-approve --var code=... --target alpha`" in second.stderr
    assert "Secret-42" not in second.stderr
    assert "(waited 0.5s)" in second.stderr
    assert first.returncode == 0, first_out + first_err
    assert third.returncode == 0, third_out + third_err
    assert sandbox.creates_by_name() == {"alpha": 1, "beta": 1}
    entries = read_state(root)["campaigns"]
    assert {n: e["status"] for n, e in entries.items()} == {"alpha": "created", "beta": "created"}
    assert read_state(root)["serial"] == 5  # started, then pending + created twice: none lost


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_first_ctrl_c_or_term_drains_creates_in_flight_and_saves(
    tmp_path: Path,
    sandbox: SandboxServer,
    signum: signal.Signals,
) -> None:
    # CI runners cancel a job with SIGTERM: it must leave state as tidy as Ctrl-C does.
    root = write_project(tmp_path / "p", ["a1", "a2", "a3", "a4", "a5", "a6"])
    sandbox.faults.update(latency=1.0)
    proc = popen_apply(root, sandbox, "--parallelism", "2")
    wait_for(lambda: len(creates(sandbox)) == 2, "two creates in flight")

    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)

    assert proc.returncode == 130, out + err
    assert "Interrupted: letting the creates already sent finish" in out
    assert "Apply interrupted: 2 created, 4 skipped." in out
    assert sorted(creates(sandbox)) == ["a1", "a2"]
    entries = read_state(root)["campaigns"]
    assert {n: e["status"] for n, e in entries.items()} == {"a1": "created", "a2": "created"}
    assert not (root / "dialogops.state.json.lock").read_text()  # no holder


def test_second_ctrl_c_exits_at_once_leaving_creates_in_flight_unknown(
    tmp_path: Path,
    sandbox: SandboxServer,
) -> None:
    root = write_project(tmp_path / "p", ["a1", "a2", "a3"])
    sandbox.faults.update(latency=5.0)
    proc = popen_apply(root, sandbox, "--parallelism", "2")
    wait_for(lambda: len(creates(sandbox)) == 2, "two creates in flight")

    proc.send_signal(signal.SIGINT)
    assert proc.stdout is not None
    seen = ""
    while "Press Ctrl-C again" not in seen:  # the first signal was handled
        line = proc.stdout.readline()
        assert line, f"apply ended before handling the first Ctrl-C: {seen}"
        seen += line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)

    assert proc.returncode == 130, out + err
    assert "Interrupted again: exiting now" in out
    entries = read_state(root)["campaigns"]
    assert {n: e["status"] for n, e in entries.items()} == {"a1": "pending", "a2": "pending"}
    assert not (root / "dialogops.state.json.lock").read_text()  # no holder
    plan = run_cli(["plan"], root)
    assert plan.returncode == 1
    assert "dialogops import a1 ID" in plan.stdout + plan.stderr


def run_on_terminal(root: Path, sandbox: SandboxServer, answer: str) -> tuple[int, str]:
    """Run `dialogops apply` on a pseudo-terminal, answer its question; (exit code, screen)."""
    primary, secondary = pty.openpty()
    env = child_env({**api_env(sandbox), "COLUMNS": "120", "LINES": "40", "TERM": "xterm"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "dialogops", "apply"],
        cwd=root,
        env=env,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    screen, answered = b"", False
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        screen += chunk
        if not answered and b"Only 'yes' is accepted:" in screen:
            os.write(primary, answer.encode() + b"\n")
            answered = True
    os.close(primary)
    return proc.wait(timeout=60), screen.decode("utf-8", errors="replace")


def test_on_a_terminal_apply_asks_and_shows_progress(
    tmp_path: Path,
    sandbox: SandboxServer,
) -> None:
    root = write_project(tmp_path / "p", ["alpha", "beta"])
    sandbox.faults.update(latency=0.3)

    code, screen = run_on_terminal(root, sandbox, "yes")

    assert code == 0, screen
    assert "Create 2 campaigns? Only 'yes' is accepted:" in screen
    assert "creating" in screen and "2/2" in screen  # the progress bar
    assert "Apply complete: 2 created." in screen
    assert "\x1b[32m" not in screen  # NO_COLOR is honoured
    assert sandbox.creates_by_name() == {"alpha": 1, "beta": 1}


def test_on_a_terminal_any_answer_but_yes_cancels(tmp_path: Path, sandbox: SandboxServer) -> None:
    root = write_project(tmp_path / "p", ["alpha"])

    code, screen = run_on_terminal(root, sandbox, "y")

    assert code == 1
    assert "error: apply cancelled: nothing was created" in screen
    assert sandbox.requests == []


def test_a_changed_campaign_is_refused_then_replaced_keeping_the_old_id(
    tmp_path: Path,
    sandbox: SandboxServer,
) -> None:
    root = write_project(tmp_path / "p", ["alpha", "beta"])
    assert apply(root, sandbox).returncode == 0
    old_id = read_state(root)["campaigns"]["alpha"]["id"]
    (root / "campaigns" / "alpha.yaml").write_text(
        manifest("alpha", ["+79995550000"]), encoding="utf-8"
    )

    refused = apply(root, sandbox)
    replaced = apply(root, sandbox, "--replace", "alpha")

    assert refused.returncode == 1
    assert (
        "alpha: changed; revert the change, or raise metadata.revision to 2 in "
        "campaigns/alpha.yaml to create a new campaign" in refused.stderr
    )
    assert replaced.returncode == 0, replaced.stderr
    entry = read_state(root)["campaigns"]["alpha"]
    assert entry["id"] != old_id and [h["id"] for h in entry["history"]] == [old_id]
    assert f"+ created alpha (id {entry['id']})" in replaced.stdout
    assert sorted(creates(sandbox)) == ["alpha", "alpha", "beta"]
