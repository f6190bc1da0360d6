"""Benchmark: years of state, 100,000 campaigns (issue targets: `state list` under 1 s, and
`plan` at most 2 s over an empty state, on both backends).

Builds a state (most entries created, one in ten with a replaced campaign in its history,
one in a hundred unknown), then prints the best of N runs of: decode (text to State),
encode (State to text), a backend read (to State) and a write under the lock that changes
one entry (what each step of `apply` pays), and the whole `dialogops state list`, `plan`
and `plan --out FILE --markdown FILE` commands, as a user runs them, on a copy of this
repository's example project whose state holds these entries (all orphaned: years of
campaigns whose manifests are gone) beside the same project with an empty state. With
`--postgres DSN` the same is measured on the postgres backend, in a scratch schema of that
database (dropped afterwards). Ends with each target and whether it was met.

    python benchmarks/state_scale.py [--entries 100000] [--runs 5] [--postgres DSN]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from dialogops.config import load_config
from dialogops.state import (
    Backend,
    LocalBackend,
    Replaced,
    State,
    StateEntry,
    backend_for,
    dumps,
    loads,
)


def build_state(entries: int) -> State:
    campaigns = {}
    for i in range(entries):
        name = f"campaign-{i:06d}"
        fingerprint = f"sha256:{i:064x}"
        if i % 100 == 0:
            entry = StateEntry(name, "unknown", fingerprint, 250, started_at="2099-01-01T09:00:00Z")
        else:
            history = (
                (Replaced(10**9 + i, fingerprint, "2098-12-01T09:00:00Z", "2099-01-01T09:00:00Z"),)
                if i % 10 == 0
                else ()
            )
            entry = StateEntry(
                name,
                "created",
                fingerprint,
                1200,
                id=i + 1,
                created_at="2099-01-01T09:00:00Z",
                history=history,
            )
        campaigns[name] = entry
    return State(lineage="0c7e4a52-8f4e-4d8e-9a55-3b1f0e2d9c11", serial=1, campaigns=campaigns)


def cpu_time() -> float:
    """CPU seconds of this process and of the commands it ran and waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def best(runs: int, action: Callable[[], object]) -> tuple[float, float]:
    """The fastest of `runs` calls, as (wall, CPU) seconds."""
    timings = []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), cpu_time()
        action()
        timings.append((time.perf_counter() - wall, cpu_time() - cpu))
    return min(timings)


def backend_figures(label: str, backend: Backend, runs: int) -> dict[str, tuple[float, float]]:
    """A read without the lock, and a write of one changed entry under it."""
    figures = {f"{label} read": best(runs, backend.read)}
    with backend.lock("benchmark") as lock:
        changes = iter(range(runs))
        figures[f"{label} locked write of one change"] = best(
            runs,
            lambda: lock.update(
                lambda s: s.put(StateEntry("new", "pending", f"sha256:{0:064x}", next(changes)))
            ),
        )
    return figures


REPO = Path(__file__).resolve().parent.parent
COMMANDS = {
    "state list": ["state", "list"],
    "plan": ["plan"],
    "plan --out --markdown": ["plan", "--out", "saved.plan", "--markdown", "plan.md"],
}
STATE_LIST_TARGET = 1.0  # seconds, wall
PLAN_OVER_EMPTY_TARGET = 2.0  # seconds, wall, over the same command on an empty state


def example_project(folder: Path, state: str) -> Path:
    """A copy of the example project whose dialogops.yaml has `state` as its state block."""
    root = folder / "project"
    shutil.copytree(REPO / "campaigns", root / "campaigns")
    config = (REPO / "dialogops.yaml").read_text(encoding="utf-8")
    before, found, after = config.partition(
        "state:\n  backend: local\n  path: dialogops.state.json\n"
    )
    assert found, "the example dialogops.yaml no longer has the state block this replaces"
    (root / "dialogops.yaml").write_text(before + state + after, encoding="utf-8")
    return root


