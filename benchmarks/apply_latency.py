"""Benchmark: apply 50 campaigns to the sandbox with 200 ms latency per create, parallelism 10.

The ideal is 50 / 10 x 0.2 s = 1 s of creating; the target is within 2x. Prints the wall
time of the create phase alone (the executor, in-process) and of the whole `dialogops apply`
command (a subprocess: start-up, loading, planning, lock, creates), each against the ideal.

    python benchmarks/apply_latency.py [--campaigns 50] [--latency 0.2] [--parallelism 10]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from dialogops.apply import Executor
from dialogops.client.api import DialogClient
from dialogops.config import load_config
from dialogops.manifests import load_project
from dialogops.planner import build_plan
from dialogops.sandbox import SANDBOX_TOKEN, Faults, SandboxServer
from dialogops.state import LocalBackend


def write_project(root: Path, campaigns: int) -> None:
    (root / "campaigns").mkdir(parents=True)
    (root / "dialogops.yaml").write_text("manifests: [campaigns/]\n", encoding="utf-8")
    for i in range(campaigns):
        (root / "campaigns" / f"bench-{i:03d}.yaml").write_text(
            textwrap.dedent(f"""\
            apiVersion: dialogops/v1
            kind: Campaign
            metadata: {{name: bench-{i:03d}}}
            spec:
              project_id: 1
              start_block_id: 10
              phone_id: 5
              schedule: {{date: 2099-12-01, start_time: "09:00", end_time: "17:00"}}
              phones:
                inline: ["+7999{i:03d}0001", "+7999{i:03d}0002", "+7999{i:03d}0003"]
              add_data: {{greeting: Здравствуйте}}
            """),
            encoding="utf-8",
        )


def time_executor(root: Path, server: SandboxServer, parallelism: int) -> float:
    """Seconds the executor takes to create every campaign of the project."""
    config = load_config(None, root)
    project = load_project([], config)
    with (
        LocalBackend(root / "executor.state.json").lock("benchmark") as lock,
        DialogClient(server.url, token=SANDBOX_TOKEN, timeout=30) as client,
    ):
        plan = build_plan(project, lock.read(), keep_bodies=True)
        with contextlib.closing(plan):
            started = time.perf_counter()
            outcomes = Executor(lock, client, parallelism=parallelism).run(plan.creates)
            elapsed = time.perf_counter() - started
    failed = [o for o in outcomes if o.result != "created"]
    if failed:
        raise SystemExit(f"benchmark broken: {failed[0]}")
    return elapsed


def time_command(root: Path, server: SandboxServer, parallelism: int) -> float:
    """Seconds the real `dialogops apply` command takes, start-up included."""
    env = {
        **os.environ,
        "DIALOG_API_URL": server.url,
        "DIALOG_TOKEN": SANDBOX_TOKEN,
        "NO_COLOR": "1",
    }
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dialogops",
            "apply",
            "--auto-approve",
            "--parallelism",
            str(parallelism),
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"benchmark broken: apply exited {result.returncode}: {result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--parallelism", type=int, default=10)
    args = parser.parse_args()
    ideal = args.campaigns / args.parallelism * args.latency
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"{args.campaigns} campaigns, {args.latency * 1000:.0f} ms latency per create, "
        f"parallelism {args.parallelism}: ideal {ideal:.2f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        write_project(root, args.campaigns)
        faults = Faults(latency=args.latency)
        with SandboxServer(Path(tmp) / "sandbox.db", faults=faults) as server:
            creating = time_executor(root, server, args.parallelism)
            command = time_command(root, server, args.parallelism)
            counts = server.creates_by_name()
    if len(counts) != args.campaigns or set(counts.values()) != {2}:
        raise SystemExit("benchmark broken: each campaign should be created once per run")
    for what, seconds in (
        ("create phase (executor)", creating),
        ("whole `dialogops apply` command", command),
    ):
        ratio = seconds / ideal
        verdict = "within" if ratio <= 2 else "OVER"
        print(f"{what:34} {seconds:6.2f} s = {ratio:4.2f}x ideal ({verdict} the 2x target)")


if __name__ == "__main__":
    main()
