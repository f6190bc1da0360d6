"""Benchmark: render one campaign of N CSV rows with 3 add_data templates (what plan does).

Runs dialogops' streaming render and a straightforward script (csv + phonenumbers + one
Jinja2 render per field + json) on the same file, each in its own process pinned to one
core, and prints rows/s, peak RSS and the ratio. Both must produce the same fingerprint.
Rates use the process's CPU time, so other load on the machine does not skew them; wall
time is printed too.

    python benchmarks/plan_throughput.py [--rows N] [--local-hours]

`--local-hours` also plans the campaign under policy.local_hours (zones from a generated
numbering plan of every mobile code used, so each recipient's zone is looked up), which
adds the zone pass of `docs/calling-hours.md` before the render, and prints its rows/s.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

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


DIALOGOPS = """
import dataclasses, datetime as dt, json, resource, sys, time
from pathlib import Path
from dialogops.errors import Location
from dialogops.localhours import expand
from dialogops.render import render_campaign
from dialogops.specs import Campaign, CsvSource, HoursWindow, LocalHours, PhonesSpec, Schedule
from dialogops.specs import ZoneRules

path, templates = Path(sys.argv[1]), json.loads(sys.argv[2])
where = Location("bench.yaml", 1, 1)
campaign = Campaign(
    name="bench", location=where, project_id=1, title="Bench", description="",
    start_block_id=10, phone_id=5,
    schedule=Schedule(dt.date(2099, 1, 1), dt.time(9), dt.time(17), 3, 5),
    phones=PhonesSpec(CsvSource(path, where, delimiter=";")),
    add_data=templates, add_data_locations={k: where for k in templates},
)
if len(sys.argv) > 3:  # --local-hours: the numbering plan's path
    hours = LocalHours(HoursWindow(dt.time(8), dt.time(22)), HoursWindow(dt.time(9), dt.time(20)))
    rules = ZoneRules("Europe/Moscow", hours, Path(sys.argv[3]), where, "assume_platform")
    campaign = dataclasses.replace(campaign, zones=rules)
start, cpu = time.perf_counter(), time.process_time()
[campaign] = expand([campaign]).campaigns
result = render_campaign(campaign, {})
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak": peak, "rows": result.stats.rows,
                  "fingerprint": result.fingerprint}))
"""

STRAIGHTFORWARD = """
import csv, hashlib, json, resource, sys, time
import phonenumbers
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

path, templates = sys.argv[1], json.loads(sys.argv[2])
start, cpu = time.perf_counter(), time.process_time()
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
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak": peak, "rows": rows,
                  "fingerprint": digest}))
"""


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


def run(code: str, csv_path: Path, cpu: int, *extra: str) -> dict[str, float | str]:
    """Run one contender in a fresh interpreter pinned to `cpu`."""

    def pin() -> None:
        os.sched_setaffinity(0, {cpu})

    done = subprocess.run(
        [sys.executable, "-c", code, str(csv_path), json.dumps(TEMPLATES), *extra],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=pin,
    )
    result: dict[str, float | str] = json.loads(done.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="CSV rows (default 1e6)")
    parser.add_argument(
        "--skip-baseline", action="store_true", help="Only time dialogops (no ratio)."
    )
    parser.add_argument(
        "--local-hours", action="store_true", help="Also plan under policy.local_hours."
    )
    args = parser.parse_args()
    cpu = min(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "phones.csv"
        write_csv(csv_path, args.rows)
        print(
            f"{dt.datetime.now():%Y-%m-%d %H:%M} {args.rows:,} rows, 3 templates, "
            f"CPU {cpu}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"
        )
        ours = run(DIALOGOPS, csv_path, cpu)
        _report("dialogops", ours)
        if args.local_hours:
            write_numbering_plan(Path(tmp) / "plan.csv")
            hours = run(DIALOGOPS, csv_path, cpu, str(Path(tmp) / "plan.csv"))
            _report("+ local hours", hours)
            print(f"local hours: {float(ours['cpu']) / float(hours['cpu']):.2f}x the rows/s")
        if args.skip_baseline:
            return 0
        base = run(STRAIGHTFORWARD, csv_path, cpu)
        _report("straightforward", base)
    if ours["fingerprint"] != base["fingerprint"]:
        print("FAIL: the two renders disagree", ours["fingerprint"], base["fingerprint"])
        return 1
    ratio = float(base["cpu"]) / float(ours["cpu"])
    print(f"ratio: {ratio:.1f}x faster (same fingerprint {ours['fingerprint'][:19]}...)")
    rate = args.rows / float(ours["cpu"])
    peak = float(ours["peak"]) / 2**20
    ok = rate >= 50_000 and peak <= 250 and ratio >= 5
    print("targets (>= 50,000 rows/s, <= 250 MB, >= 5x):", "met" if ok else "NOT met")
    return 0 if ok else 1


def _report(label: str, result: dict[str, float | str]) -> None:
    cpu, wall = float(result["cpu"]), float(result["seconds"])
    print(
        f"{label:>16}: {cpu:6.2f} s CPU ({wall:6.2f} s wall)  "
        f"{float(result['rows']) / cpu:9,.0f} rows/s  "
        f"peak RSS {float(result['peak']) / 2**20:6.1f} MB"
    )


if __name__ == "__main__":
    raise SystemExit(main())
