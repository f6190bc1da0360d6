"""The pull-request cycle end to end: finished campaigns, reviewed edits and revisions, saved
plans among other merges, var files and environments, and --sandbox on every command."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dialogops.client.api import DialogClient
from dialogops.config import load_config
from dialogops.manifests import load_project, today_in
from dialogops.render import render_campaign
from dialogops.sandbox import SANDBOX_TOKEN, SandboxServer
from tests.conftest import CliResult, child_env, run_cli
from tests.samples import REPO, api_env, example_project, start_state, state_as_started

FUTURE = dt.date(2099, 12, 1)
LAST_WEEK = today_in("Europe/Moscow") - dt.timedelta(days=7)

CONFIG = """\
api: {url: "http://127.0.0.1:9/api", timeout_seconds: 10}
timezone: Europe/Moscow
manifests: [campaigns/]
"""

CAMPAIGN = """\
apiVersion: dialogops/v1
kind: Campaign
metadata:
  name: {name}
spec:
  project_id: 1
  title: {name}
  start_block_id: 10
  phone_id: 5
  schedule:
    date: {date}
    start_time: "09:00"
    end_time: "17:00"
  phones:
    inline: ["+79991234567", "+79991234568", "+79991234569"]
  add_data:
    region: "{{{{ vars.region | default('none') }}}}"
"""

REPORT = """\
apiVersion: dialogops/v1
kind: Report
metadata:
  name: {name}-results
spec:
  campaign: {name}
  scenario_id: 951
  columns:
    - {{id: 1, name: phone_number, display_name: Phone, column_type: field, data_type: text}}
