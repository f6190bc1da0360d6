"""`dialogops state list|show|rm|unlock` and `dialogops import`, run as a user would.

In this process through the CLI's entry point, also where the test holds the state lock:
the lock is a file naming its holder's pid, so a command finds it held as another process
would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dialogops.state import LocalBackend, LockInfo, Replaced, State, StateEntry, dumps
from tests.conftest import run_cli

FP_A = "sha256:" + "a" * 64
FP_B = "sha256:" + "b" * 64

MANIFEST = """\
apiVersion: dialogops/v1
kind: Campaign
metadata:
  name: nps-2099-01
spec:
  project_id: 1
  title: Survey
  start_block_id: 10
  phone_id: 5
  schedule:
    date: 2099-01-15
    start_time: "10:00"
    end_time: "17:00"
  phones:
    inline: ["+79991234567", "8 (999) 123-45-68", "+79991234569"]
  add_data:
    name: "{{ vars.who }}"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "dialogops.yaml").write_text("manifests: [campaigns/]\n")
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / "nps.yaml").write_text(MANIFEST)
    return tmp_path


def backend(project: Path) -> LocalBackend:
    return LocalBackend(project / "dialogops.state.json")


def seed(project: Path, *entries: StateEntry) -> State:
    state = State(lineage="3f1c", serial=5)
    for entry in entries:
        state = state.put(entry)
    backend(project).path.write_text(dumps(state))
    return state


CREATED = StateEntry(
    "nps-2099-01",
    "created",
    FP_A,
    3,
    id=123,
    created_at="2099-01-01T08:00:00Z",
    history=(Replaced(99, FP_B, "2098-12-01T00:00:00Z", "2099-01-01T08:00:00Z"),),
)
UNKNOWN = StateEntry("welcome", "unknown", FP_B, 7, started_at="2099-01-02T09:30:00Z")


