"""`dialogops plan` end to end: a real project under tmp_path, hand-written state files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import run_cli
from tests.samples import start_state
from tests.sarif_schema import sarif_schema

CONFIG = """\
state:
  path: dialogops.state.json
defaults:
  project_id: 1
  phone_id: 5
"""

MANIFEST = """\
apiVersion: dialogops/v1
kind: Campaign
metadata:
  name: {name}
spec:
  title: Обзвон клиентов
  start_block_id: 10
  schedule:
    date: 2099-12-01
    start_time: "09:00"
    end_time: "17:00"
    attempts: 3
    interval_minutes: 5
  phones:
    csv:
      path: ../data/{name}.csv
  add_data:
    name: "{{{{ row.name }}}}"
    code: Секретный-код-42
"""

CSV = """\
phone,name
8 (999) 123-45-67,Иванов
+79991234568,Петров
79991234569,Сидоров
89991234567,Иванов
"""

RAW_PHONES = ("79991234567", "79991234568", "79991234569", "9991234567")
SECRETS = ("Иванов", "Петров", "Сидоров", "Секретный-код-42")


def make_project(root: Path, names: tuple[str, ...] = ("nps",)) -> Path:
    (root / "campaigns").mkdir()
    (root / "data").mkdir()
    (root / "dialogops.yaml").write_text(CONFIG, encoding="utf-8")
    for name in names:
        (root / "campaigns" / f"{name}.yaml").write_text(MANIFEST.format(name=name), "utf-8")
        (root / "data" / f"{name}.csv").write_text(CSV, encoding="utf-8")
    return root


def plan_json(root: Path, *args: str) -> dict[str, Any]:
    result = run_cli(["plan", "--format", "json", *args], root)
    assert result.returncode in (0, 1, 2), result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def fingerprint_of(root: Path, name: str) -> str:
    campaign = next(c for c in plan_json(root)["campaigns"] if c["name"] == name)
    fingerprint: str = campaign["render"]["fingerprint"]
    return fingerprint


def write_state(root: Path, campaigns: dict[str, dict[str, Any]]) -> Path:
    path = root / "dialogops.state.json"
    document = {"version": 1, "serial": 4, "lineage": "3b1f7a52-lineage", "campaigns": campaigns}
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def created(fingerprint: str, id: int = 4242) -> dict[str, Any]:
    return {
        "status": "created",
        "id": id,
        "fingerprint": fingerprint,
        "phones": 3,
        "created_at": "2026-01-01T10:00:00Z",
    }


def assert_private(*outputs: str) -> None:
    for output in outputs:
        for phone in RAW_PHONES:
            assert phone not in output


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


def test_a_new_campaign_is_a_create_with_masked_phones(project: Path) -> None:
    result = run_cli(["plan"], project)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "+ nps  create  3 phones"
    assert "    schedule: 2099-12-01 09:00-17:00, 3 attempts, interval 5 min" in lines
    assert "    add_data: name, code" in lines
    assert "    rows: 4; dropped: 1 duplicate, 0 excluded, 0 skipped" in lines
    assert "    phones: +7999***4567, +7999***4568, +7999***4569" in lines
    assert lines[-1] == (
        "Plan: 1 to create, 0 unchanged, 0 changed, 0 unknown, 0 orphaned; "
        "3 phones would be called."
    )
    assert_private(result.stdout, result.stderr)
    assert "Traceback" not in result.stderr


def test_plan_never_writes_state(project: Path) -> None:
    state = write_state(project, {"nps": created("sha256:" + "1" * 64)})
    before = state.read_bytes()
    result = run_cli(["plan", "--replace", "nps"], project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("-/+ nps  replace  3 phones")
    assert state.read_bytes() == before
    assert sorted(p.name for p in project.iterdir()) == [
        "campaigns",
        "data",
        "dialogops.state.json",
        "dialogops.yaml",
    ]


def test_detailed_exit_codes(project: Path) -> None:
    assert run_cli(["plan", "--detailed-exitcode"], project).returncode == 2
    write_state(project, {"nps": created(fingerprint_of(project, "nps"))})
    result = run_cli(["plan", "--detailed-exitcode"], project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("= nps  unchanged  3 phones\n")
    assert "Plan: 0 to create, 1 unchanged," in result.stdout
    broken = run_cli(["plan", "--detailed-exitcode", "--target", "nope"], project)
    assert broken.returncode == 1
    assert broken.stderr == "error: --target nope: no campaign of that name\n"


def test_a_changed_campaign_fails_with_the_command_that_resolves_it(project: Path) -> None:
    write_state(project, {"nps": created("sha256:" + "1" * 64)})
    result = run_cli(["plan", "--detailed-exitcode"], project)
    assert result.returncode == 1
    assert result.stdout.startswith("! nps  changed  3 phones (state: id 4242, 3 phones)\n")
    assert result.stderr == (
        "error: campaign nps is changed; the API cannot update a campaign: revert the change, "
        "or raise metadata.revision to 2 in campaigns/nps.yaml to create a new campaign\n"
    )
    replaced = run_cli(["plan", "--replace", "nps", "--detailed-exitcode"], project)
    assert replaced.returncode == 2, replaced.stderr
    assert replaced.stdout.startswith("-/+ nps  replace  3 phones (replaces: id 4242, 3 phones)")


def test_an_unknown_outcome_fails_with_import_or_state_rm(project: Path) -> None:
    write_state(
        project,
        {
            "nps": {
                "status": "unknown",
                "fingerprint": "sha256:" + "2" * 64,
                "phones": 3,
                "started_at": "2026-01-01T10:00:00Z",
            }
        },
    )
    result = run_cli(["plan"], project)
    assert result.returncode == 1
    assert result.stdout.startswith("? nps  unknown  3 phones (state: status unknown, 3 phones)")
    assert result.stderr == (
        "error: campaign nps is unknown; to resolve it run: "
        "dialogops import nps ID or dialogops state rm nps\n"
    )


def test_an_orphan_is_only_a_warning(project: Path) -> None:
    write_state(
        project,
        {
            "nps": created(fingerprint_of(project, "nps")),
            "old-campaign": created("sha256:" + "3" * 64, id=17),
        },
    )
    result = run_cli(["plan", "--detailed-exitcode"], project)
    assert result.returncode == 0, result.stderr
    assert "- old-campaign  orphaned  (state: id 17, 3 phones)" in result.stdout
    assert "dialogops state rm old-campaign forgets it" in result.stdout
    assert "1 unchanged, 0 changed, 0 unknown, 1 orphaned; 0 phones" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"version": 1, "serial": ', "state file is not valid JSON"),
        ('{"version": 9, "serial": 1, "lineage": "x", "campaigns": {}}', "newer dialogops"),
        (
            '{"version": 1, "serial": -1, "lineage": "x", "campaigns": {}}',
            "not a valid dialogops state file",
        ),
    ],
)
def test_a_corrupt_state_file_is_a_clear_error(project: Path, content: str, message: str) -> None:
    (project / "dialogops.state.json").write_text(content, encoding="utf-8")
    result = run_cli(["plan"], project)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert "dialogops.state.json" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_render_problems_are_reported_with_file_and_line(tmp_path: Path) -> None:
    root = make_project(tmp_path, ("one", "two"))
    (root / "data" / "one.csv").write_text("phone,name\n12345,A\n+79991234567,B\n", "utf-8")
    (root / "data" / "two.csv").write_text(
        "phone,name\n+79991234567,B\nnot-a-phone,C\n8 (999) 765-43-2,D\n", "utf-8"
    )
    result = run_cli(["plan"], root)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert "one.csv:2" in result.stderr and "two.csv:3" in result.stderr
    # A number one digit short is nearly someone's phone: its middle is hidden.
    assert "two.csv:4:1: phone: '8 (999) ***-*3-2' is not a valid phone number" in result.stderr
    assert "765" not in result.stderr
    assert "Traceback" not in result.stderr


def test_json_output_is_versioned_and_masked(project: Path) -> None:
    result = run_cli(["plan", "--format", "json", "--var", "k=v"], project)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["format_version"] == 1
    assert doc["options"]["vars"] == ["k"]
    assert doc["summary"]["to_create"] == 1 and doc["summary"]["phones_to_call"] == 3
    (campaign,) = doc["campaigns"]
    assert campaign["render"]["sample_phones"] == ["+7999***4567", "+7999***4568", "+7999***4569"]
    assert campaign["campaign"]["add_data_keys"] == ["name", "code"]
    assert_private(result.stdout)
    for secret in SECRETS:
        assert secret not in result.stdout


def test_markdown_output_is_a_pr_comment(project: Path) -> None:
    result = run_cli(["plan", "--format", "markdown"], project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("### dialogops plan\n\nstate serial 0\n\n**Plan: 1 to create")
    assert "| `+` | `nps` | create | 3 | 2099-12-01 | 09:00-17:00 | 3 | 5 min |" in result.stdout
    assert "<details><summary>+ nps: create 3 phones</summary>" in result.stdout
    assert_private(result.stdout)


def test_out_saves_a_plan_without_phones_or_add_data(project: Path) -> None:
    result = run_cli(["plan", "--out", "plan.json"], project)
    assert result.returncode == 0, result.stderr
    assert "Saved the plan to plan.json" in result.stderr
    text = (project / "plan.json").read_text(encoding="utf-8")
    saved = json.loads(text)
    assert saved["format_version"] == 2
    assert saved["state"] == {"lineage": "", "serial": 0}
    [campaign] = saved["campaigns"]
    assert (campaign["name"], campaign["status"]) == ("nps", "create")
    assert campaign["render"] == {
        "fingerprint": fingerprint_of(project, "nps"),
        "phones": 3,
        "rows": 4,
        "duplicates": 1,
        "excluded": 0,
        "skipped": 0,
    }
    assert_private(text)
    for secret in SECRETS:
        assert secret not in text


def test_a_blocked_plan_is_not_saved(project: Path) -> None:
    write_state(project, {"nps": created("sha256:" + "1" * 64)})
    result = run_cli(["plan", "--out", "plan.json"], project)
    assert result.returncode == 1
    assert "plan not saved to plan.json" in result.stderr
    assert not (project / "plan.json").exists()


def test_colour_follows_the_terminal_and_no_color(project: Path) -> None:
    forced = {"FORCE_COLOR": "1", "NO_COLOR": ""}
    assert "\x1b[" in run_cli(["plan"], project, env=forced).stdout
    assert "\x1b[" not in run_cli(["plan", "--no-color"], project, env=forced).stdout
    assert (
        "\x1b[" not in run_cli(["plan"], project, env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout
    )


def test_paths_and_targets_limit_what_is_planned(tmp_path: Path) -> None:
    root = make_project(tmp_path, ("one", "two"))
    by_path = run_cli(["plan", "campaigns/two.yaml"], root)
    assert by_path.returncode == 0, by_path.stderr
    assert by_path.stdout.startswith("+ two  create")
    assert "+ one" not in by_path.stdout
    by_target = plan_json(root, "--target", "one")
    assert [c["name"] for c in by_target["campaigns"]] == ["one"]
    assert by_target["options"]["targets"] == ["one"]


def test_every_status_at_once_in_text_json_and_markdown(tmp_path: Path) -> None:
    root = make_project(tmp_path, ("a-new", "b-same", "c-edited", "d-lost"))
    fingerprints = {c["name"]: c["render"]["fingerprint"] for c in plan_json(root)["campaigns"]}
    write_state(
        root,
        {
            "b-same": created(fingerprints["b-same"], 101),
            "c-edited": created("sha256:" + "0" * 64, 102),
            "d-lost": {
                "status": "unknown",
                "fingerprint": fingerprints["d-lost"],
                "phones": 3,
                "started_at": "2026-01-01T10:00:00Z",
            },
            "e-gone": created("sha256:" + "1" * 64, 104),
        },
    )
    summary = (
        "Plan: 1 to create, 1 unchanged, 1 changed, 1 unknown, 1 orphaned; "
        "3 phones would be called."
    )
    outputs = {}
    for fmt in ("text", "json", "markdown"):
        result = run_cli(["plan", "--format", fmt, "--detailed-exitcode"], root)
        assert result.returncode == 1, result.stderr
        assert result.stderr.splitlines() == [
            "error: campaign c-edited is changed; the API cannot update a campaign: revert "
            "the change, or raise metadata.revision to 2 in campaigns/c-edited.yaml to create "
            "a new campaign",
            "error: campaign d-lost is unknown; to resolve it run: "
            "dialogops import d-lost ID or dialogops state rm d-lost",
        ]
        assert_private(result.stdout)
        outputs[fmt] = result.stdout
    text = outputs["text"]
    assert [line.split("  ")[0] for line in text.splitlines() if not line.startswith(" ")][:5] == [
        "+ a-new",
        "= b-same",
        "! c-edited",
        "? d-lost",
        "- e-gone",
    ]
    assert text.endswith(summary + "\n")
    doc = json.loads(outputs["json"])
    assert [(c["name"], c["status"]) for c in doc["campaigns"]] == [
        ("a-new", "create"),
        ("b-same", "unchanged"),
        ("c-edited", "changed"),
        ("d-lost", "unknown"),
        ("e-gone", "orphaned"),
    ]
    assert doc["summary"]["blocked"] is True and doc["summary"]["phones_to_call"] == 3
    markdown = outputs["markdown"]
    assert markdown.startswith(f"### dialogops plan\n\nstate serial 4\n\n**{summary}**\n\n| |")
    assert "| `-` | `e-gone` | orphaned |" in markdown
    assert "<details><summary>! c-edited: changed 3 phones (state: id 102, 3 phones)" in markdown


def test_render_problems_as_github_annotations_and_sarif(tmp_path: Path) -> None:
    root = make_project(tmp_path, ("one",))
    (root / "data" / "one.csv").write_text("phone,name\n12345,A\n+79991234567,B\n", "utf-8")
    result = run_cli(["plan", "--format", "github"], root)
    assert (result.returncode, result.stderr) == (1, "")
    assert result.stdout.splitlines() == [
        "::error file=data/one.csv,line=2,col=1,title=dialogops::"
        "phone: '12345' is not a valid phone number (too short)",
        "1 problem in 1 file",
    ]
    result = run_cli(["plan", "--format", "sarif"], root)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    jsonschema.Draft7Validator(sarif_schema()).validate(document)
    (found,) = document["runs"][0]["results"]
    assert found["ruleId"] == "render"
    assert found["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "data/one.csv", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 2, "startColumn": 1},
    }


def test_manifest_problems_of_plan_as_github_annotations(project: Path) -> None:
    manifest = project / "campaigns" / "nps.yaml"
    manifest.write_text(manifest.read_text().replace("attempts: 3", "attempts: 9"), "utf-8")
    result = run_cli(["plan", "--format", "github"], project)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        "::error file=campaigns/nps.yaml,line=12,col=15,title=dialogops::"
        "spec.schedule.attempts: 9 is greater than the maximum of 5"
    )


def test_a_plan_that_can_be_made_in_the_ci_formats(project: Path) -> None:
    github = run_cli(["plan", "--format", "github"], project)
    assert (github.returncode, github.stdout) == (0, run_cli(["plan"], project).stdout)
    sarif = run_cli(["plan", "--format", "sarif"], project)
    assert sarif.returncode == 0
    assert json.loads(sarif.stdout)["runs"][0]["results"] == []


def test_gitlab_report_counts_what_apply_would_do(tmp_path: Path) -> None:
    root = make_project(tmp_path, ("new", "same", "edited", "redo"))
    write_state(
        root,
        {
            "same": created(fingerprint_of(root, "same")),
            "edited": created("sha256:" + "1" * 64),
            "redo": created("sha256:" + "2" * 64),
            "gone": created("sha256:" + "3" * 64),
        },
    )
    blocked = run_cli(["plan", "--gitlab-report", "report.json"], root)
    assert blocked.returncode == 1  # "edited" is changed: written all the same
    report = (root / "report.json").read_text()
    assert report == '{"create": 1, "update": 2, "delete": 0}\n'
    run_cli(
        [
            "plan",
            "--replace",
            "redo",
            "--target",
            "new",
            "--target",
            "redo",
            "--gitlab-report",
            "report.json",
        ],
        root,
    )
    assert json.loads((root / "report.json").read_text()) == {
        "create": 2,
        "update": 0,
        "delete": 0,
    }


def test_gitlab_report_in_a_missing_folder_is_a_clear_error(project: Path) -> None:
    start_state(project / "dialogops.state.json")
    result = run_cli(["plan", "--gitlab-report", "nowhere/report.json"], project)
    assert result.returncode == 1
    assert result.stderr == (
        "error: cannot write GitLab report nowhere/report.json: No such file or directory\n"
    )


def test_without_a_state_plan_warns_and_apply_refuses_naming_the_state(project: Path) -> None:
    """A mistyped --state must not make apply create every campaign again."""
    start_state(project / "dialogops.state.json")
    planned = run_cli(["plan", "--state", "typo-state.json"], project)
    applied = run_cli(
        ["apply", "--auto-approve", "--state", "typo-state.json"],
        project,
        env={"DIALOG_TOKEN": "t0ken", "DIALOG_API_URL": "http://127.0.0.1:9/api"},
    )
    assert planned.returncode == 0
    assert planned.stdout.startswith("+ nps  create  3 phones")
    assert planned.stderr == (
        f"warning: there is no state at {project / 'typo-state.json'}, so every campaign counts "
        "as never created. If this project was never applied, start its state on purpose with "
        "`dialogops state init --state typo-state.json`; otherwise point dialogops at its state "
        "(--state, --workspace, or `state:` in dialogops.yaml); apply will refuse until then\n"
    )
    assert applied.returncode == 1
    assert applied.stderr.startswith(
        f"error: apply refused: there is no state at {project / 'typo-state.json'}, so every "
    )
    assert not (project / "typo-state.json").exists()
    started = run_cli(["state", "init", "--state", "typo-state.json"], project)
    assert started.returncode == 0, started.stderr
    assert (project / "typo-state.json").exists()
