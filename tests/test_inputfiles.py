"""inputfiles: a FIFO, a device, a socket or a directory is refused before it is read, by
the helper and by every command that reads a file a user names (the state, a saved plan,
a manifest, a phone or exclude file, the .gitignore init extends); reads stop at their cap.

A regression here would block for ever, so every test runs under an alarm that fails it.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dialogops.inputfiles import (
    FileTooLargeError,
    NotRegularFileError,
    open_regular,
    read_capped,
    size_text,
)
from tests.conftest import run_cli
from tests.sample_manifests import new_project, write_campaign

SECONDS = 20


@pytest.fixture(autouse=True)
def _alarm() -> Iterator[None]:
    """Fail a test that blocks (opening a FIFO does) instead of hanging the suite."""

    def expire(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"blocked for {SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _zero(path: Path) -> Path:
    """A symlink to /dev/zero: a file that never ends, named like a regular one."""
    path.symlink_to("/dev/zero")
    return path


def test_special_files_are_refused_by_kind(tmp_path: Path) -> None:
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(tmp_path / "sock"))
    try:
        refused = {
            "fifo": _fifo(tmp_path / "fifo"),
            "zero": _zero(tmp_path / "zero"),
            "sock": tmp_path / "sock",
        }
        messages = {}
        for name, path in refused.items():
            with pytest.raises(NotRegularFileError) as info:
                open_regular(path)
            messages[name] = str(info.value)
    finally:
        listening.close()
    assert messages == {
        "fifo": "a named pipe (FIFO), not a regular file",
        "zero": "a character device, not a regular file",
        "sock": "a socket, not a regular file",
    }
    with pytest.raises(IsADirectoryError):
        open_regular(tmp_path)
    with pytest.raises(FileNotFoundError):
        open_regular(tmp_path / "none")


def test_a_regular_file_and_a_link_to_one_are_read(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    (tmp_path / "link").symlink_to(tmp_path / "f")
    with open_regular(tmp_path / "link") as handle:
        assert handle.read() == b"abc"
    assert read_capped(tmp_path / "f", 3, "a test file") == b"abc"


def test_a_read_stops_one_byte_past_its_cap(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abcd")
    with pytest.raises(FileTooLargeError) as info:
        read_capped(tmp_path / "f", 3, "a test file")
    assert str(info.value) == "larger than 3 bytes, the most dialogops reads from a test file"
    assert (size_text(16 * 2**20), size_text(1000)) == ("16 MiB", "1,000 bytes")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    new_project(tmp_path)
    write_campaign(tmp_path, "survey", "    csv: {path: data/p.csv}")
    return tmp_path


@pytest.mark.parametrize(
    ("make", "kind"),
    [(_fifo, "a named pipe (FIFO)"), (_zero, "a character device")],
    ids=["fifo", "dev-zero"],
)
def test_state_that_is_not_a_regular_file(project: Path, make: object, kind: str) -> None:
    assert callable(make)
    make(project / "state.json")
    result = run_cli(["plan", "--state", "state.json"], project)
    assert (result.returncode, result.stdout) == (1, "")
    shown = (project / "state.json").resolve()  # /dev/zero for the link to it
    assert result.stderr == (
        f"error: {shown}: cannot read the state file: {kind}, not a regular file\n"
    )


@pytest.mark.parametrize(
    ("make", "kind"),
    [(_fifo, "a named pipe (FIFO)"), (_zero, "a character device")],
    ids=["fifo", "dev-zero"],
)
def test_saved_plan_that_is_not_a_regular_file(project: Path, make: object, kind: str) -> None:
    assert callable(make)
    make(project / "plan.json")
    result = run_cli(["apply", "--plan", "plan.json", "--sandbox"], project)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"error: plan file plan.json is not readable: {kind}, not a regular file\n"
    )


def test_state_and_saved_plan_over_their_caps(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dialogops.state.local.MAX_STATE_BYTES", 2**20)
    monkeypatch.setattr("dialogops.savedplan.MAX_SAVED_PLAN_BYTES", 2**20)
    (project / "big.json").write_bytes(b" " * (2**20 + 1))
    result = run_cli(["plan", "--state", "big.json"], project)
    assert (result.returncode, result.stderr) == (
        1,
        f"error: {project / 'big.json'}: cannot read the state file: larger than 1 MiB, "
        "the most dialogops reads from a state file\n",
    )
    result = run_cli(["apply", "--plan", "big.json", "--sandbox"], project)
    assert (result.returncode, result.stderr) == (
        1,
        "error: plan file big.json is not readable: larger than 1 MiB, "
        "the most dialogops reads from a saved plan\n",
    )


def test_manifest_that_is_not_a_regular_file(project: Path) -> None:
    _fifo(project / "campaigns" / "pipe.yaml")
    _zero(project / "campaigns" / "zero.yml")
    result = run_cli(["validate"], project)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        # Manifests are named by their real path, so a link by what it links to.
        "/dev/zero:1:1: cannot read file: a character device, not a regular file",
        "campaigns/pipe.yaml:1:1: cannot read file: a named pipe (FIFO), not a regular file",
        "2 problems in 2 files",
    ]
    result = run_cli(["validate", "campaigns/pipe.yaml"], project)
    assert result.stdout.splitlines()[0] == (
        "campaigns/pipe.yaml:1:1: cannot read file: a named pipe (FIFO), not a regular file"
    )


def test_phone_and_exclude_files_that_are_not_regular_files(project: Path) -> None:
    _fifo(project / "campaigns" / "data" / "pipe.csv")
    _zero(project / "campaigns" / "data" / "zero.csv")
    write_campaign(project, "survey", "    csv: {path: data/pipe.csv}")
    write_campaign(project, "other", "    jsonl: {path: data/zero.csv}")
    write_campaign(project, "third", "    csv: {path: data/p.csv}\n    exclude: [data/pipe.csv]")
    result = run_cli(["validate"], project)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        # Links are resolved before anything is opened, so this one is refused as outside.
        f"campaigns/other.yaml:12:19: spec.phones.jsonl.path: 'data/zero.csv' resolves "
        f"outside the project root {project}",
        "campaigns/survey.yaml:12:17: spec.phones.csv.path: 'data/pipe.csv' is a named pipe "
        "(FIFO), not a regular file",
        "campaigns/third.yaml:13:15: spec.phones.exclude[0]: 'data/pipe.csv' is a named pipe "
        "(FIFO), not a regular file",
        "3 problems in 3 files",
    ]


def test_a_file_swapped_for_a_fifo_after_validation_is_refused_when_read(
    tmp_path: Path,
) -> None:
    """Validation checks the path; the reader checks what it opened, so a race cannot block."""
    from dialogops.datafiles import DataFileError, Kind, csv_rows

    pipe = _fifo(tmp_path / "p.csv")
    with pytest.raises(DataFileError) as info:
        next(csv_rows(pipe, "data/p.csv"))
    assert (info.value.problem.kind, info.value.problem.message) == (
        Kind.PATH,
        "'data/p.csv' is a named pipe (FIFO), not a regular file",
    )


def test_a_config_that_is_not_a_regular_file(project: Path) -> None:
    (project / "dialogops.yaml").unlink()
    _fifo(project / "dialogops.yaml")
    (project / "campaigns" / "sub").mkdir()
    for cwd, args in (
        (project, []),
        (project / "campaigns" / "sub", []),
        (project, ["--config", "dialogops.yaml"]),
    ):
        result = run_cli(["validate", *args], cwd)
        assert result.returncode == 1
        assert result.stdout.splitlines()[0].endswith(
            "dialogops.yaml:1:1: cannot read file: a named pipe (FIFO), not a regular file"
        )


def test_a_var_file_that_is_not_a_regular_file(project: Path) -> None:
    _fifo(project / "vars.yaml")
    result = run_cli(["plan", "--var-file", "vars.yaml"], project)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: vars.yaml:1:1: cannot read file: a named pipe (FIFO), not a regular file\n"
    )


@pytest.mark.parametrize(
    ("make", "kind"),
    [(_fifo, "a named pipe (FIFO)"), (_zero, "a character device")],
)
def test_init_refuses_a_gitignore_that_is_not_a_regular_file(
    tmp_path: Path, make: Callable[[Path], Path], kind: str
) -> None:
    make(tmp_path / ".gitignore")
    result = run_cli(["init"], tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: cannot read .gitignore: {kind}, not a regular file\n"
    assert [path.name for path in tmp_path.iterdir()] == [".gitignore"]  # nothing written