"""


def project(root: Path, dates: dict[str, dt.date], config: str = CONFIG) -> Path:
    """A project with one Campaign per name, on its date, and a Report on the first."""
    (root / "campaigns").mkdir(parents=True)
    (root / "dialogops.yaml").write_text(config, encoding="utf-8")
    for name, date in dates.items():
        write_campaign(root, name, date)
    first = next(iter(dates))
    (root / "campaigns" / "results.yaml").write_text(REPORT.format(name=first), "utf-8")
    start_state(root / "dialogops.state.json")
    return root


def write_campaign(root: Path, name: str, date: dt.date) -> Path:
    path = root / "campaigns" / f"{name}.yaml"
    path.write_text(CAMPAIGN.format(name=name, date=date.isoformat()), encoding="utf-8")
    return path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def ok(result: CliResult, code: int = 0) -> CliResult:
    assert result.returncode == code, result.stdout + result.stderr
    return result


def created_ids(sandbox: SandboxServer) -> dict[str, list[int]]:
    ids: dict[str, list[int]] = {}
    for campaign in sandbox.campaigns():
        ids.setdefault(campaign.name, []).append(campaign.id)
    return ids


# --- finished campaigns stay in the repository --------------------------------------------


def test_a_finished_campaign_in_state_leaves_validate_plan_and_its_report_working(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = project(tmp_path / "p", {"done": LAST_WEEK, "next": FUTURE, "later": FUTURE})
    env = api_env(sandbox)
    # `done` was created before its date went by (here straight through the API).
    config = load_config(None, root)
    done = load_project([], config).campaign("done")
    assert done is not None
    rendered = render_campaign(done, {}, keep_body=True)
    assert rendered.body is not None
    with DialogClient(sandbox.url, token=SANDBOX_TOKEN) as client, contextlib.closing(rendered):
        done_id = client.create_campaign(rendered.body.file, rendered.body.size)
    ok(run_cli(["import", "done", str(done_id)], root, env=env))

    validated = ok(run_cli(["validate"], root))
    plan = ok(run_cli(["plan"], root))
    report = ok(run_cli(["report", "done-results", "--format", "json"], root, env=env))

    assert validated.stdout.splitlines() == [
        f"campaigns/done.yaml:11:11: warning: spec.schedule.date: {LAST_WEEK} is in the past "
        "in Europe/Moscow: fine for a campaign already created; plan refuses it for one to "
        "create",
        "ok: 3 Campaign and 1 Report manifests valid; 1 warning",
    ]
    headlines = [line for line in plan.stdout.splitlines() if line[:1] in ("+", "=")]
    assert headlines == [
        "= done  unchanged  3 phones",
        "+ later  create  3 phones",
        "+ next  create  3 phones",
    ]
    assert len(json.loads(report.stdout)["rows"]) == 3

    # A new campaign dated last week cannot be created: plan says where and why.
    write_campaign(root, "fresh", LAST_WEEK)
    refused = ok(run_cli(["plan"], root), 1)
    assert (refused.stdout, refused.stderr) == (
        "",
        f"error: campaigns/fresh.yaml:11:11: spec.schedule.date: {LAST_WEEK} is in the past "
        "in Europe/Moscow: a campaign to create needs a date from today on\n",
    )
    # ... which blocks no plan it is not part of.
    ok(run_cli(["plan", "--target", "next"], root))


# --- a reviewed edit, then a revision ------------------------------------------------------


def test_an_edit_is_shown_field_by_field_and_a_raised_revision_replaces(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"nps": FUTURE})
    ok(run_cli(["apply", "--sandbox", "--auto-approve"], root))
    old_id = json.loads(ok(run_cli(["state", "show", "nps", "--sandbox"], root)).stdout)["id"]
    manifest = root / "campaigns" / "nps.yaml"
    edit(manifest, 'start_time: "09:00"', 'start_time: "10:00"')

    text = ok(run_cli(["plan", "--sandbox"], root), 1)
    markdown = ok(run_cli(["plan", "--sandbox", "--format", "markdown"], root), 1)
    document = json.loads(ok(run_cli(["plan", "--sandbox", "--format", "json"], root), 1).stdout)

    assert text.stdout.startswith(f"! nps  changed  3 phones (state: id {old_id}, 3 phones)\n")
    assert "    changes (old -> new):\n      schedule.start_time: 09:00 -> 10:00\n" in text.stdout
    assert text.stderr == (
        "error: campaign nps is changed; the API cannot update a campaign: revert the change, "
        "or raise metadata.revision to 2 in campaigns/nps.yaml to create a new campaign\n"
    )
    assert "- changes (old -&gt; new):\n  - `schedule.start_time: 09:00 -> 10:00`\n" in (
        markdown.stdout
    )
    assert document["campaigns"][0]["changes"] == {
        "recorded": True,
        "fields": [{"field": "schedule.start_time", "old": "09:00", "new": "10:00"}],
    }

    edit(manifest, "  name: nps\n", "  name: nps\n  revision: 2\n")
    replace = ok(run_cli(["plan", "--sandbox"], root))
    assert replace.stdout.startswith(
        f"-/+ nps  replace  3 phones (replaces: id {old_id}, 3 phones)\n"
    )
    assert (
        "    changes (old -> new):\n"
        "      revision: 1 -> 2\n"
        "      schedule.start_time: 09:00 -> 10:00\n"
        f"    replaces id {old_id}, 3 phones on 2099-12-01: anyone there among these 3 phones "
        "is called again (state keeps no phone numbers to count them)\n" in replace.stdout
    )

    applied = ok(run_cli(["apply", "--sandbox", "--auto-approve"], root))
    entry = json.loads(ok(run_cli(["state", "show", "nps", "--sandbox"], root)).stdout)
    assert f"+ created nps (id {entry['id']})" in applied.stdout
    assert entry["id"] != old_id
    assert [h["id"] for h in entry["history"]] == [old_id]
    assert (entry["sent"]["revision"], entry["sent"]["schedule"]["start_time"]) == (2, "10:00")
    assert ok(run_cli(["plan", "--sandbox"], root)).stdout.startswith("= nps  unchanged")


# --- saved plans among other merges --------------------------------------------------------


def test_a_saved_plan_survives_another_campaigns_apply_and_a_second_run_sends_nothing(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = project(tmp_path / "p", {"a": FUTURE, "b": FUTURE})
    env = api_env(sandbox)
    ok(run_cli(["plan", "--target", "a", "--out", "a.plan"], root))
    ok(run_cli(["apply", "--target", "b", "--auto-approve"], root, env=env))  # someone else

    first = ok(run_cli(["apply", "--plan", "a.plan"], root, env=env))
    sent = len(sandbox.requests)
    state = (root / "dialogops.state.json").read_bytes()
    second = ok(run_cli(["apply", "--plan", "a.plan"], root, env=env))

    [a_id] = created_ids(sandbox)["a"]
    assert f"+ created a (id {a_id})" in first.stdout
    assert sorted(created_ids(sandbox)) == ["a", "b"]
    assert second.stdout == f"already applied: a (id {a_id}); nothing was sent\n"
    assert len(sandbox.requests) == sent
    assert (root / "dialogops.state.json").read_bytes() == state


def test_a_plan_reviewed_before_another_pull_request_merged_still_applies(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = project(tmp_path / "p", {"c": FUTURE})
    env = api_env(sandbox)
    ok(run_cli(["plan", "--out", "c.plan"], root))  # PR C, reviewed on its branch
    write_campaign(root, "b", FUTURE)  # PR B merges first and is applied
    ok(run_cli(["apply", "--auto-approve"], root, env=env))
    write_campaign(root, "c2", FUTURE)  # and a later manifest the reviewed plan never showed

    applied = ok(run_cli(["apply", "--plan", "c.plan"], root, env=env))

    assert sorted(created_ids(sandbox)) == ["b", "c"]
    assert "c2" not in applied.stdout


def test_a_plan_stale_for_real_is_refused_naming_the_campaign(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = project(tmp_path / "p", {"a": FUTURE, "b": FUTURE})
    env = api_env(sandbox)
    ok(run_cli(["plan", "--out", "all.plan"], root))
    ok(run_cli(["apply", "--target", "b", "--auto-approve"], root, env=env))
    [b_id] = created_ids(sandbox)["b"]

    refused = ok(run_cli(["apply", "--plan", "all.plan"], root, env=env), 1)

    assert refused.stderr == (
        f"error: stale plan: campaign b was not in state when the plan was made, now created "
        f"(id {b_id}); run dialogops plan again\n"
    )
    assert sorted(created_ids(sandbox)) == ["b"]


def test_targets_given_with_a_saved_plan_must_be_its_own(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = project(tmp_path / "p", {"a": FUTURE, "b": FUTURE})
    ok(run_cli(["plan", "--target", "a", "--out", "a.plan"], root))

    refused = ok(run_cli(["apply", "--plan", "a.plan", "--target", "b"], root), 1)
    same = ok(run_cli(["apply", "--plan", "a.plan", "--target", "a"], root, env=api_env(sandbox)))

    assert refused.stderr == (
        "error: --target differs from the saved plan's (--target a): a saved plan applies "
        "what it planned; plan again to change it\n"
    )
    assert "+ created a" in same.stdout and sorted(created_ids(sandbox)) == ["a"]


# --- var files and environments ------------------------------------------------------------

ENV_CONFIG = """\
api: {{url: "http://127.0.0.1:9/api", timeout_seconds: 10}}
timezone: Europe/Moscow
vars: {{region: top, team: top, size: top}}
environments:
  staging:
    api: {{url: "{url}"}}
    state: {{path: staging.state.json}}
    vars: {{region: staging}}
