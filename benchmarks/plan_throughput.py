"""Benchmark: `dialogops plan` of one campaign of N CSV rows with 3 add_data templates.

Runs, one after another on the same file, each in its own process pinned to one core:

* dialogops plan: the installed command, as a user runs it (`dialogops plan --sandbox`,
  in a project whose one campaign reads the CSV), its plan JSON written to a file;
* straightforward: a script doing the same job the obvious way (csv + phonenumbers + one
  Jinja2 render per field + json); it must find the same fingerprint;
* floor: a script that only reads the CSV, builds the same JSON body from the cells (no
  phone parsing, no templates) and hashes it: what no implementation can go below.

Prints each one's CPU time (user + system of that child alone, from `os.wait4`, so other
load on the machine does not skew it), rows/s, wall time and peak RSS, and the ratios
measured in this run. Targets: plan >= 10x the straightforward script, within 2x the floor.

    python benchmarks/plan_throughput.py [--rows N] [--local-hours]

`--local-hours` also plans the campaign under policy.local_hours (zones from a generated
numbering plan of every mobile code used, so each recipient's zone is looked up; those
outside their hours skipped), which adds the zone pass of `docs/calling-hours.md` before
the render, and prints its rows/s.

Works from a checkout with any Python: it runs the `dialogops` command installed next to
this interpreter, else the one in the checkout's `.venv/bin`.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_VS_STRAIGHTFORWARD = 10.0
TARGET_VS_FLOOR = 2.0

TEMPLATES = {
    "name": "{{ row.last_name }} {{ row.first_name }}",
    "time": "{{ row.slot | default('10:00') }}",
    "phone": "{{ row.contract | int }}",
}
LAST = ["Иванов", "Петров", "Сидоров", "Smith", "Кузнецов", "Попов"]
FIRST = ["Иван", "Пётр", "Анна", "John", "Мария", "Олег"]
MOBILE = ["900", "912", "922", "950", "977", "999", "982", "904"]


def write_csv(path: Path, rows: int) -> None:
    """Phones in the four common notations, a few repeats, cp-safe UTF-8 text."""
    rnd = random.Random(7)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["phone", "last_name", "first_name", "slot", "contract"])
        for i in range(rows):
            code, rest = rnd.choice(MOBILE), f"{rnd.randrange(10**7):07d}"
            phone = [
                f"+7 {code} {rest[:3]}-{rest[3:5]}-{rest[5:]}",
                f"8 ({code}) {rest}",
                f"7{code}{rest}",
                f"{code}{rest}",
            ][i % 4]
            writer.writerow(
                [phone, rnd.choice(LAST), rnd.choice(FIRST), f"{9 + i % 8}:00", str(100000 + i)]
            )


PROJECT = "api: {timeout_seconds: 900}\nmanifests: [campaigns/]\n"
MANIFEST = textwrap.dedent("""\
    apiVersion: dialogops/v1
    kind: Campaign
    metadata: {name: bench}
    spec:
      title: Bench
      description: ""
      project_id: 1
      start_block_id: 10
      phone_id: 5
      schedule:
        date: 2099-01-01
        start_time: "09:00"
        end_time: "17:00"
        attempts: 3
        interval_minutes: 5
      phones:
        csv: {path: data/phones.csv, delimiter: ";"}
      add_data:
    """) + "".join(
    f"    {key}: {json.dumps(value, ensure_ascii=False)}\n" for key, value in TEMPLATES.items()
)


LOCAL_HOURS = textwrap.dedent("""\
    timezone: Europe/Moscow
    policy:
      local_hours: {weekdays: "08:00-22:00", weekends: "09:00-20:00"}
      numbering_plan: campaigns/data/numbering-plan.csv
      unknown_timezone: assume_platform
    """)


def write_project(root: Path, rows: int, csv_file: Path | None = None) -> Path:
    """A project whose one campaign, `bench`, calls the `rows` rows of campaigns/data/phones.csv
    (a copy of `csv_file` if given, under policy.local_hours then)."""
    (root / "campaigns" / "data").mkdir(parents=True)
    csv_path = root / "campaigns" / "data" / "phones.csv"
    if csv_file is None:
        (root / "dialogops.yaml").write_text(PROJECT, encoding="utf-8")
        (root / "campaigns" / "bench.yaml").write_text(MANIFEST, encoding="utf-8")
        write_csv(csv_path, rows)
        return csv_path
    (root / "dialogops.yaml").write_text(PROJECT + LOCAL_HOURS, encoding="utf-8")
    skipping = MANIFEST.replace("  add_data:\n", "  on_local_hours: skip\n  add_data:\n")
    (root / "campaigns" / "bench.yaml").write_text(skipping, encoding="utf-8")
    write_numbering_plan(root / "campaigns" / "data" / "numbering-plan.csv")
    shutil.copyfile(csv_file, csv_path)
    return csv_path


def write_numbering_plan(path: Path) -> None:
    """A registry extract in its own format: each mobile code used, in ten ranges, spread over
    regions of five zones."""
    regions = [
        "Приморский край",
        "Свердловская обл.",
        "Москва",
        "Новосибирская обл.",
        "Омская обл.",
    ]
    with path.open("w", encoding="cp1251", newline="") as handle:
        handle.write("code;from;to;capacity;operator;region\r\n")
        for n, code in enumerate(MOBILE):
            for part in range(10):
                start, region = part * 10**6, regions[(n + part) % len(regions)]
                handle.write(f"{code};{start:07d};{start + 999999:07d};1000000;X;{region}\r\n")


STRAIGHTFORWARD = """
import csv, hashlib, json, sys
import phonenumbers
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

