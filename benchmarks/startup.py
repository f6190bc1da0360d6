"""Benchmark: the start-up every dialogops command pays, as a ratio to a bare Python start.

Runs, interleaved N times each (default 20): `python -c pass`, `dialogops --version`,
`dialogops --help` and `dialogops validate` of the repository's example project (copied to
a temporary folder). Prints the medians, their ratios to `python -c pass` measured in the
same run, and the targets; exits 1 if a target is missed.

Beside each command it times the floor: a bare Python importing only the libraries that
command cannot answer without (`--help`: click and the standard modules its help formatter
loads; `validate`: click, jsonschema, jinja2 and ruamel.yaml). A target below its floor
cannot be met while the command uses those libraries.

    python benchmarks/startup.py [--runs 20]

Works from a checkout with any Python: it runs the `dialogops` command installed next to
this interpreter, else the one in the checkout's `.venv/bin`.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Ratio to `python -c pass` each command must stay within.
TARGETS = {"--version": 4.0, "--help": 4.0, "validate": 10.0}
# What each command must import whatever dialogops does, as `python -c` code.
FLOORS = {
    "--help": "import click, shutil, textwrap",
    "validate": "import click, jsonschema, jinja2, ruamel.yaml",
}


def find_dialogops() -> Path | None:
    """The installed `dialogops` command: beside this interpreter, else in `.venv/bin`."""
    for folder in (Path(sys.executable).parent, REPO / ".venv" / "bin"):
        found = shutil.which("dialogops", path=str(folder))
        if found:
            return Path(found)
    return None


# The commands run with byte-code written, as an installed package has it (pip compiles at
# install): without it, every run of an editable checkout compiles dialogops anew.
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=ENV)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    entry = find_dialogops()
    if entry is None:
        print(
            f"no `dialogops` command next to {sys.executable} or in {REPO / '.venv' / 'bin'}: "
            "install the project first (python3 -m venv .venv && .venv/bin/python -m pip "
            "install -e .)",
            file=sys.stderr,
        )
        return 2
    # The interpreter the command runs on, so that the baseline starts the same Python.
    python = shutil.which("python", path=str(entry.parent)) or sys.executable
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        shutil.copytree(REPO / "campaigns", project / "campaigns")
        shutil.copy2(REPO / "dialogops.yaml", project / "dialogops.yaml")
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "--version": [str(entry), "--version"],
            "--help": [str(entry), "--help"],
            "validate": [str(entry), "validate"],
            **{f"floor {name}": [python, "-c", code] for name, code in FLOORS.items()},
        }
        for command in commands.values():  # warm the file cache and byte-code
            timed(command, project)
        timings: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                timings[name].append(timed(command, project))

    medians = {name: statistics.median(times) for name, times in timings.items()}
    baseline = medians["python -c pass"]
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, {args.runs} runs")
    print(f"{'python -c pass':>22}: median {baseline:.3f} s")
    met = True
    for name, target in TARGETS.items():
        ratio = medians[name] / baseline
        ok = ratio <= target
        met = met and ok
        print(
            f"{'dialogops ' + name:>22}: median {medians[name]:.3f} s, {ratio:4.1f}x "
            f"(target {target:g}x) {'ok' if ok else 'MISSED'}"
        )
        if name in FLOORS:
            floor = medians[f"floor {name}"]
            print(
                f"{'':>22}  floor, `{FLOORS[name]}` alone: {floor:.3f} s, {floor / baseline:4.1f}x"
            )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
