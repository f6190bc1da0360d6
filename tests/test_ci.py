"""The ready-made CI: the GitHub Action, its example workflows, the GitLab CI template and
the pre-commit hooks.

Each file is checked against the schema its CI validates it with (vendored by
check-jsonschema), and the shell each one runs is run here, as the CI would run it, against
the sandbox: only the install step is left out, `dialogops` comes from this environment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from dialogops import __version__
from dialogops.sandbox import SANDBOX_TOKEN, SandboxServer
from tests.conftest import child_env
from tests.samples import REPO, example_project
from tests.sarif_schema import sarif_schema

ACTION = REPO / "action.yml"
WORKFLOWS = sorted((REPO / "ci" / "github").glob("*.yml"))
GITLAB = REPO / "ci" / "gitlab" / "dialogops.gitlab-ci.yml"
GITLAB_EXAMPLE = REPO / "ci" / "gitlab" / "example.gitlab-ci.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"
PRE_COMMIT_EXAMPLE = REPO / "ci" / "pre-commit" / "example.pre-commit-config.yaml"
DOC = REPO / "docs" / "ci.md"
RELEASE = f"v{__version__}"


def _yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def _vendored_schema(name: str) -> Any:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads(vendor.joinpath(f"{name}.json").read_text(encoding="utf-8"))


def _git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env=_env(cwd)
    )
    return result.stdout


def _env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A CI job's environment: `dialogops` of this test run on PATH, a home of its own."""
    env = child_env(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": "Reviewer",
            "GIT_AUTHOR_EMAIL": "reviewer@example.invalid",
            "GIT_COMMITTER_NAME": "Reviewer",
            "GIT_COMMITTER_EMAIL": "reviewer@example.invalid",
        }
    )
    env.update(extra or {})
    return env


def _bash(script: str, cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """`script` as GitHub Actions and GitLab runners run a bash step: -e and pipefail."""
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _checkout(tmp_path: Path) -> tuple[Path, Path]:
    """A bare "origin" holding the example project on main, and a clone of it to work in."""
    origin = tmp_path / "origin.git"
    _git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    # As GitLab does: the template pushes the state with `-o ci.skip`.
    _git(origin, "config", "receive.advertisePushOptions", "true")
    work = tmp_path / "checkout"
    _git(tmp_path, "clone", "--quiet", str(origin), str(work))
    project = example_project(tmp_path)
    shutil.copytree(project, work, dirs_exist_ok=True)
    _git(work, "add", "-A")
    _git(work, "commit", "--quiet", "-m", "campaigns")
    _git(work, "push", "--quiet", "origin", "HEAD:refs/heads/main")
    return origin, work


# ---- the files themselves ----------------------------------------------------------------


def test_action_is_a_valid_composite_action_with_the_documented_inputs() -> None:
    action = _yaml(ACTION)
    jsonschema.validate(action, _vendored_schema("github-actions"))
    assert set(action["inputs"]) == {
        "command",
        "working-directory",
        "environment",
        "args",
        "commit-state",
        "python-version",
        "github-token",
    }
    assert action["inputs"]["command"]["required"] is True
    assert set(action["outputs"]) == {"markdown", "exitcode"}
    assert action["runs"]["using"] == "composite"
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]), step["uses"]
        else:
            assert step["shell"] == "bash"
    for script in re.findall(r'"\$GITHUB_ACTION_PATH/([^"]+)"', ACTION.read_text()):
        if script.endswith(".sh"):
            assert (REPO / script).is_file(), script


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_example_workflows_are_valid_and_use_this_release(workflow: Path) -> None:
    document = _yaml(workflow)
    jsonschema.validate(document, _vendored_schema("github-workflows"))
    text = workflow.read_text(encoding="utf-8")
    assert set(re.findall(r"OWNER/dialogops@(v[\d.]+)", text)) == {RELEASE}