path, templates = sys.argv[1], json.loads(sys.argv[2])
env = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
compiled = {}
for key, source in templates.items():
    text = source.strip()
    if source.count("{{") == 1 and text.startswith("{{") and text.endswith("}}"):
        compiled[key] = env.compile_expression(text[2:-2], undefined_to_none=False)
    else:
        compiled[key] = env.from_string(source).render
phones, seen, rows = [], set(), 0
with open(path, encoding="utf-8-sig", newline="") as handle:
    for row in csv.DictReader(handle, delimiter=";"):
        rows += 1
        number = phonenumbers.parse(row["phone"], "RU")
        if not phonenumbers.is_valid_number(number):
            raise SystemExit(f"invalid {row['phone']}")
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if e164 in seen:
            continue
        seen.add(e164)
        add_data = {key: render(row=row, vars={}) for key, render in compiled.items()}
        phones.append({"phone": e164, "add_data": add_data})
campaign = {
    "project_id": 1, "name": "Bench", "description": "", "start_block_id": 10,
    "schedule": {"date": "2099-01-01", "start_time": "09:00", "end_time": "17:00",
                 "periods": {"id": 1, "title": "Однократно"},
                 "attempts": {"id": 3, "title": "3"}, "interval": "5"},
    "state": "Создано", "phone_id": 5,
}
body = json.dumps({"campaign": campaign, "phones": phones}, sort_keys=True,
                  ensure_ascii=False, separators=(",", ":")).encode()
digest = "sha256:" + hashlib.sha256(body).hexdigest()
print(json.dumps({"rows": rows, "fingerprint": digest}))
"""


FLOOR = """
import csv, hashlib, json, sys

path = sys.argv[1]
phones, rows = [], 0
with open(path, encoding="utf-8-sig", newline="") as handle:
    for row in csv.DictReader(handle, delimiter=";"):
        rows += 1
        add_data = {"name": row["last_name"] + " " + row["first_name"],
                    "time": row["slot"] or "10:00", "phone": int(row["contract"])}
        phones.append({"phone": row["phone"], "add_data": add_data})
campaign = {
    "project_id": 1, "name": "Bench", "description": "", "start_block_id": 10,
    "schedule": {"date": "2099-01-01", "start_time": "09:00", "end_time": "17:00",
                 "periods": {"id": 1, "title": "Однократно"},
                 "attempts": {"id": 3, "title": "3"}, "interval": "5"},
    "state": "Создано", "phone_id": 5,
}
body = json.dumps({"campaign": campaign, "phones": phones}, sort_keys=True,
                  ensure_ascii=False, separators=(",", ":")).encode()