def command_figures(
    label: str, root: Path, full: list[str], empty: list[str], runs: int
) -> dict[str, tuple[float, float]]:
    """Each command, as a user runs it in `root`, with the options that pick the state of
    these entries (`full`) and, for reference, an empty one (`empty`)."""
    figures = {}
    for name, args in COMMANDS.items():
        for which, options in (("empty state", empty), ("this state", full)):
            command = [sys.executable, "-m", "dialogops", *args, *options]
            figures[f"{label} {name}, {which}"] = best(
                runs, lambda c=command: subprocess.run(c, cwd=root, capture_output=True, check=True)
            )
    return figures


def postgres_figures(
    dsn: str, state: State, folder: Path, runs: int
) -> dict[str, tuple[float, float]]:
    """The postgres backend's figures, in a scratch schema dropped afterwards: the entries
    in workspace `default`, an empty state in workspace `empty`."""
    import psycopg
    from psycopg import sql

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    os.environ["DIALOGOPS_STATE_DSN"] = dsn
    root = example_project(folder, f"state:\n  backend: postgres\n  schema: {schema}\n")
    config = load_config(root / "dialogops.yaml", root)
    try:
        backend = backend_for(config)
        with backend.lock("benchmark") as lock:
            # Once: a second store of the same state would change nothing.
            stored = best(1, lambda: lock.restore(state))
        with backend_for(dataclasses.replace(config, state_workspace="empty")).lock("b") as lock:
            lock.restore(build_state(0))
        figures = {"postgres store of it all (state migrate)": stored}
        figures |= backend_figures("postgres", backend, runs)
        return figures | command_figures(
            "postgres", root, [], ["--workspace", "empty"], min(runs, 2)
        )
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def targets(figures: dict[str, tuple[float, float]]) -> list[str]:
    """Each target of the issue, with the figure it is judged on, met or missed."""
    lines = []
    for backend in ("file", "postgres"):
        if f"{backend} state list, this state" not in figures:
            continue
        wall = figures[f"{backend} state list, this state"][0]
        met = "met" if wall < STATE_LIST_TARGET else "MISSED"
        lines.append(
            f"{backend}: state list {wall:.2f} s (target < {STATE_LIST_TARGET:.0f} s): {met}"
        )
        for name in ("plan", "plan --out --markdown"):
            over = figures[f"{backend} {name}, this state"][0]
            over -= figures[f"{backend} {name}, empty state"][0]
            met = "met" if over <= PLAN_OVER_EMPTY_TARGET else "MISSED"
            lines.append(
                f"{backend}: {name} +{over:.2f} s over an empty state "
                f"(target <= +{PLAN_OVER_EMPTY_TARGET:.0f} s): {met}"
            )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", metavar="DSN", help="also measure the postgres backend")
    args = parser.parse_args()
    state = build_state(args.entries)
    text = dumps(state)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        root = example_project(folder / "file", "state:\n  backend: local\n")
        backend = LocalBackend(root / "dialogops.state.json")
        backend.path.write_text(text, encoding="utf-8")
        (root / "empty.state.json").write_text(dumps(build_state(0)), encoding="utf-8")
        figures = {
            "decode": best(args.runs, lambda: loads(text, "benchmark")),
            "encode": best(args.runs, lambda: dumps(state, checked=state.campaigns)),
        }
        figures |= backend_figures("file", backend, args.runs)
        figures |= command_figures(
            "file", root, [], ["--state", "empty.state.json"], min(args.runs, 2)
        )
        saved = (root / "saved.plan").stat().st_size  # the last run's: of this state
        if args.postgres:
            figures |= postgres_figures(args.postgres, state, folder / "postgres", args.runs)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    size = len(text.encode()) / 1e6
    print(f"state of {args.entries:,} entries, {size:.1f} MB; best of {args.runs}:")
    for label, (wall, cpu) in figures.items():
        print(f"  {label:<50} {wall:6.3f} s wall  {cpu:6.3f} s CPU")
    print(f"saved plan of this state (plan --out): {saved:,} bytes")
    print("targets:")
    for line in targets(figures):
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
