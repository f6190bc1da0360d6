"""Bounded HTTP, end to end: a total deadline per request, capped answers, URLs checked
before anything is written, and output that survives a terminal without Cyrillic."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dialogops.sandbox import SANDBOX_TOKEN, SandboxServer
from tests.conftest import child_env, run_cli, run_dialogops
from tests.samples import OWN_PEAK_RSS, api_env, read_state, state_as_started, write_project

REPORT = textwrap.dedent("""\
    ---
    apiVersion: dialogops/v1
    kind: Report
    metadata:
      name: alpha-results
    spec:
      campaign: alpha
      scenario_id: 951
      columns:
        - {id: 1, name: phone_number, display_name: Phone, column_type: field, data_type: text}
    """)


def project(tmp_path: Path, sandbox: SandboxServer, timeout: float = 3) -> Path:
    root = write_project(tmp_path / "p", ["alpha"], api_url=sandbox.url, timeout=timeout)
    with (root / "campaigns" / "alpha.yaml").open("a", encoding="utf-8") as handle:
        handle.write(REPORT)
    return root


@pytest.mark.slow
def test_apply_against_a_trickled_answer_ends_unknown_within_the_deadline(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = project(tmp_path, sandbox, timeout=3)
    sandbox.faults.trickle_bytes_per_second = 1  # each byte inside the per-read timeout

    started = time.monotonic()
    result = run_cli(["apply", "--auto-approve"], root, env=api_env(sandbox))
    took = time.monotonic() - started

    assert result.returncode == 1, result.stderr
    assert took < 6, f"apply took {took:.1f}s with timeout_seconds: 3"
    assert "? unknown alpha: creating the campaign: no answer from " in result.stdout
    assert "within 3s (the outcome is unknown)" in result.stdout
    assert read_state(root)["campaigns"]["alpha"]["status"] == "unknown"
    assert sandbox.creates_by_name() == {"alpha": 1}


@pytest.mark.slow
def test_report_against_a_trickled_answer_fails_within_the_deadline(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = project(tmp_path, sandbox, timeout=3)
    assert run_cli(["apply", "--auto-approve"], root, env=api_env(sandbox)).returncode == 0
    sandbox.faults.trickle_bytes_per_second = 1

    started = time.monotonic()
    result = run_cli(["report", "alpha-results", "--out", "r.csv"], root, env=api_env(sandbox))
    took = time.monotonic() - started

    assert result.returncode == 1
    assert took < 6, f"report took {took:.1f}s with timeout_seconds: 3"
    assert result.stderr == (
        f"error: fetching the report: no answer from {sandbox.url} within 3s\n"
    )
    assert not (root / "r.csv").exists()


def test_a_gzip_bomb_create_answer_ends_unknown_with_bounded_memory(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = project(tmp_path, sandbox, timeout=30)
    sandbox.faults.gzip_bomb_count = 1  # 1 MiB on the wire, 1 GiB inflated
    # A process of its own, so that its peak memory is its alone.
    measure = (
        textwrap.dedent("""\
        import sys
        from dialogops.cli import main
        code = main(["apply", "--auto-approve"])
        """)
        + OWN_PEAK_RSS
        + textwrap.dedent("""\
        print(f"PEAK {peak / 2**20:.0f}", file=sys.stderr)
        sys.exit(code)
        """)
    )
    result = subprocess.run(
        [sys.executable, "-c", measure],
        cwd=root,
        env=child_env(api_env(sandbox)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1, result.stderr
    assert (
        "? unknown alpha: creating the campaign: HTTP 200 with an answer larger than "
        "16,384 bytes (the outcome is unknown)"
    ) in result.stdout
    assert read_state(root)["campaigns"]["alpha"]["status"] == "unknown"
    peak = int(result.stderr.rsplit("PEAK ", 1)[1])
    assert peak < 150, f"peak RSS {peak} MiB while reading a 1 GiB answer"


@pytest.mark.parametrize(
    "url",
    [
        "http://exa mple.com/api",
        "http://%zz/api",
        "http://" + "a" * 70_000 + ".example/api",
        "http://exa\x1bmple.com/api",
        "ftp://example.com/api",
        "http://[::1/api",
        "http://example.com:0/api",
    ],
)
def test_a_bad_url_is_one_usage_error_before_anything_is_written(
    tmp_path: Path, sandbox: SandboxServer, url: str
) -> None:
    root = project(tmp_path, sandbox)
    env = {"DIALOG_API_URL": url, "DIALOG_TOKEN": SANDBOX_TOKEN}

    result = run_cli(["apply", "--auto-approve"], root, env=env)

    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: the Dialog API URL '")
    assert line.endswith("' is not an http(s) URL") or line.endswith("...")
    assert len(line) < 1100  # a 70,000-character host is cut, after masking
    assert "\x1b" not in line
    assert state_as_started(root)  # no pending entry, nothing written
    assert sandbox.requests == []


def test_https_against_plain_http_sends_nothing_and_leaves_no_unknown(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = project(tmp_path, sandbox)
    env = {"DIALOG_API_URL": sandbox.url.replace("http://", "https://"), "DIALOG_TOKEN": "t0ken"}

    result = run_cli(["apply", "--auto-approve"], root, env=env)

    assert result.returncode == 1
    assert "x failed alpha: creating the campaign: cannot connect to https://127.0.0.1:" in (
        result.stdout
    )
    assert "(nothing was sent)" in result.stdout
    assert read_state(root)["campaigns"] == {}
    assert sandbox.campaigns() == []


def test_a_terminal_without_cyrillic_gets_escapes_not_a_crash(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    root = project(tmp_path, sandbox)
    title = "Обзвон клиентов"
    manifest = root / "campaigns" / "alpha.yaml"
    manifest.write_text(
        manifest.read_text("utf-8").replace("title: alpha", f"title: {title}"), encoding="utf-8"
    )
    env = {**api_env(sandbox), "PYTHONIOENCODING": "ascii"}

    planned = run_dialogops(["plan"], root, env=env)
    applied = run_dialogops(["apply", "--auto-approve"], root, env=env)

    assert planned.returncode == 0, planned.stderr
    assert "title: \\u041e\\u0431\\u0437" in planned.stdout
    assert applied.returncode == 0, applied.stderr
    assert "Traceback" not in planned.stderr + applied.stderr
    assert json.loads(sandbox.campaigns()[0].body["campaign"]["name"].join('""')) == title