print(json.dumps({"rows": rows, "fingerprint": "sha256:" + hashlib.sha256(body).hexdigest()}))
"""


@dataclass(frozen=True)
class Measured:
    cpu: float  # user + system seconds of the child alone
    wall: float
    peak_mb: float  # the child's own peak RSS
    stdout: str


def find_dialogops() -> Path | None:
    """The installed `dialogops` command: beside this interpreter, else in `.venv/bin`."""
    for folder in (Path(sys.executable).parent, REPO / ".venv" / "bin"):
        found = shutil.which("dialogops", path=str(folder))
        if found:
            return Path(found)
    return None


def measure(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, cpu: int | None = None
) -> Measured:
    """Run `command` (pinned to core `cpu`, if given) and measure it alone, by `os.wait4`."""

    def pin() -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, "NO_COLOR": "1", **(env or {})},
            stdout=out,
            stderr=subprocess.PIPE,
            preexec_fn=pin,
        )
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        errors = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
        out.seek(0)
        stdout = out.read().decode("utf-8", "replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(command[:3])} exited {code}: {errors.strip()}")
    # ru_maxrss is in KiB on Linux
    return Measured(usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024, stdout)


def plan_fingerprint(plan_json: Path) -> str:
    [campaign] = json.loads(plan_json.read_text("utf-8"))["campaigns"]
    return str(campaign["render"]["fingerprint"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="CSV rows (default 1e6)")
    parser.add_argument(
        "--local-hours", action="store_true", help="Also plan under policy.local_hours."
    )
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
        print(
            f"{dt.datetime.now():%Y-%m-%d %H:%M} {args.rows:,} rows, 3 templates, CPU {cpu}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}"
        )
        plan_json = root / "plan.json"
        ours = measure([str(entry), "plan", "--sandbox", "--json", str(plan_json)], root, cpu=cpu)
        base = measure(
            [python, "-c", STRAIGHTFORWARD, str(csv_path), json.dumps(TEMPLATES)], root, cpu=cpu
        )
        floor = measure([python, "-c", FLOOR, str(csv_path)], root, cpu=cpu)
        fingerprint = plan_fingerprint(plan_json)
        hours = None
        if args.local_hours:
            zoned = root / "local-hours"
            write_project(zoned, args.rows, csv_path)
            hours = measure([str(entry), "plan", "--sandbox"], zoned, cpu=cpu)
    for label, result in (("dialogops plan", ours), ("straightforward", base), ("floor", floor)):
        print(
            f"{label:>16}: {result.cpu:6.2f} s CPU ({result.wall:6.2f} s wall)  "
            f"{args.rows / result.cpu:9,.0f} rows/s  peak RSS {result.peak_mb:6.1f} MB"
        )
    if hours is not None:
        print(
            f"{'+ local hours':>16}: {hours.cpu:6.2f} s CPU ({hours.wall:6.2f} s wall)  "
            f"{args.rows / hours.cpu:9,.0f} rows/s  peak RSS {hours.peak_mb:6.1f} MB"
        )
        print(f"local hours: {ours.cpu / hours.cpu:.2f}x the rows/s")
    if json.loads(base.stdout)["fingerprint"] != fingerprint:
        print("FAIL: dialogops and the straightforward script disagree on the fingerprint")
        return 1
    faster = base.cpu / ours.cpu
    slower = ours.cpu / floor.cpu
    print(f"plan vs straightforward: {faster:.1f}x faster (same fingerprint {fingerprint[:19]}...)")
    print(f"plan vs floor: {slower:.2f}x the floor's CPU time")
    ok = faster >= TARGET_VS_STRAIGHTFORWARD and slower <= TARGET_VS_FLOOR
    print(
        f"targets (>= {TARGET_VS_STRAIGHTFORWARD:.0f}x straightforward, <= "
        f"{TARGET_VS_FLOOR:.0f}x floor):",
        "met" if ok else "NOT met",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