def stale_details(project: Path) -> LockInfo:
    """The details a killed holder leaves in the lock file: no lock without the holder."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    info = LockInfo(proc.pid, socket.gethostname(), "ci", "dialogops apply", "2099-01-01T00:00:00Z")
    backend(project).lock_path.write_text(json.dumps(info.__dict__))
    return info


# --- list / show ------------------------------------------------------------------------


def test_list_shows_a_table_of_entries(project: Path) -> None:
    seed(project, CREATED, UNKNOWN)
    result = run_cli(["state", "list"], project)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "status", "id", "phones", "created"]
    assert lines[1].split() == ["nps-2099-01", "created", "123", "3", "2099-01-01T08:00:00Z"]
    assert lines[2].split() == ["welcome", "unknown", "-", "7", "-"]
    assert lines[3] == f"2 campaign(s), serial 5, {project / 'dialogops.state.json'}"


def test_list_of_an_empty_state(project: Path) -> None:
    result = run_cli(["state", "list"], project)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"no campaigns in state ({project / 'dialogops.state.json'})\n"
    assert not (project / "dialogops.state.json").exists()


def test_list_as_json(project: Path) -> None:
    seed(project, UNKNOWN, CREATED)
    result = run_cli(["state", "list", "--format", "json"], project)
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    assert [e["name"] for e in entries] == ["nps-2099-01", "welcome"]
    assert entries[1] == {
        "name": "welcome",
        "status": "unknown",
        "fingerprint": FP_B,
        "phones": 7,
        "started_at": "2099-01-02T09:30:00Z",
    }


def test_list_reads_the_state_given_by_option(project: Path) -> None:
    other = project / "elsewhere.json"
    other.write_text(dumps(State(lineage="x", serial=1).put(UNKNOWN)))
    result = run_cli(["state", "list", "--state", str(other)], project)
    assert result.returncode == 0, result.stderr
    assert "welcome" in result.stdout
    assert "nps-2099-01" not in result.stdout


def test_show_prints_the_entry_with_history(project: Path) -> None:
    seed(project, CREATED)
    result = run_cli(["state", "show", "nps-2099-01"], project)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "name": "nps-2099-01",
        "status": "created",
        "fingerprint": FP_A,
        "phones": 3,
        "id": 123,
        "created_at": "2099-01-01T08:00:00Z",
        "started_at": None,
        "history": [
            {
                "id": 99,
                "fingerprint": FP_B,
                "created_at": "2098-12-01T00:00:00Z",
                "replaced_at": "2099-01-01T08:00:00Z",
            }
        ],
        "sent": None,
    }


def test_show_of_an_unknown_name_is_an_error(project: Path) -> None:
    seed(project, CREATED)
    result = run_cli(["state", "show", "nope"], project)
    assert result.returncode == 1
    assert result.stderr == "error: no campaign named 'nope' in state (known: nps-2099-01)\n"


def test_a_corrupt_state_file_is_an_error_not_a_traceback(project: Path) -> None:
    (project / "dialogops.state.json").write_text('{"version": 1, "serial": ')
    result = run_cli(["state", "list"], project)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"error: {project / 'dialogops.state.json'}: state file is not valid JSON"
    )
    assert "Traceback" not in result.stderr


# --- rm ---------------------------------------------------------------------------------


def test_rm_forgets_the_entry_durably(project: Path) -> None:
    seed(project, CREATED, UNKNOWN)
    result = run_cli(["state", "rm", "welcome"], project)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "forgot welcome (status unknown); if it was created after all, "
        "the next apply creates it again\n"
    )
    state = backend(project).read()
    assert set(state.campaigns) == {"nps-2099-01"}
    assert state.serial == 6
    assert "welcome" in (project / "dialogops.state.json.backup").read_text()
    assert backend(project).holder() is None


def test_rm_of_a_created_campaign_says_it_still_exists(project: Path) -> None:
    seed(project, CREATED)
    result = run_cli(["state", "rm", "nps-2099-01"], project)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "forgot nps-2099-01 (id 123, 3 phones, created 2099-01-01T08:00:00Z); "
        "the campaign still exists on the platform\n"
    )


def test_rm_of_an_unknown_name_changes_nothing(project: Path) -> None:
    seed(project, CREATED)
    before = (project / "dialogops.state.json").read_text()
    result = run_cli(["state", "rm", "nope"], project)
    assert result.returncode == 1
    assert result.stderr == "error: no campaign named 'nope' in state (known: nps-2099-01)\n"
    assert (project / "dialogops.state.json").read_text() == before


def test_rm_waits_for_the_lock_then_names_the_holder(project: Path) -> None:
    seed(project, CREATED)
    with backend(project).lock("dialogops apply"):
        result = run_cli(["state", "rm", "nps-2099-01", "--lock-timeout", "0.3"], project)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: state is locked by pid {os.getpid()} (")
    assert "`dialogops apply`" in result.stderr
    assert "(waited 0.3s)" in result.stderr
    assert "nps-2099-01" in backend(project).read().campaigns


def test_rm_after_a_killed_holder_needs_no_unlock(project: Path) -> None:
    seed(project, CREATED)
    stale_details(project)
    result = run_cli(["state", "rm", "nps-2099-01"], project)
    assert result.returncode == 0, result.stderr
    assert backend(project).read().campaigns == {}


# --- unlock -----------------------------------------------------------------------------


def test_unlock_with_nothing_to_unlock(project: Path) -> None:
    stale_details(project)
    result = run_cli(["state", "unlock"], project)
    assert result.returncode == 0, result.stderr
    lock = project / "dialogops.state.json.lock"
    assert result.stdout == (
        f"state is not locked ({lock}): nothing to unlock; a lock ends with the process or "
        "database session that holds it\n"
    )


def test_unlock_names_a_running_holder_and_leaves_it(project: Path) -> None:
    with backend(project).lock("dialogops apply") as lock:
        refused = run_cli(["state", "unlock"], project)
        forced = run_cli(["state", "unlock", "--force"], project)
        lock.write(lock.read().put(CREATED))  # still the holder
    for result in (refused, forced):
        assert result.returncode == 1
        assert result.stderr.startswith(f"error: state is locked by pid {os.getpid()} (")
        assert "which is still running; the lock ends when that process does" in result.stderr
    assert "--force cannot end it" in forced.stderr


# --- import -----------------------------------------------------------------------------


def test_import_records_a_created_campaign_with_the_manifest_fingerprint(project: Path) -> None:
    result = run_cli(["import", "nps-2099-01", "4711", "--var", "who=Ann"], project)
    assert result.returncode == 0, result.stderr
    entry = backend(project).read().get("nps-2099-01")
    assert entry is not None
    assert (entry.status, entry.id, entry.phones, entry.history) == ("created", 4711, 3, ())
    assert entry.fingerprint.startswith("sha256:")
    assert result.stdout == f"imported nps-2099-01: id 4711, 3 phones, {entry.fingerprint}\n"
    plan = run_cli(["plan", "--var", "who=Ann"], project)
    assert plan.returncode == 0, plan.stdout + plan.stderr


def test_import_resolves_an_unknown_entry(project: Path) -> None:
    seed(project, StateEntry("nps-2099-01", "unknown", FP_B, 3, started_at="2099-01-02T09:30:00Z"))
    result = run_cli(["import", "nps-2099-01", "55", "--var", "who=Ann"], project)
    assert result.returncode == 0, result.stderr
    entry = backend(project).read().get("nps-2099-01")
    assert entry is not None
    assert (entry.status, entry.id, entry.created_at) == ("created", 55, "2099-01-02T09:30:00Z")


def test_import_with_a_new_id_keeps_the_old_in_history(project: Path) -> None:
    seed(project, CREATED)
    result = run_cli(["import", "nps-2099-01", "124", "--var", "who=Ann"], project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == "the previous id 123 is kept in the entry's history"
    entry = backend(project).read().get("nps-2099-01")
    assert entry is not None
    assert entry.id == 124
    assert [r.id for r in entry.history] == [99, 123]
    assert entry.history[-1].fingerprint == FP_A


def test_import_of_a_name_without_manifest_is_an_error(project: Path) -> None:
    result = run_cli(["import", "nope", "1", "--var", "who=Ann"], project)
    assert result.returncode == 1
    assert result.stderr == "error: no Campaign named 'nope' in the manifests\n"
    assert not (project / "dialogops.state.json").exists()


@pytest.mark.parametrize("bad_id", ["0", "-3", "abc"])
def test_import_needs_a_positive_integer_id(project: Path, bad_id: str) -> None:
    result = run_cli(["import", "nps-2099-01", "--", bad_id], project)
    assert result.returncode == 1
    assert "Invalid value for 'ID'" in result.stderr
    assert "Traceback" not in result.stderr


def test_import_of_a_manifest_that_does_not_render_is_an_error(project: Path) -> None:
    result = run_cli(["import", "nps-2099-01", "4711"], project)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert "who" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "dialogops.state.json").exists()


def test_state_files_never_hold_phone_numbers(project: Path) -> None:
    run_cli(["import", "nps-2099-01", "4711", "--var", "who=Ann"], project)
    run_cli(["import", "nps-2099-01", "4712", "--var", "who=Bob"], project)
    texts = [
        (project / n).read_text() for n in ("dialogops.state.json", "dialogops.state.json.backup")
    ]
    for text in texts:
        assert "1234567" not in text
        assert "1234568" not in text
        assert "Ann" not in text


def test_help_lists_every_state_command(project: Path) -> None:
    result = run_cli(["state", "--help"], project)
    assert result.returncode == 0
    for command in ("list", "show", "rm", "unlock"):
        assert f"  {command} " in result.stdout
    assert run_cli(["import", "--help"], project).returncode == 0


def test_commands_use_the_state_path_of_the_config(project: Path) -> None:
    (project / "var").mkdir()
    (project / "ops.yaml").write_text("manifests: [campaigns/]\nstate: {path: var/ops.json}\n")
    result = run_cli(
        ["import", "nps-2099-01", "9", "--var", "who=Ann", "--config", "ops.yaml"], project
    )
    assert result.returncode == 0, result.stderr
    assert LocalBackend(project / "var" / "ops.json").read().get("nps-2099-01") is not None
    assert not (project / "dialogops.state.json").exists()
    listed = run_cli(["state", "list", "--config", "ops.yaml"], project)
    assert "nps-2099-01" in listed.stdout


def test_import_waits_for_the_lock_then_names_the_holder(project: Path) -> None:
    with backend(project).lock("dialogops apply"):
        result = run_cli(
            ["import", "nps-2099-01", "9", "--var", "who=Ann", "--lock-timeout", "0.2"], project
        )
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: state is locked by pid {os.getpid()} (")
    assert not (project / "dialogops.state.json").exists()
