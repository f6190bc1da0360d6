"""Benchmark: the peak memory of `dialogops report` writing a 1,000,000-row report to CSV.

Starts `dialogops sandbox serve --report-rows N` (waiting on its `--ready-file`), creates a
campaign in it with `dialogops apply`, then runs, as a user runs them, one after another:

* floor: a Python script that only downloads the answer (requests, streamed, discarded);
* whole-body: the straightforward script, the way `report` worked before streaming
  (`response.json()`, then `csv.writer`);
* dialogops: `dialogops report NAME --format csv --out FILE`.

Prints each one's peak RSS (`ru_maxrss` of that child alone, from `os.wait4`), wall time
and the ratios to the floor measured in the same run; exits 1 if dialogops peaks at or
above the target (200 MB).

    python benchmarks/report_scale.py [--rows 1000000]

Works from a checkout with any Python: it runs the `dialogops` command installed next to
this interpreter, else the one in the checkout's `.venv/bin`.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_MB = 200.0
TOKEN = "sandbox-token"

PROJECT = textwrap.dedent("""\
    api: {timeout_seconds: 900}
    manifests: [campaigns/]
    """)
MANIFESTS = textwrap.dedent("""\
    apiVersion: dialogops/v1
    kind: Campaign
    metadata: {name: scale}
    spec:
      project_id: 1
      start_block_id: 10
      phone_id: 5
      schedule: {date: 2099-12-01, start_time: "09:00", end_time: "17:00", attempts: 3}
      phones: {inline: ["+79990000000"]}
    ---
    apiVersion: dialogops/v1
    kind: Report
    metadata: {name: scale-results}
    spec:
      campaign: scale
      scenario_id: 951
      columns:
        - {id: 1, name: phone_number, display_name: Phone, column_type: field, data_type: text}
        - {id: 2, name: status, display_name: Status, column_type: field, data_type: text}
        - {id: 3, name: duration, display_name: Duration, column_type: field, data_type: number}
        - {id: 4, name: goal, display_name: Goal, column_type: field, data_type: goal}
        - {id: 5, name: attempts, display_name: Attempts, column_type: field, data_type: number}
        - {id: 6, name: started_at, display_name: Started, column_type: field, data_type: datetime}
    """)

# The two reference scripts; argv: URL, token, body file, output file.
FLOOR = """\
import json, sys, requests
body = json.load(open(sys.argv[3]))
with requests.post(sys.argv[1], json=body, stream=True, timeout=900,
                   headers={"Authorization": "Bearer " + sys.argv[2]}) as answer:
    answer.raise_for_status()
    for _chunk in answer.iter_content(65536):
        pass
"""
WHOLE_BODY = """\
import csv, json, sys, requests
body = json.load(open(sys.argv[3]))
answer = requests.post(sys.argv[1], json=body, timeout=900,
                       headers={"Authorization": "Bearer " + sys.argv[2]})
answer.raise_for_status()
report = answer.json()
fields = [c["field"] for c in report["columns"]]
with open(sys.argv[4], "w", newline="", encoding="utf-8") as out:
    writer = csv.writer(out)
    writer.writerow([c["display_name"] for c in report["columns"]])
    writer.writerows([row.get(f) for f in fields] for row in report["data"])
"""


def find_dialogops() -> Path | None:
    """The installed `dialogops` command: beside this interpreter, else in `.venv/bin`."""
    for folder in (Path(sys.executable).parent, REPO / ".venv" / "bin"):
        found = shutil.which("dialogops", path=str(folder))
        if found:
            return Path(found)
    return None


def measured(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run `command`; its own peak RSS in MB and its wall time in seconds."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _pid, status, usage = os.wait4(process.pid, 0)
    took = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}")
    return usage.ru_maxrss / 1024, took  # ru_maxrss is in KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    entry = find_dialogops()
    if entry is None:
        print("no `dialogops` command found: install the project first", file=sys.stderr)
        return 2
    python = shutil.which("python", path=str(entry.parent)) or sys.executable
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "dialogops.yaml").write_text(PROJECT, encoding="utf-8")
        (root / "campaigns").mkdir()
        (root / "campaigns" / "scale.yaml").write_text(MANIFESTS, encoding="utf-8")
        ready = root / "sandbox.url"
        server = subprocess.Popen(
            [
                str(entry),
                "sandbox",
                "serve",
                "--port",
                "0",
                "--ready-file",
                str(ready),
                "--report-rows",
                str(args.rows),
                "--db",
                str(root / "sandbox.db"),
            ],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while not ready.exists():
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the sandbox did not start")
                time.sleep(0.05)
            url = ready.read_text("utf-8").strip()
            env = {**os.environ, "DIALOG_API_URL": url, "DIALOG_TOKEN": TOKEN, "NO_COLOR": "1"}
            subprocess.run(
                [str(entry), "apply", "--auto-approve"],
                cwd=root,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            body = root / "request.json"
            body.write_text(request_body(python, root), encoding="utf-8")
            report_url = url + "/analytics/1/report"
            runs = {
                "floor (download only)": [
                    python,
                    "-c",
                    FLOOR,
                    report_url,
                    TOKEN,
                    str(body),
                    str(root / "floor.csv"),
                ],
                "whole-body script": [
                    python,
                    "-c",
                    WHOLE_BODY,
                    report_url,
                    TOKEN,
                    str(body),
                    str(root / "whole.csv"),
                ],
                "dialogops report": [
                    str(entry),
                    "report",
                    "scale-results",
                    "--format",
                    "csv",
                    "--out",
                    str(root / "report.csv"),
                ],
            }
            results = {name: measured(command, root, env) for name, command in runs.items()}
            with (root / "report.csv").open(encoding="utf-8", newline="") as handle:
                written = sum(1 for _ in csv.reader(handle)) - 1
        finally:
            server.terminate()
            server.wait(timeout=10)

    floor = results["floor (download only)"][0]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {args.rows:,} rows ({written:,} written)"
    )
    for name, (peak, took) in results.items():
        print(f"  {name:24} peak {peak:7.1f} MB  ({peak / floor:5.2f}x floor)  {took:6.1f} s")
    peak = results["dialogops report"][0]
    ok = peak < TARGET_MB and written == args.rows
    print(f"target: dialogops report peaks under {TARGET_MB:.0f} MB: {'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


def request_body(python: str, root: Path) -> str:
    """The analytics request dialogops sends for the report (dialogops builds it)."""
    script = textwrap.dedent("""\
        import json, pathlib
        from dialogops.config import load_config
        from dialogops.manifests import load_project
        from dialogops.report.request import build_request
        from dialogops.state import backend_for
        config = load_config(None, pathlib.Path.cwd())
        project = load_project(list(config.manifests), config)
        [report] = project.reports
        print(json.dumps(build_request(report, project, backend_for(config).read()).body))
        """)
    done = subprocess.run(
        [python, "-c", script], cwd=root, capture_output=True, text=True, check=True
    )
    return done.stdout


if __name__ == "__main__":
    sys.exit(main())