def test_apply_workflow_runs_one_apply_per_environment_never_cancelled() -> None:
    workflow = _yaml(REPO / "ci" / "github" / "main.yml")
    assert workflow["concurrency"] == {"group": "dialogops-production", "cancel-in-progress": False}
    (job,) = workflow["jobs"].values()
    assert job["environment"] == "production"
    (action,) = [s for s in job["steps"] if "OWNER/dialogops" in s.get("uses", "")]
    assert action["with"] == {
        "command": "apply",
        "environment": "production",
        "commit-state": "dialogops.state.json",
    }
    plan = _yaml(REPO / "ci" / "github" / "pull-request.yml")
    assert plan["on"]["pull_request"]["paths"] == workflow["on"]["push"]["paths"]


def test_gitlab_template_is_valid_with_the_required_jobs() -> None:
    template = _yaml(GITLAB)
    jsonschema.validate(template, _vendored_schema("gitlab-ci"))
    assert {"dialogops-validate", "dialogops-plan", "dialogops-apply"} <= set(template)
    plan, apply = template["dialogops-plan"], template["dialogops-apply"]
    assert plan["artifacts"]["reports"] == {"terraform": ".dialogops-ci/gitlab-report.json"}
    assert plan["artifacts"]["expose_as"] == "dialogops plan"
    assert plan["artifacts"]["when"] == "always"
    assert apply["resource_group"] == "dialogops-$DIALOGOPS_ENVIRONMENT"
    assert apply["needs"] == ["dialogops-plan"]
    assert apply["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", "when": "manual"}]
    assert template["variables"]["DIALOGOPS_PACKAGE"].endswith(f"/OWNER/dialogops@{RELEASE}")


def test_gitlab_example_includes_this_release_of_the_template() -> None:
    example = _yaml(GITLAB_EXAMPLE)
    (include,) = example["include"]
    assert include["remote"].endswith(f"/{RELEASE}/ci/gitlab/dialogops.gitlab-ci.yml")
    merged = _yaml(GITLAB)
    merged["variables"] = {**merged["variables"], **example["variables"]}
    jsonschema.validate(merged, _vendored_schema("gitlab-ci"))
    assert set(example["variables"]) <= set(merged["variables"])


def test_pre_commit_files_are_what_pre_commit_reads() -> None:
    from pre_commit.clientlib import load_config, load_manifest

    hooks = {hook["id"]: hook for hook in load_manifest(str(HOOKS))}
    assert hooks["dialogops-validate"]["entry"] == "dialogops validate --changed"
    assert hooks["dialogops-fmt"]["entry"] == "dialogops fmt --changed"
    assert all(hook["types"] == ["yaml"] for hook in hooks.values())
    (repo,) = load_config(str(PRE_COMMIT_EXAMPLE))["repos"]
    assert repo["rev"] == RELEASE
    assert [hook["id"] for hook in repo["hooks"]] == list(hooks)


