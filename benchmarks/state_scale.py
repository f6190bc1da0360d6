"""Benchmark: read and write a state of 100,000 campaigns (the target: well under 1 s each).

Builds a state file (most entries created, one in ten with a replaced campaign in its
history, one in a hundred unknown) in a temp folder, then prints the best of N runs of:
decode (text to State), encode (State to text), a backend read (file to State) and a write
under the lock that changes one entry (what each step of `apply` pays: the check that the
file is unchanged, the encode, the backup link and the durable write), and the whole
`dialogops state list` and `dialogops plan` commands of the example project on this state
beside an empty one, in wall and CPU seconds (a command's CPU includes its process).
With `--postgres DSN` the same state is stored in a scratch schema of that database
(dropped afterwards) and the postgres backend's read and one-change write are measured
beside the file's.

    python benchmarks/state_scale.py [--entries 100000] [--runs 5] [--postgres DSN]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from dialogops.specs import Config
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


def postgres_figures(dsn: str, state: State, runs: int) -> dict[str, tuple[float, float]]:
    """The postgres backend's figures, in a scratch schema dropped afterwards."""
    import psycopg
    from psycopg import sql

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    os.environ["DIALOGOPS_BENCH_DSN"] = dsn
    config = Config(
        root=Path("."),
        path=None,
        state_backend="postgres",
        state_dsn_env="DIALOGOPS_BENCH_DSN",
        state_schema=schema,
    )
    try:
        backend = backend_for(config)
        with backend.lock("benchmark") as lock:
            # Once: a second store of the same state would change nothing.
            stored = best(1, lambda: lock.restore(state))
        figures = {"postgres store of it all (state migrate)": stored}
        return figures | backend_figures("postgres", backend, runs)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def command_figures(state_file: Path, empty: Path, runs: int) -> dict[str, tuple[float, float]]:
    """`dialogops state list` and `plan` of this repository's example project, as a user runs
    them, on this state and, for reference, on an empty one (its entries show as orphaned)."""
    root = Path(__file__).resolve().parent.parent
    figures = {}
    for label, args in (("state list", ["state", "list"]), ("plan", ["plan"])):
        for which, path in (("empty state", empty), ("this state", state_file)):
            command = [sys.executable, "-m", "dialogops", *args, "--state", str(path)]
            figures[f"{label}, {which}"] = best(
                runs, lambda c=command: subprocess.run(c, cwd=root, capture_output=True)
            )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", metavar="DSN", help="also measure the postgres backend")
    args = parser.parse_args()
    state = build_state(args.entries)
    text = dumps(state)
    with tempfile.TemporaryDirectory() as folder:
        backend = LocalBackend(Path(folder) / "dialogops.state.json")
        backend.path.write_text(text, encoding="utf-8")
        figures = {
            "decode": best(args.runs, lambda: loads(text, "benchmark")),
            "encode": best(args.runs, lambda: dumps(state, checked=state.campaigns)),
        }
        figures |= backend_figures("file", backend, args.runs)
        empty = Path(folder) / "empty.state.json"
        empty.write_text(dumps(build_state(0)), encoding="utf-8")
        figures |= command_figures(backend.path, empty, min(args.runs, 2))
    if args.postgres:
        figures |= postgres_figures(args.postgres, state, args.runs)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    size = len(text.encode()) / 1e6
    print(f"state of {args.entries:,} entries, {size:.1f} MB; best of {args.runs}:")
    for label, (wall, cpu) in figures.items():
        print(f"  {label:<40} {wall:6.3f} s wall  {cpu:6.3f} s CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
