"""Benchmark: read and write a state of 100,000 campaigns (the target: well under 1 s each).

Builds a state file (most entries created, one in ten with a replaced campaign in its
history, one in a hundred unknown) in a temp folder, then prints the best of N runs of:
decode (text to State), encode (State to text), a backend read (file to State) and a write
under the lock that changes one entry (what each step of `apply` pays: the check that the
file is unchanged, the encode, the backup link and the durable write), in wall and CPU
seconds.

    python benchmarks/state_scale.py [--entries 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dialogops.state import LocalBackend, Replaced, State, StateEntry, dumps, loads


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


def best(runs: int, action: Callable[[], object]) -> tuple[float, float]:
    """The fastest of `runs` calls, as (wall, CPU) seconds."""
    timings = []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    state = build_state(args.entries)
    text = dumps(state)
    with tempfile.TemporaryDirectory() as folder:
        backend = LocalBackend(Path(folder) / "dialogops.state.json")
        backend.path.write_text(text, encoding="utf-8")
        figures = {
            "decode": best(args.runs, lambda: loads(text, "benchmark")),
            "encode": best(args.runs, lambda: dumps(state, checked=state.campaigns)),
            "backend read": best(args.runs, backend.read),
        }
        with backend.lock("benchmark") as lock:
            changes = iter(range(args.runs))
            figures["locked write of one change"] = best(
                args.runs,
                lambda: lock.update(
                    lambda s: s.put(StateEntry("new", "pending", f"sha256:{0:064x}", next(changes)))
                ),
            )
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    size = len(text.encode()) / 1e6
    print(f"state of {args.entries:,} entries, {size:.1f} MB; best of {args.runs}:")
    for label, (wall, cpu) in figures.items():
        print(f"  {label:<28} {wall:6.3f} s wall  {cpu:6.3f} s CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
