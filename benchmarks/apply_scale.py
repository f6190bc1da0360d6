"""Benchmark: `dialogops apply` of one campaign of 1,000,000 phones, against the sandbox.

Starts `dialogops sandbox serve` (waiting on its `--ready-file`) and runs, one after another
on the same CSV file, each as its own process pinned to one core:

* dialogops plan: `dialogops plan` of the campaign, the CPU time apply is held to;
* dialogops apply: `dialogops apply --auto-approve`, which creates it in the sandbox;
* straightforward: the straightforward script of `plan_throughput.py`, then the body sent
  the obvious way (`requests.post(json=body)`), as apply once worked;
* floor: the floor script of `plan_throughput.py` (read the CSV, build the same JSON body
  from the cells, hash it), then those bytes sent (the sandbox refuses its unparsed phone
  numbers, which costs the client nothing).

Prints each one's CPU time (user + system of that child alone, from `os.wait4`), wall time
and peak RSS (`ru_maxrss` of that child alone), and the ratios measured in this run.
Targets: apply peaks at or under 250 MB, and takes at most 1.2x the CPU time of plan.

    python benchmarks/apply_scale.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from plan_throughput import (
    FLOOR,
    STRAIGHTFORWARD,
    TEMPLATES,
    find_dialogops,
    measure,
    write_project,
)

TARGET_PEAK_MB = 250.0
TARGET_CPU_VS_PLAN = 1.2
TOKEN = "sandbox-token"

# Appended to a reference script, whose `body` it sends; argv after the script's own: URL.
SEND = """
import requests
answer = requests.post(sys.argv[-1] + "/campaigns", data=body, timeout=900,
                       headers={"Authorization": "Bearer sandbox-token",
                                "Content-Type": "application/json"})
print(json.dumps({"status": answer.status_code}), file=sys.stderr)
"""
SEND_JSON = SEND.replace("data=body", "json=json.loads(body)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    entry = find_dialogops()
    if entry is None:
        print("no `dialogops` command found: install the project first", file=sys.stderr)
        return 2
    python = shutil.which("python", path=str(entry.parent)) or sys.executable
    cpu = min(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        csv_path = write_project(root, args.rows)
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
            env = {"DIALOG_API_URL": url, "DIALOG_TOKEN": TOKEN}
            # Apply creates nothing without a state: start it, as a new project does.
            subprocess.run(
                [str(entry), "state", "init"],
                cwd=root,
                env={**os.environ, **env},
                check=True,
                stdout=subprocess.DEVNULL,
            )
            templates = json.dumps(TEMPLATES)
            # The reference scripts print their result; `body` is what they hashed.
            straightforward = STRAIGHTFORWARD + "body = body.decode()\n" + SEND_JSON
            results = {
                "dialogops plan": measure([str(entry), "plan"], root, env, cpu),
                "dialogops apply": measure([str(entry), "apply", "--auto-approve"], root, env, cpu),
                "straightforward": measure(
                    [python, "-c", straightforward, str(csv_path), templates, url], root, env, cpu
                ),
                "floor": measure([python, "-c", FLOOR + SEND, str(csv_path), url], root, env, cpu),
            }
            state = json.loads((root / "dialogops.state.json").read_text("utf-8"))
        finally:
            server.terminate()
            server.wait(timeout=30)

    entry_state = state["campaigns"]["bench"]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {args.rows:,} rows, {entry_state['phones']:,} phones "
        f"created as campaign {entry_state.get('id')} ({entry_state['status']})"
    )
    for name, result in results.items():
        print(
            f"  {name:16} {result.cpu:7.2f} s CPU ({result.wall:7.2f} s wall)  "
            f"peak RSS {result.peak_mb:7.1f} MB"
        )
    plan, apply = results["dialogops plan"], results["dialogops apply"]
    ratio = apply.cpu / plan.cpu
    print(f"apply CPU vs plan CPU: {ratio:.2f}x (target <= {TARGET_CPU_VS_PLAN}x)")
    print(f"apply peak RSS: {apply.peak_mb:.1f} MB (target <= {TARGET_PEAK_MB:.0f} MB)")
    ok = (
        ratio <= TARGET_CPU_VS_PLAN
        and apply.peak_mb <= TARGET_PEAK_MB
        and entry_state["status"] == "created"
    )
    print("targets:", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
