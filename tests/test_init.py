"""init: the scaffolded project validates as written and nothing is ever overwritten."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import run_cli

from dialogops.errors import UsageError
from dialogops.manifests import today_in
from dialogops.scaffold import scaffold


def test_init_then_validate_is_clean(tmp_path: Path) -> None:
    result = run_cli(["init"], tmp_path)
    assert result.returncode == 0, result.stderr
    week_ahead = today_in("Europe/Moscow") + dt.timedelta(days=7)
    manifest = tmp_path / "campaigns" / f"welcome-{week_ahead:%Y-%m-%d}.yaml"
    assert f"date: {week_ahead:%Y-%m-%d}" in manifest.read_text()
    assert (tmp_path / ".gitignore").read_text() == ".dialogops/\n"
    assert result.stdout.splitlines()[-1] == "next: dialogops validate && dialogops plan"
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
