"""Benchmark: how long `dialogops --version` takes, the start-up every command pays.

Runs the installed `dialogops` entry point N times (default 20) and prints the median and
the slowest wall time against the 0.3 s target.

    python benchmarks/startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_SECONDS = 0.3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    entry = shutil.which("dialogops", path=str(Path(sys.executable).parent))
    command = [entry] if entry else [sys.executable, "-m", "dialogops"]
    timings = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run([*command, "--version"], check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
    median = statistics.median(timings)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print(
        f"dialogops --version over {args.runs} runs: median {median:.3f} s, "
        f"slowest {max(timings):.3f} s; target {TARGET_SECONDS} s "
        f"(median is {median / TARGET_SECONDS:.2f}x the target)"
    )
    return 0 if median <= TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
