"""The contact ledger as a user meets it: plan and apply against the sandbox with frequency
caps, suppression lists and `only_new`, and the `ledger` commands."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dialogops.ledger.sqlite import ledger_path, open_sqlite_ledger
from dialogops.sandbox import SandboxServer
from tests.conftest import CliResult, child_env, run_cli, wait_for
from tests.ledger_samples import KEY_ENV, ledger_project, put, sent_phones, state_entries
from tests.samples import api_env, phone


def apply(root: Path, sandbox: SandboxServer, *args: str, key: bool = True) -> CliResult:
    env = api_env(sandbox) | (KEY_ENV if key else {})
    return run_cli(["apply", "--auto-approve", *args], root, env=env)


def plan(root: Path, *args: str, key: bool = True) -> CliResult:
    return run_cli(["plan", *args], root, env=KEY_ENV if key else {})


def test_two_same_day_campaigns_sharing_ten_numbers_with_per_day_one(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = ledger_project(tmp_path / "p", "policy:\n  frequency: {per_day: 1}\n")
    put(root, "a-first", list(range(100)))
    put(root, "b-second", list(range(90, 190)))

    planned = plan(root)

    assert planned.returncode == 1
    lines = planned.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if "b-second" in line)
    assert not any("frequency:" in line for line in lines[:first])
    assert (
        "    frequency: 10 over per_day 1, apply refuses: +7999***0090 at "
        "campaigns/b-second.yaml:13, +7999***0091 at campaigns/b-second.yaml:14, "
        "+7999***0092 at campaigns/b-second.yaml:15, +7999***0093 at campaigns/b-second.yaml:16, "
        "+7999***0094 at campaigns/b-second.yaml:17, ..."
    ) in lines[first:]
    assert "error: campaign b-second is over a frequency cap" in planned.stderr
    refused = apply(root, sandbox)
    assert refused.returncode == 1 and "b-second: create; 10 recipients over" in refused.stderr
    assert sandbox.creates_by_name() == {}

    put(root, "b-second", list(range(90, 190)), phones_extra="on_frequency: skip")
    skipping = plan(root)
    assert skipping.returncode == 0
    assert "10 over per_day 1, left out (on_frequency: skip)" in skipping.stdout
    assert "rows: 100; dropped: 0 duplicate, 0 excluded, 0 skipped, 10 by the contact ledger" in (
        skipping.stdout
    )
    assert "190 phones would be called" in skipping.stdout

    assert apply(root, sandbox).returncode == 0
    assert sent_phones(sandbox, "a-first") == [phone(i) for i in range(100)]
    assert sent_phones(sandbox, "b-second") == [phone(i) for i in range(100, 190)]
    again = plan(root)
    assert again.returncode == 0 and "0 to create, 2 unchanged" in again.stdout


def test_per_week_and_per_month_count_campaigns_applied_on_earlier_dates(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = ledger_project(tmp_path / "p", "policy:\n  frequency: {per_week: 1, per_month: 2}\n")
    # 2099-12-01 is a Tuesday of ISO week 49; the 8th and 10th are in week 50.
    put(root, "a", list(range(10)), date="2099-12-01")
    assert apply(root, sandbox).returncode == 0
    put(root, "b", list(range(10)), date="2099-12-08")
    assert apply(root, sandbox).returncode == 0
    put(root, "c", [*range(5), *range(20, 25)], date="2099-12-10")
    put(root, "d", list(range(5, 10)), date="2099-12-20")
    put(root, "e", list(range(10)), date="2100-01-04")

    planned = plan(root, "--target", "c", "--target", "d", "--target", "e")

    assert planned.returncode == 1
    by_campaign = ("\n" + planned.stdout).split("\n+ ")
    c = next(block for block in by_campaign if block.startswith("c "))
    d = next(block for block in by_campaign if block.startswith("d "))
    e = next(block for block in by_campaign if block.startswith("e "))
    assert "frequency: 5 over per_week 1, apply refuses: +7999***0000 at campaigns/c.yaml:13" in c
    assert "frequency: 5 over per_month 2, apply refuses: +7999***0000 at campaigns/c.yaml:13" in c
    assert "over per_week" not in d
    assert "frequency: 5 over per_month 2, apply refuses: +7999***0005 at campaigns/d.yaml:13" in d
    assert "frequency" not in e  # another month and week


def test_only_new_calls_only_the_phone_added_to_a_replaced_campaign(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = ledger_project(tmp_path / "p")
    put(root, "nps", [1, 2, 3])
    assert apply(root, sandbox).returncode == 0
    campaign_id = state_entries(root)["nps"]["id"]

    put(root, "nps", [1, 2, 3, 4], revision=2, phones_extra="only_new: true")
    planned = plan(root)

    assert planned.returncode == 0
    assert f"    only_new: 1 new, 3 already called in {campaign_id}" in planned.stdout
    assert "1 phone would be called" in planned.stdout
    assert apply(root, sandbox).returncode == 0
    assert sent_phones(sandbox, "nps") == [phone(4)]
    assert state_entries(root)["nps"]["history"][0]["id"] == campaign_id


def test_defaults_exclude_campaign_exclude_and_policy_suppress_all_apply_and_are_counted(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = ledger_project(
        tmp_path / "p",
        "defaults:\n  phones:\n    exclude: [dnc-team.txt]\npolicy:\n  suppress: [dnc.txt]\n",
    )
    (root / "dnc.txt").write_text(f"{phone(0)}\n{phone(1)}\n", encoding="utf-8")
    (root / "campaigns" / "dnc-team.txt").write_text(f"{phone(2)}\n", encoding="utf-8")
    (root / "campaigns" / "dnc-nps.txt").write_text(
        "\n".join(phone(i) for i in (3, 4, 5)), encoding="utf-8"
    )
    put(root, "nps", list(range(10)), phones_extra="exclude: [dnc-nps.txt]")

    planned = run_cli(["plan"], root)

    assert planned.returncode == 0, planned.stderr
    assert "rows: 10; dropped: 0 duplicate, 6 excluded, 0 skipped" in planned.stdout
    assert "    excluded: 2 by dnc.txt\n" in planned.stdout
    assert "    excluded: 1 by campaigns/dnc-team.txt\n" in planned.stdout
    assert "    excluded: 3 by campaigns/dnc-nps.txt\n" in planned.stdout
    assert apply(root, sandbox, key=False).returncode == 0
    assert sent_phones(sandbox, "nps") == [phone(i) for i in range(6, 10)]


def test_a_bad_exclude_after_the_defaults_list_is_reported_where_the_manifest_writes_it(
    tmp_path: Path,
) -> None:
    root = ledger_project(tmp_path / "p", "defaults:\n  phones:\n    exclude: [dnc-team.txt]\n")
    (root / "campaigns" / "dnc-team.txt").write_text(f"{phone(2)}\n", encoding="utf-8")
    put(root, "nps", [1], phones_extra="exclude: [missing.txt]")

    result = run_cli(["validate"], root)

    assert result.returncode == 1
    assert result.stdout.startswith(
        "campaigns/nps.yaml:12:15: spec.phones.exclude[1]: file 'missing.txt' does not exist\n"
    )


def notations(number: str) -> list[bytes]:
    """`+79990000090` as E.164, without +, national with and without 8, spaced."""
    national = number[2:]
    forms = [number, number[1:], national, "8" + national]
    forms.append(f"{national[:3]} {national[3:6]}-{national[6:8]}-{national[8:]}")
    return [form.encode() for form in forms]


def test_no_phone_number_in_any_notation_is_stored_or_shown(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = ledger_project(tmp_path / "p", "policy:\n  frequency: {per_day: 1}\n")
    put(root, "a-first", list(range(40)))
    put(root, "b-second", list(range(30, 60)), phones_extra="on_frequency: skip")
    outputs = [plan(root, "--out", "saved.plan", "--json", "plan.json", "--markdown", "plan.md")]
    assert outputs[0].returncode == 0, outputs[0].stderr
    outputs.append(run_cli(["plan", "--format", "json"], root, env=KEY_ENV))
    document = json.loads(outputs[-1].stdout)
    second = document["campaigns"][1]
    assert second["render"]["left_out"] == 10
    assert second["ledger"]["caps"][0] == {
        "rule": "per_day",
        "limit": 1,
        "over": 10,
        "examples": [
            {"at": f"campaigns/b-second.yaml:{14 + i}", "phone": f"+7999***00{30 + i}"}
            for i in range(5)
        ],
    }
    assert second["ledger"]["on_frequency"] == "skip"
    outputs.append(apply(root, sandbox))
    outputs.append(run_cli(["ledger", "stats"], root))
    outputs.append(run_cli(["ledger", "check", phone(31)], root, env=KEY_ENV))

    assert all(o.returncode == 0 for o in outputs), [o.stderr for o in outputs]
    stored = [
        root / name for name in ("saved.plan", "plan.json", "plan.md", "dialogops.state.json")
    ]
    ledger = ledger_path(root / "dialogops.state.json")
    stored += [p for p in root.iterdir() if p.name.startswith(ledger.name)]
    blobs = [path.read_bytes() for path in stored]
    blobs += [(o.stdout + o.stderr).encode() for o in outputs]
    for i in range(60):
        for form in notations(phone(i)):
            assert not any(form in blob for blob in blobs), form


def test_without_the_key_ledger_features_fail_clearly(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = ledger_project(tmp_path / "p", "policy:\n  frequency: {per_month: 8}\n")
    put(root, "nps", [1, 2])
    message = (
        "error: policy.frequency needs the contact ledger, and the ledger needs "
        "DIALOG_LEDGER_KEY: set it to a random secret of at least 16 characters, kept outside "
        "the repository like a password (see docs/ledger.md)\n"
    )

    for result in (plan(root, key=False), apply(root, sandbox, key=False)):
        assert (result.returncode, result.stdout, result.stderr) == (1, "", message)
    assert sandbox.creates_by_name() == {}
    for args in (["ledger", "check", phone(1)], ["ledger", "rebuild"]):
        result = run_cli(args, root)
        assert result.returncode == 1
        assert result.stderr.startswith(f"error: {' '.join(args[:2])} needs the contact ledger")
    short = run_cli(["plan"], root, env={"DIALOG_LEDGER_KEY": "short"})
    assert short.returncode == 1
    assert "DIALOG_LEDGER_KEY is too short" in short.stderr
    assert "short" not in short.stderr.replace("too short", "")


def ledger_agrees_with_state(root: Path) -> None:
    """Every campaign state holds has its ledger entries, and the ledger holds no other."""
    entries = state_entries(root)
    with open_sqlite_ledger(root / "dialogops.state.json") as ledger:
        campaigns = ledger.campaigns()
    assert {c.name for c in campaigns} == set(entries)
    for campaign in campaigns:
        entry = entries[campaign.name]
        assert campaign.fingerprint == entry["fingerprint"]
        assert campaign.campaign_id == entry.get("id")
        assert campaign.recipients == entry["phones"]


def test_sigkill_during_apply_leaves_ledger_and_state_in_agreement(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = ledger_project(tmp_path / "p", "policy:\n  frequency: {per_day: 3}\n")
    for n, name in enumerate(["a1", "a2", "a3", "a4", "a5"]):
        put(root, name, list(range(10 * n, 10 * n + 20)))
    sandbox.faults.update(status=422, status_count=1)  # a1 is refused: no entries may stay
    assert apply(root, sandbox, "--target", "a1").returncode == 1
    sent_before = len(sandbox.requests)
    sandbox.faults.update(latency=30.0)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dialogops", "apply", "--auto-approve", "--parallelism", "2"],
        cwd=root,
        env=child_env(api_env(sandbox) | KEY_ENV),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: len(sandbox.requests) >= sent_before + 2, "two creates in flight")

    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)

    in_flight = state_entries(root)
    assert {e["status"] for e in in_flight.values()} == {"pending"} and len(in_flight) == 2
    assert run_cli(["state", "unlock"], root).returncode == 0
    sandbox.faults.update(latency=0.0)
    assert run_cli(["ledger", "prune", "--before", "2000-01-01"], root).returncode == 0
    ledger_agrees_with_state(root)
    for name in in_flight:  # as if checked in the Dialog UI and not found
        assert run_cli(["state", "rm", name], root).returncode == 0
    finished = apply(root, sandbox)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    ledger_agrees_with_state(root)


def test_ledger_commands_stats_check_prune_and_rebuild(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = ledger_project(tmp_path / "p")
    put(root, "nov", [1, 2, 3], date="2099-11-30")
    put(root, "dec", [2, 3, 4, 5], date="2099-12-01")
    assert apply(root, sandbox, key=False).returncode == 0  # nothing recorded

    empty = run_cli(["ledger", "stats"], root)
    assert empty.stdout.startswith("the contact ledger is empty")
    put(root, "dec", [2, 3, 4, 6], date="2099-12-01")  # changed since it was created
    rebuilt = run_cli(["ledger", "rebuild"], root, env=KEY_ENV)
    assert rebuilt.returncode == 0
    assert rebuilt.stdout.splitlines() == [
        "recorded nov: 3 recipients",
        "skipped dec: its manifest or data files changed since it was created",
        "Rebuilt: 1 recorded, 1 skipped.",
    ]
    put(root, "dec", [2, 3, 4, 5], date="2099-12-01")
    assert run_cli(["ledger", "rebuild", "dec"], root, env=KEY_ENV).returncode == 0

    stats = run_cli(["ledger", "stats"], root).stdout.splitlines()
    assert [line.split() for line in stats[:3]] == [
        ["month", "campaigns", "contacts", "recipients"],
        ["2099-11", "1", "3", "3"],
        ["2099-12", "1", "4", "4"],
    ]
    ids = {name: entry["id"] for name, entry in state_entries(root).items()}
    check = run_cli(["ledger", "check", "8 (999) 000-00-02"], root, env=KEY_ENV)
    assert check.stdout.splitlines() == [
        "+7999***0002: contacted by 2 campaign(s)",
        f"  2099-11-30  nov  (id {ids['nov']})",
        f"  2099-12-01  dec  (id {ids['dec']})",
    ]
    nobody = run_cli(["ledger", "check", phone(9)], root, env=KEY_ENV)
    assert nobody.stdout == "+7999***0009: no campaign in the ledger contacted it\n"
    bad = run_cli(["ledger", "check", "12"], root, env=KEY_ENV)
    assert bad.returncode == 1 and bad.stderr.startswith("error: PHONE: ")

    pruned = run_cli(["ledger", "prune", "--before", "2099-12-01"], root)
    assert pruned.stdout == "Pruned 1 campaign(s) and 3 contacts dated before 2099-12-01.\n"
    after = run_cli(["ledger", "check", phone(1)], root, env=KEY_ENV)
    assert "no campaign in the ledger contacted it" in after.stdout


@pytest.mark.parametrize("status", [400, 422])
def test_a_campaign_refused_with_a_4xx_leaves_no_ledger_entries(
    tmp_path: Path, sandbox: SandboxServer, status: int
) -> None:
    root = ledger_project(tmp_path / "p")
    put(root, "alpha", [1, 2])
    put(root, "beta", [3, 4])
    sandbox.faults.update(status=status, status_count=1)

    result = apply(root, sandbox, "--parallelism", "1")

    assert result.returncode == 1
    assert set(state_entries(root)) == {"beta"}
    ledger_agrees_with_state(root)


def test_import_records_a_campaign_whose_manifest_is_known(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = ledger_project(tmp_path / "p")
    put(root, "nps", [1, 2, 3])
    assert apply(root, sandbox, key=False).returncode == 0  # nothing recorded
    campaign_id = state_entries(root)["nps"]["id"]

    imported = run_cli(["import", "nps", str(campaign_id)], root, env=KEY_ENV)

    assert imported.returncode == 0, imported.stderr
    check = run_cli(["ledger", "check", phone(2)], root, env=KEY_ENV)
    assert check.stdout.splitlines()[1] == f"  2099-12-01  nps  (id {campaign_id})"
    ledger_agrees_with_state(root)