"""


def sent_add_data(sandbox: SandboxServer, name: str) -> dict[str, Any]:
    [campaign] = [c for c in sandbox.campaigns() if c.name == name]
    add_data: dict[str, Any] = campaign.body["phones"][0]["add_data"]
    return add_data


def test_env_picks_the_api_the_state_and_the_vars_and_var_files_override_in_turn(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = project(tmp_path / "p", {"a": FUTURE, "b": FUTURE}, ENV_CONFIG.format(url=sandbox.url))
    for name in ("a", "b"):
        edit(
            root / "campaigns" / f"{name}.yaml",
            "    region: \"{{ vars.region | default('none') }}\"\n",
            '    region: "{{ vars.region }}"\n    team: "{{ vars.team }}"\n'
            '    size: "{{ vars.size }}"\n',
        )
    (root / "one.yaml").write_text("region: one\nteam: one\n", encoding="utf-8")
    (root / "two.yaml").write_text("region: two\n", encoding="utf-8")
    token = {"DIALOG_TOKEN": SANDBOX_TOKEN}  # no DIALOG_API_URL: the environment's URL
    start_state(root / "staging.state.json")

    planned = ok(run_cli(["plan", "--env", "staging", "--target", "a"], root))
    document = json.loads(
        ok(run_cli(["plan", "--env", "staging", "--format", "json"], root)).stdout
    )
    ok(run_cli(["apply", "--env", "staging", "--target", "a", "--auto-approve"], root, env=token))
    ok(
        run_cli(
            [
                *("apply", "--target", "b", "--auto-approve"),
                *("--var-file", "one.yaml", "--var-file", "two.yaml", "--var", "size=cli"),
            ],
            root,
            env={**token, "DIALOGOPS_ENV": "staging"},
        )
    )

    assert planned.stdout.startswith("Environment: staging\n\n+ a  create  3 phones\n")
    assert document["options"]["environment"] == "staging"
    assert document["options"]["vars"] == ["region", "size", "team"]
    assert sent_add_data(sandbox, "a") == {"region": "staging", "team": "top", "size": "top"}
    # Files in turn over the environment's vars, --var over every file.
    assert sent_add_data(sandbox, "b") == {"region": "two", "team": "one", "size": "cli"}
    staging = json.loads((root / "staging.state.json").read_text("utf-8"))
    assert sorted(staging["campaigns"]) == ["a", "b"]
    assert state_as_started(root)
    # Without the environment, the top level: its state holds nothing yet.
    assert ok(run_cli(["plan", "--target", "a"], root)).stdout.startswith("+ a  create")
    again = ok(run_cli(["plan", "--target", "a"], root, env={"DIALOGOPS_ENV": "staging"}))
    assert again.stdout.startswith("Environment: staging\n\n= a  unchanged")


def test_an_unknown_environment_is_one_clear_error(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"a": FUTURE}, ENV_CONFIG.format(url="http://127.0.0.1:9"))
    result = ok(run_cli(["plan", "--env", "prod"], root), 1)
    assert result.stderr == (
        "error: environment 'prod' is not in dialogops.yaml (environments: staging)\n"
    )


# --- --sandbox on every command ------------------------------------------------------------


def test_every_command_with_sandbox_agrees_with_apply_sandbox(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"a": FUTURE, "b": FUTURE})
    ok(run_cli(["apply", "--sandbox", "--target", "a", "--auto-approve"], root))

    planned = ok(run_cli(["plan", "--sandbox"], root))
    listed = ok(run_cli(["state", "list", "--sandbox"], root))
    shown = json.loads(ok(run_cli(["state", "show", "a", "--sandbox"], root)).stdout)
    report = ok(run_cli(["report", "a-results", "--sandbox", "--format", "json"], root))
    imported = ok(run_cli(["import", "b", "4242", "--sandbox"], root))

    headlines = [line for line in planned.stdout.splitlines() if line[:1] in ("+", "=")]
    assert headlines == ["= a  unchanged  3 phones", "+ b  create  3 phones"]
    assert listed.stdout.splitlines()[1].split()[:3] == ["a", "created", str(shown["id"])]
    assert len(json.loads(report.stdout)["rows"]) == 3
    assert imported.stdout.startswith("imported b: id 4242, 3 phones")
    recorded = json.loads(ok(run_cli(["state", "show", "b", "--sandbox"], root)).stdout)
    assert (recorded["sent"]["title"], recorded["sent"]["revision"]) == ("b", 1)
    assert ok(run_cli(["plan", "--sandbox", "--detailed-exitcode"], root)).stdout.startswith(
        "= a  unchanged"
    )
    # The real state was never touched.
    assert ok(run_cli(["state", "list"], root)).stdout.startswith("no campaigns in state")
    assert ok(run_cli(["plan"], root)).stdout.startswith("+ a  create")

    forgot = ok(run_cli(["state", "rm", "b", "--sandbox"], root))
    assert forgot.stdout.startswith("forgot b (id 4242")
    assert "+ b  create" in ok(run_cli(["plan", "--sandbox"], root)).stdout


def test_each_environment_has_a_sandbox_state_of_its_own(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"a": FUTURE}, ENV_CONFIG.format(url="http://127.0.0.1:9"))
    ok(run_cli(["apply", "--sandbox", "--env", "staging", "--auto-approve"], root))

    assert (root / ".dialogops" / "sandbox.staging.state.json").is_file()
    assert not (root / ".dialogops" / "sandbox.state.json").exists()
    assert ok(run_cli(["plan", "--sandbox"], root)).stdout.startswith("+ a  create")
    staging = ok(run_cli(["plan", "--sandbox", "--env", "staging"], root))
    assert staging.stdout.startswith("Environment: staging\n\n= a  unchanged")


def test_hints_after_sandbox_repeat_sandbox(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"a": FUTURE, "b": FUTURE})
    ok(run_cli(["apply", "--sandbox", "--auto-approve"], root))
    state_file = root / ".dialogops" / "sandbox.state.json"
    document = json.loads(state_file.read_text("utf-8"))
    document["campaigns"]["b"] = {**document["campaigns"]["b"], "status": "unknown"}
    del document["campaigns"]["b"]["id"]
    state_file.write_text(json.dumps(document), encoding="utf-8")
    (root / "campaigns" / "a.yaml").unlink()
    (root / "campaigns" / "results.yaml").unlink()

    planned = ok(run_cli(["plan", "--sandbox"], root), 1)

    assert "dialogops state rm a --sandbox forgets it" in planned.stdout
    assert planned.stderr == (
        "error: campaign b is unknown; to resolve it run: dialogops import b ID --sandbox or "
        "dialogops state rm b --sandbox\n"
    )
    saved = ok(run_cli(["plan", "--sandbox", "--target", "a", "--out", "a.plan"], root))
    assert (
        saved.stderr
        == "Saved the plan to a.plan; apply it with: dialogops apply --plan a.plan --sandbox\n"
    )


# --- one plan run, several outputs ---------------------------------------------------------


def git_checkout(root: Path) -> str:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "campaigns")
    return git("rev-parse", "HEAD")


def test_one_plan_run_writes_the_saved_plan_the_json_and_the_markdown(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"a": FUTURE}, ENV_CONFIG.format(url="http://127.0.0.1:9"))
    commit = git_checkout(root)
    args = ["--out", "saved.plan", "--json", "plan.json", "--markdown", "plan.md"]

    result = ok(run_cli(["plan", "--env", "staging", *args], root))

    assert result.stdout.startswith("Environment: staging\n\n+ a  create")
    shown = ok(run_cli(["plan", "--env", "staging", "--format", "json"], root)).stdout
    assert (root / "plan.json").read_text("utf-8") == shown
    markdown = (root / "plan.md").read_text("utf-8")
    assert markdown.startswith(
        f"### dialogops plan\n\nenvironment **staging** · state serial 0 · commit {commit}\n\n"
        "**Plan: 1 to create"
    )
    assert json.loads((root / "saved.plan").read_text("utf-8"))["format_version"] == 2


def test_a_blocked_plan_still_writes_its_review_outputs_but_no_saved_plan(
    tmp_path: Path,
) -> None:
    root = project(tmp_path / "p", {"a": FUTURE})
    ok(run_cli(["apply", "--sandbox", "--auto-approve"], root))
    edit(root / "campaigns" / "a.yaml", "title: a\n", "title: Опрос a\n")
    args = ["--out", "saved.plan", "--json", "plan.json", "--markdown", "plan.md"]

    result = ok(run_cli(["plan", "--sandbox", *args], root), 1)

    assert "plan not saved to saved.plan" in result.stderr
    assert not (root / "saved.plan").exists()
    assert json.loads((root / "plan.json").read_text("utf-8"))["summary"]["blocked"] is True
    markdown = (root / "plan.md").read_text("utf-8")
    assert markdown.startswith("### dialogops plan\n\nstate serial 2\n\n")  # not a checkout
    assert "  - `title: a -> Опрос a`" in markdown


# --- on_invalid: skip lists what it skipped ------------------------------------------------


def test_skipped_rows_are_listed_with_plan_verbose_and_in_the_json(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"a": FUTURE})
    invalid = ", ".join(f'"+7999000{n:03d}"' for n in range(53))
    edit(
        root / "campaigns" / "a.yaml",
        'inline: ["+79991234567",',
        f'on_invalid: skip\n    inline: [{invalid}, "+79991234567",',
    )

    quiet = ok(run_cli(["plan"], root))
    verbose = ok(run_cli(["plan", "-v"], root))
    document = json.loads(ok(run_cli(["plan", "--format", "json"], root)).stdout)

    assert "skipped:" not in quiet.stdout
    skipped = [line for line in verbose.stdout.splitlines() if "skipped: " in line]
    assert skipped[0] == (
        "    skipped: campaigns/a.yaml:16: '+7999****00' is not a valid phone number (too short)"
    )
    assert len(skipped) == 51
    assert skipped[-1] == "    skipped: ... and 3 more"
    render = document["campaigns"][0]["render"]
    assert render["skipped"] == 53 and len(render["skipped_rows"]) == 50
    assert render["skipped_rows"][1] == {
        "at": "campaigns/a.yaml:16",
        "phone": "+7999****01",
        "reason": "'+7999****01' is not a valid phone number (too short)",
    }
    for output in (verbose.stdout, json.dumps(document)):
        assert "+7999000001" not in output and "7999000001" not in output


# --- the README's walk-through -------------------------------------------------------------


def readme_cycle() -> list[str]:
    """The command lines of the README's pull-request cycle, in order."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The pull-request cycle", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith("#")]


@pytest.mark.slow
def test_the_readme_pull_request_cycle_runs_as_written(tmp_path: Path) -> None:
    root = example_project(tmp_path)
    lines = readme_cycle()
    assert [line.split()[0] for line in lines].count("dialogops") == 8
    outputs = []
    for line in lines:
        command = line.replace("dialogops ", f"{shlex.quote(sys.executable)} -m dialogops ", 1)
        done = subprocess.run(
            command, shell=True, cwd=root, env=child_env(), capture_output=True, text=True
        )
        expected = 1 if line.endswith("# exit 1") else 0
        assert done.returncode == expected, (line, done.stdout, done.stderr)
        outputs.append(done.stdout)
    assert outputs[3].startswith("already applied: nps-2099-12 (id ")
    assert "      schedule.start_time: 09:00 -> 10:00\n" in outputs[5]
    assert outputs[7].startswith("-/+ nps-2099-12  replace")
    entry = json.loads(outputs[9])
    assert len(entry["history"]) == 1 and entry["sent"]["revision"] == 2
