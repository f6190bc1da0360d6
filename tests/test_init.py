"""init: the scaffolded project validates as written, each file names the JSON Schema of its
kind for editors, and nothing is ever overwritten."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dialogops.errors import UsageError
from dialogops.manifests import today_in
from dialogops.scaffold import scaffold
from dialogops.schemas import schema_text
from dialogops.state import LocalBackend
from tests.conftest import check_jsonschema, run_cli


def test_init_then_validate_is_clean(tmp_path: Path) -> None:
    result = run_cli(["init"], tmp_path)
    assert result.returncode == 0, result.stderr
    week_ahead = today_in("Europe/Moscow") + dt.timedelta(days=7)
    manifest = tmp_path / "campaigns" / f"welcome-{week_ahead:%Y-%m-%d}.yaml"
    assert f'date: "{week_ahead:%Y-%m-%d}"' in manifest.read_text()
    assert (tmp_path / ".gitignore").read_text() == ".dialogops/\n"
    assert result.stdout.splitlines()[-1] == "next: dialogops validate && dialogops plan"
    state = tmp_path.resolve() / "dialogops.state.json"
    assert result.stdout.splitlines()[-2].startswith(f"started an empty state at {state} (lineage ")
    assert LocalBackend(state).exists()
    result = run_cli(["validate"], tmp_path)
    assert result.returncode == 0
    assert result.stdout == "ok: 1 Campaign and 1 Report manifests valid\n"


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "dialogops.yaml").write_text("timezone: UTC\n")
    result = run_cli(["init"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: refusing to overwrite existing files: ")
    assert (tmp_path / "dialogops.yaml").read_text() == "timezone: UTC\n"
    assert not (tmp_path / "campaigns").exists()


def test_gitignore_gains_one_line(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.pyc")
    written = scaffold(tmp_path, today=dt.date(2099, 1, 1))
    assert (tmp_path / ".gitignore").read_text() == "*.pyc\n.dialogops/\n"
    assert tmp_path / "campaigns" / "welcome-2099-01-08.yaml" in written
    with pytest.raises(UsageError):
        scaffold(tmp_path, today=dt.date(2099, 1, 1))


def test_gitignore_lines_are_kept_as_written(tmp_path: Path) -> None:
    """Its bytes, whatever their encoding: a cp1251 comment is neither refused nor rewritten."""
    written = "# кэш\r\n*.pyc".encode("cp1251")
    (tmp_path / ".gitignore").write_bytes(written)
    scaffold(tmp_path, today=dt.date(2099, 1, 1))
    assert (tmp_path / ".gitignore").read_bytes() == written + b"\n.dialogops/\n"


def test_a_gitignore_listing_dialogops_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_bytes(b"*.pyc\r\n.dialogops/\r\n")
    written = scaffold(tmp_path, today=dt.date(2099, 1, 1))
    assert (tmp_path / ".gitignore").read_bytes() == b"*.pyc\r\n.dialogops/\r\n"
    assert tmp_path / ".gitignore" not in written


def test_init_into_a_new_directory(tmp_path: Path) -> None:
    result = run_cli(["init", "new-project"], tmp_path)
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == (
        "next: cd new-project && dialogops validate && dialogops plan"
    )
    assert (tmp_path / "new-project" / "dialogops.yaml").is_file()
    assert run_cli(["validate"], tmp_path / "new-project").returncode == 0


def test_unwritable_directory_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where a folder should go")
    result = run_cli(["init", "taken/project"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot write ")
    assert "Traceback" not in result.stderr


def _modeline_schema(path: Path) -> Path:
    """The schema a file's `# yaml-language-server: $schema=...` first line names."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix), first
    return (path.parent / first.removeprefix(prefix)).resolve()


def test_each_file_names_the_schema_of_its_own_kind(tmp_path: Path) -> None:
    written = scaffold(tmp_path, today=dt.date(2099, 1, 1))
    schemas = tmp_path / ".schemas"
    for kind in ("campaign", "report", "config"):
        assert schemas / f"{kind}.schema.json" in written
        assert (schemas / f"{kind}.schema.json").read_text() == schema_text(kind)
    campaign = tmp_path / "campaigns" / "welcome-2099-01-08.yaml"
    report = tmp_path / "campaigns" / "welcome-2099-01-08-results.yaml"
    config = tmp_path / "dialogops.yaml"
    assert _modeline_schema(campaign) == schemas / "campaign.schema.json"
    assert _modeline_schema(report) == schemas / "report.schema.json"
    assert _modeline_schema(config) == schemas / "config.schema.json"
    for path in (campaign, report, config):
        result = check_jsonschema(_modeline_schema(path), path)
        assert result.returncode == 0, result.stdout
    # One schema for every file, as the old VS Code glob did, fails the Report.
    wrong = check_jsonschema(schemas / "campaign.schema.json", report)
    assert wrong.returncode == 1
    assert "'Campaign' was expected" in wrong.stdout


def test_the_example_is_already_formatted(tmp_path: Path) -> None:
    scaffold(tmp_path, today=dt.date(2099, 1, 1))
    result = run_cli(["fmt", "--check"], tmp_path)
    assert (result.returncode, result.stdout) == (
        0,
        "0 files would be reformatted, 2 files already formatted\n",
    )
