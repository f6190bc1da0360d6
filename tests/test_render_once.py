"""One render, one read: plan reads each data file once, apply sends the very body the plan
fingerprinted without rendering it again, and the render checks a data file as validate does.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialogops.render import canonical_json
from dialogops.sandbox import SandboxServer
from tests.conftest import run_cli
from tests.samples import api_env, example_project

CASES = Path(__file__).parent / "cases" / "invalid"
# The corpus cases whose problem is found by reading a data file.
DATA_FILE_CASES = [
    "cp1251-declared-utf8",
    "csv-no-phone-column",
    "encoding-not-text",
    "jsonl-integer-too-long",
    "jsonl-nested-too-deep",
    "jsonl-no-phone-key",
    "max-phones-policy",
]

_opened: list[str] | None = None


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], str | bytes):
        _opened.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)  # audit hooks stay for the process: it records only when asked


@contextlib.contextmanager
def opens() -> Iterator[list[str]]:
    """The paths this process opens meanwhile, as Python's `open` audit event reports them."""
    global _opened
    found: list[str] = []
    _opened = found
    try:
        yield found
    finally:
        _opened = None


def times_opened(paths: list[str], path: Path) -> int:
    return sum(1 for p in paths if Path(p).resolve() == path.resolve())


def test_plan_opens_each_data_file_once(tmp_path: Path) -> None:
    root = example_project(tmp_path)
    data = root / "campaigns" / "data"
    with opens() as paths:
        result = run_cli(["plan"], root)
    assert result.returncode == 0, result.stderr
    assert times_opened(paths, data / "nps.csv") == 1
    assert times_opened(paths, data / "do-not-call.csv") == 1


def test_apply_sends_the_body_the_saved_plan_fingerprinted_reading_each_file_once(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = example_project(tmp_path)
    env = api_env(sandbox)
    assert run_cli(["plan", "--out", "nps.plan"], root).returncode == 0
    saved = json.loads((root / "nps.plan").read_text("utf-8"))
    [planned] = [c["render"]["fingerprint"] for c in saved["campaigns"]]

    with opens() as paths:
        result = run_cli(["apply", "--plan", "nps.plan"], root, env=env)

    assert result.returncode == 0, result.stderr
    [create] = [r for r in sandbox.requests if r.path == "/api/campaigns"]
    # The bytes received are the bytes fingerprinted; the one read of the phone file is
    # the render's, so apply rendered the campaign once.
    assert create.digest == planned
    assert int(create.headers["Content-Length"]) == len(canonical_json(create.body))
    assert times_opened(paths, root / "campaigns" / "data" / "nps.csv") == 1
    state = json.loads((root / "dialogops.state.json").read_text("utf-8"))
    assert state["campaigns"]["nps-2099-12"]["fingerprint"] == planned


@pytest.mark.parametrize("case", DATA_FILE_CASES)
def test_plan_reports_a_data_file_problem_as_validate_does(case: str, tmp_path: Path) -> None:
    root = tmp_path / case
    shutil.copytree(CASES / case, root)
    (root / "dialogops.yaml").touch()
    expected = (root / "expected.txt").read_text("utf-8").replace("{root}", str(root.resolve()))

    validated = run_cli(["validate"], root)
    planned = run_cli(["plan"], root)

    assert planned.returncode == validated.returncode == 1
    assert validated.stdout.splitlines()[:-1] == expected.splitlines()
    assert planned.stderr.splitlines() == [f"error: {line}" for line in expected.splitlines()]