@pytest.mark.parametrize(
    "path",
    [*WORKFLOWS, GITLAB, GITLAB_EXAMPLE, PRE_COMMIT_EXAMPLE],
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_docs_show_each_file_as_it_is(path: Path) -> None:
    blocks = re.findall(r"^```ya?ml\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.M | re.S)
    assert path.read_text(encoding="utf-8") in blocks


# ---- the GitHub Action's shell -------------------------------------------------------------


def _action_step(name: str) -> dict[str, Any]:
    steps = _yaml(ACTION)["runs"]["steps"]
    (step,) = [s for s in steps if s.get("id") == name]
    return step


def _expand(value: str, context: Mapping[str, str]) -> str:
    """GitHub's `${{ name }}` expressions, from `context`; any other is a test failure."""
    return re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", lambda m: context[m[1]], value)


def _run_action_step(
    step_id: str,
    work: Path,
    tmp_path: Path,
    inputs: Mapping[str, str],
    github: Mapping[str, str] | None = None,
) -> tuple[subprocess.CompletedProcess[str], str, str]:
    """Run the action's step `step_id` as GitHub would for `inputs` (plus the action's
    defaults); return the result, the job summary and the step outputs written."""
    action = _yaml(ACTION)
    context = {f"inputs.{k}": str(v.get("default", "")) for k, v in action["inputs"].items()}
    context.update({f"inputs.{k}": v for k, v in inputs.items()})
    context["runner.temp"] = str(tmp_path / "runner-temp")
    step = _action_step(step_id)
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs.txt"
    for path in (summary, outputs):
        path.write_text("", encoding="utf-8")
    env = _env(
        tmp_path,
        {
            "GITHUB_ACTION_PATH": str(REPO),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(outputs),
            **{k: _expand(str(v), context) for k, v in step.get("env", {}).items()},
            **(github or {}),
        },
    )
    cwd = work / _expand(step.get("working-directory", "."), context)
    result = _bash(step["run"], cwd, env)
    return result, summary.read_text(encoding="utf-8"), outputs.read_text(encoding="utf-8")


def _outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT lines, `name=value` and `name<<DELIMITER ... DELIMITER`."""
    found: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, sep, delimiter = line.partition("<<")
        if sep:
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            found[name] = "\n".join(body)
        else:
            key, _, value = line.partition("=")
            found[key] = value
    return found


def test_action_validate_annotates_the_problems(tmp_path: Path) -> None:
    _, work = _checkout(tmp_path)
    manifest = work / "campaigns" / "nps-2099-12.yaml"
    manifest.write_text(manifest.read_text().replace("attempts: 3", "attempts: 6"))
    result, _, outputs = _run_action_step("dialogops", work, tmp_path, {"command": "validate"})
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        "::error file=campaigns/nps-2099-12.yaml,line=15,col=15,title=dialogops::"
        "spec.schedule.attempts: 6 is greater than the maximum of 5"
    )
    assert _outputs(outputs) == {"exitcode": "1"}


def test_action_plan_writes_the_summary_the_comment_and_the_plan_artifact(
    tmp_path: Path,
) -> None:
    _, work = _checkout(tmp_path)
    result, summary, outputs = _run_action_step(
        "dialogops", work, tmp_path, {"command": "plan", "args": "--var unused=1"}
    )
    assert result.returncode == 0, result.stderr
    plan_dir = tmp_path / "runner-temp" / "dialogops-plan"
    markdown = (plan_dir / "plan.md").read_text(encoding="utf-8")
    # Made in a git checkout: the header names the state serial and the commit.
    assert re.match(
        r"### dialogops plan\n\nstate serial 1 · commit [0-9a-f]{40}\n\n"
        r"\*\*Plan: 1 to create, 0 unchanged",
        markdown,
    )
    assert summary == markdown
    assert _outputs(outputs) == {
        "markdown": markdown.rstrip("\n"),
        "saved": "true",
        "exitcode": "0",
    }
    assert re.search(r"^markdown<<dialogops_[0-9a-f]{32}$", outputs, re.M)
    saved = json.loads((plan_dir / "plan.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in saved["campaigns"]] == ["nps-2099-12"]
    assert saved["options"]["vars"] == ["unused"]
    assert "+7999" not in (plan_dir / "plan.json").read_text(encoding="utf-8")


def test_action_plan_that_cannot_be_made_annotates_why(tmp_path: Path) -> None:
    _, work = _checkout(tmp_path)
    (work / "campaigns" / "data" / "nps.csv").write_text(
        "phone;last_name;first_name;slot;contract\n12345;A;B;;1\n", encoding="utf-8"
    )
    result, summary, outputs = _run_action_step("dialogops", work, tmp_path, {"command": "plan"})
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        "::error file=campaigns/data/nps.csv,line=2,col=1,title=dialogops::"
        "phone: '12345' is not a valid phone number (too short)"
    )
    assert summary == (
        "### dialogops plan (production) failed\n\nSee the annotations and the job log.\n"
    )
    assert _outputs(outputs) == {"exitcode": "1"}


def test_action_apply_applies_the_saved_plan_and_pushes_the_state(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    origin, work = _checkout(tmp_path)
    planned, _, _ = _run_action_step("dialogops", work, tmp_path, {"command": "plan"})
    assert planned.returncode == 0, planned.stderr
    # Meanwhile another pull request is merged: the state commit must land on top of it.
    other = tmp_path / "other"
    _git(tmp_path, "clone", "--quiet", str(origin), str(other))
    (other / "README.md").write_text("campaigns\n")
    _git(other, "add", "README.md")
    _git(other, "commit", "--quiet", "-m", "readme")
    _git(other, "push", "--quiet", "origin", "HEAD:refs/heads/main")

    result, summary, outputs = _run_action_step(
        "dialogops",
        work,
        tmp_path,
        {"command": "apply", "commit-state": "dialogops.state.json"},
        github={
            "DIALOG_API_URL": sandbox.url,
            "DIALOG_TOKEN": SANDBOX_TOKEN,
            "GITHUB_REF_NAME": "main",
            "GITHUB_SHA": "0123abc",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "  nps-2099-12: id " in result.stdout
    assert summary.startswith("### dialogops apply (production)\n\n```text\n")
    assert _outputs(outputs) == {"exitcode": "0"}
    log = _git(origin, "log", "--format=%s", "main")
    assert log.splitlines()[:2] == [
        "dialogops apply (production): state after 0123abc",
        "readme",
    ]
    state = json.loads(_git(origin, "show", "main:dialogops.state.json"))
    assert state["campaigns"]["nps-2099-12"]["status"] == "created"
    assert SANDBOX_TOKEN not in result.stdout + summary


def test_action_apply_without_a_saved_plan_refuses(tmp_path: Path) -> None:
    _, work = _checkout(tmp_path)
    result, _, _ = _run_action_step("dialogops", work, tmp_path, {"command": "apply"})
    assert result.returncode == 1
    plan_dir = tmp_path / "runner-temp" / "dialogops-plan"
    assert result.stdout == (
        f"::error title=dialogops::no saved plan in {plan_dir}: apply runs only a reviewed plan\n"
    )


def _fake_gh(tmp_path: Path, pulls: list[Any], artifacts: list[Any]) -> Path:
    """A `gh` that answers the two API calls find-plan.sh makes, filtered by `--jq` as the
    real one does (with jq), and records the paths it was asked for."""
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed (GitHub's runners have it)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "pulls.json").write_text(json.dumps(pulls))
    (tmp_path / "artifacts.json").write_text(json.dumps({"artifacts": artifacts}))
    gh = bin_dir / "gh"
    gh.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$2" >> "{tmp_path}/gh-calls.txt"\n'
        "case $2 in\n"
        f'  */pulls) answer="{tmp_path}/pulls.json" ;;\n'
        f'  */actions/artifacts\\?*) answer="{tmp_path}/artifacts.json" ;;\n'
        "  *) exit 9 ;;\n"
        "esac\n"
        'jq -r "$4" "$answer"\n'
    )
    gh.chmod(0o755)
    return bin_dir


def test_find_plan_picks_the_run_that_planned_the_merged_pull_request(tmp_path: Path) -> None:
    def artifact(run: int, sha: str, expired: bool = False) -> dict[str, Any]:
        return {"expired": expired, "workflow_run": {"id": run, "head_sha": sha}}

    bin_dir = _fake_gh(
        tmp_path,
        pulls=[
            {"merged_at": None, "head": {"sha": "open"}},
            {"merged_at": "x", "head": {"sha": "h1"}},
        ],
        artifacts=[artifact(30, "other"), artifact(20, "h1", expired=True), artifact(12, "h1")],
    )
    result, _, outputs = _run_action_step(
        "find",
        tmp_path,
        tmp_path,
        {"command": "apply", "environment": "staging"},
        github={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_REPOSITORY": "team/campaigns",
            "GITHUB_SHA": "merge1",
        },
    )
    assert result.returncode == 0, result.stderr
    assert _outputs(outputs) == {"run-id": "12"}
    assert (tmp_path / "gh-calls.txt").read_text().splitlines() == [
        "repos/team/campaigns/commits/merge1/pulls",
        "repos/team/campaigns/actions/artifacts?name=dialogops-plan-staging&per_page=100",
    ]


def test_find_plan_refuses_a_commit_that_no_pull_request_merged(tmp_path: Path) -> None:
    bin_dir = _fake_gh(tmp_path, pulls=[], artifacts=[])
    result, _, outputs = _run_action_step(
        "find",
        tmp_path,
        tmp_path,
        {"command": "apply"},
        github={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_REPOSITORY": "team/campaigns",
            "GITHUB_SHA": "direct",
        },
    )
    assert result.returncode == 1
    assert result.stdout == (
        "::error title=dialogops::direct is not the merge of a pull request: "
        "apply runs only a plan reviewed in one\n"
    )
    assert outputs == ""


def test_code_scanning_workflow_uploads_problems_and_fails_on_an_error(tmp_path: Path) -> None:
    (job,) = _yaml(REPO / "ci" / "github" / "code-scanning.yml")["jobs"].values()
    (step,) = [s for s in job["steps"] if s.get("name") == "dialogops validate"]
    _, work = _checkout(tmp_path)
    manifest = work / "campaigns" / "nps-2099-12.yaml"
    manifest.write_text(manifest.read_text().replace("attempts: 3", "attempts: 6"))
    result = _bash(step["run"], work, _env(tmp_path))
    assert result.returncode == 0, result.stderr
    document = json.loads((work / "dialogops.sarif").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(sarif_schema()).validate(document)
    assert [r["ruleId"] for r in document["runs"][0]["results"]] == ["schema"]
    (work / "dialogops.yaml").unlink()
    (work / "campaigns").rename(work / "elsewhere")  # no project at all: an error, no log
    broken = _bash(step["run"], work, _env(tmp_path))
    assert broken.returncode == 1
    assert broken.stderr.startswith("error: campaigns: no such folder")


# ---- the GitLab template's shell -----------------------------------------------------------


def _run_gitlab_job(
    job: str, work: Path, tmp_path: Path, variables: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The job's `script` (its `before_script` installs dialogops: left out) in one shell,
    with the template's variables and those a runner sets."""
    template = _yaml(GITLAB)
    env = _env(
        tmp_path,
        {
            **template["variables"],
            "CI_PROJECT_DIR": str(work),
            "CI_COMMIT_BRANCH": "main",
            "CI_COMMIT_SHORT_SHA": "0123abc",
            **(variables or {}),
        },
    )
    return _bash("\n".join(template[job]["script"]), work, env)


def test_gitlab_jobs_validate_plan_with_its_report_and_apply(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    origin, work = _checkout(tmp_path)
    validated = _run_gitlab_job("dialogops-validate", work, tmp_path)
    assert (validated.returncode, validated.stdout) == (
        0,
        "ok: 1 Campaign and 1 Report manifests valid\n",
    )

    planned = _run_gitlab_job("dialogops-plan", work, tmp_path)
    assert planned.returncode == 0, planned.stderr
    artifacts = work / ".dialogops-ci"
    assert sorted(p.name for p in artifacts.iterdir()) == [
        "gitlab-report.json",
        "plan.json",
        "plan.md",
    ]
    assert json.loads((artifacts / "gitlab-report.json").read_text()) == {
        "create": 1,
        "update": 0,
        "delete": 0,
    }
    assert planned.stdout == (artifacts / "plan.md").read_text(encoding="utf-8")

    applied = _run_gitlab_job(
        "dialogops-apply",
        work,
        tmp_path,
        {
            "DIALOG_API_URL": sandbox.url,
            "DIALOG_TOKEN": SANDBOX_TOKEN,
            "DIALOGOPS_COMMIT_STATE": "dialogops.state.json",
            "DIALOGOPS_PUSH_URL": str(origin),
        },
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert _git(origin, "log", "-1", "--format=%s", "main") == (
        "dialogops apply (production): state after 0123abc\n"
    )
    state = json.loads(_git(origin, "show", "main:dialogops.state.json"))
    assert state["campaigns"]["nps-2099-12"]["status"] == "created"

    # The next pipeline: nothing to create, the report says so.
    again = _run_gitlab_job("dialogops-plan", work, tmp_path)
    assert again.returncode == 0
    assert json.loads((artifacts / "gitlab-report.json").read_text())["create"] == 0


def test_gitlab_plan_that_fails_keeps_its_exit_code(tmp_path: Path) -> None:
    _, work = _checkout(tmp_path)
    (work / "dialogops.state.json").write_text("{")
    planned = _run_gitlab_job("dialogops-plan", work, tmp_path)
    assert planned.returncode == 1
    assert "state file is not valid JSON" in planned.stderr


# ---- pre-commit ----------------------------------------------------------------------------

GOOD_REPORT = (REPO / "campaigns" / "nps-2099-12-results.yaml").read_text(encoding="utf-8")


def _this_tree(tmp_path: Path) -> Path:
    """This repository's working tree as one commit: pre-commit installs hooks from a commit,
    and the tree under test may hold changes not committed yet. The tests are left out
    (two thirds of the files): installing the hooks never reads them."""
    listed = _git(REPO, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    tree = tmp_path / "dialogops-repo"
    for name in filter(None, listed.split("\0")):
        if not name.startswith("tests/") and (REPO / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, tree / name)
    _git(tree, "init", "--quiet")
    _git(tree, "add", "-A")
    _git(tree, "commit", "--quiet", "-m", "dialogops under test")
    return tree


@pytest.mark.slow
def test_pre_commit_hooks_fail_on_a_bad_manifest_then_pass(tmp_path: Path) -> None:
    """The real pre-commit builds the hooks' environment from this repository (pip) and runs
    them on the changed files of a project in git.

    pip works offline, as in the wheel test: this test run's packages (on PYTHONPATH) supply
    pip itself, the dependencies and hatchling to build the repository, so no minutes go to
    PyPI or to seeding the environment."""
    project = example_project(tmp_path)
    _git(project, "init", "--quiet")
    workflow = project / ".github" / "workflows" / "ci.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("on: push\njobs: {}\n")
    report = project / "campaigns" / "nps-2099-12-results.yaml"
    report.write_text(GOOD_REPORT.replace("scenario_id: 951", "scenario_id: zero"))
    _git(project, "add", "-A")
    here = dict.fromkeys(sysconfig.get_path(name) for name in ("purelib", "platlib"))
    env = _env(
        tmp_path,
        {
            "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
            "PYTHONPATH": os.pathsep.join(here),
            "PIP_NO_INDEX": "1",
            "PIP_NO_DEPS": "1",
            "PIP_NO_BUILD_ISOLATION": "0",  # pip reads "0" here as: build without isolation
            "VIRTUALENV_NO_PIP": "1",
            "VIRTUALENV_NO_SETUPTOOLS": "1",
            "VIRTUALENV_NO_WHEEL": "1",
        },
    )
    # The campaign the report names lives in an unchanged file: only these two are passed.
    changed = ["--files", "campaigns/nps-2099-12-results.yaml", ".github/workflows/ci.yml"]
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(_this_tree(tmp_path)), *changed]

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, cwd=project, env=env, capture_output=True, text=True, timeout=900, check=False
        )

    started = time.monotonic()
    bad = run()
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert re.search(r"^dialogops validate\.+Failed$", bad.stdout, re.M), bad.stdout
    assert (
        "campaigns/nps-2099-12-results.yaml:8:16: spec.scenario_id: 'zero' is not of type 'integer'"
    ) in bad.stdout
    report.write_text(GOOD_REPORT)
    _git(project, "add", "-A")
    good = run()
    assert good.returncode == 0, good.stdout + good.stderr
    assert re.search(r"^dialogops validate\.+Passed$", good.stdout, re.M), good.stdout
    assert re.search(r"^dialogops fmt\.+Passed$", good.stdout, re.M), good.stdout
    print(f"pre-commit try-repo, bad then good: {time.monotonic() - started:.0f}s")
