"""Benchmark: plan a campaign of N recipients against a contact ledger of M entries.

Runs `dialogops plan` as a user runs it, in a process of its own pinned to one core, on
two projects sharing one CSV: with `policy.frequency` (and `on_frequency: skip`) against a
ledger of M entries bulk-loaded beforehand, and without caps (the reference). Prints
rows/s, peak RSS and the ratio of CPU times; targets: the caps add at most 50% and the
plan stays under 250 MB.

    python benchmarks/ledger.py [--rows N] [--entries M] [--backend local|postgres]

`--backend postgres` keeps the state and the ledger in a schema of their own in the
PostgreSQL of `DIALOGOPS_STATE_DSN` (default: the test server at 127.0.0.1:5432), dropped
afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from plan_throughput import MOBILE, TEMPLATES, write_csv

from dialogops.commands.wiring import ledger_store
from dialogops.config import load_config
from dialogops.ledger.keys import LedgerKey

KEY = "benchmark-ledger-key-0123456789"
DSN_ENV = "DIALOGOPS_STATE_DSN"
TEST_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
DATE = dt.date(2099, 12, 15)
PER_CAMPAIGN = 100_000

CONFIG = "manifests: [campaigns/]\n"
CAPS = "policy:\n  frequency: {per_day: 1, per_week: 2, per_month: 8}\n"
MANIFEST = """\
apiVersion: dialogops/v1
kind: Campaign
metadata:
  name: bench
spec:
  project_id: 1
  start_block_id: 10
  phone_id: 5
  schedule: {{date: {date}, start_time: "09:00", end_time: "17:00"}}
  phones:
    csv: {{path: ../phones.csv, delimiter: ";"}}
{extra}  add_data:
{templates}
"""


def project(root: Path, csv_path: Path, caps: bool, state: str = "") -> Path:
    (root / "campaigns").mkdir(parents=True)
    os.link(csv_path, root / "phones.csv")
    config = CONFIG + (CAPS if caps else "") + state
    (root / "dialogops.yaml").write_text(config, encoding="utf-8")
    templates = "".join(f"    {key}: {value!r}\n" for key, value in TEMPLATES.items())
    extra = "    on_frequency: skip\n" if caps else ""
    text = MANIFEST.format(date=DATE.isoformat(), extra=extra, templates=templates)
    (root / "campaigns" / "bench.yaml").write_text(text, encoding="utf-8")
    return root


def ledger_dates(campaigns: int) -> list[dt.date]:
    """Campaigns every few days through the year, the last on the planned date."""
    start = dt.date(2099, 1, 1)
    step = (DATE - start).days / max(campaigns - 1, 1)
    return [start + dt.timedelta(days=int(i * step)) for i in range(campaigns)]


def load_ledger(root: Path, entries: int) -> float:
    """Record `entries` recipients in campaigns of 100,000; returns the seconds taken."""
    key = LedgerKey(KEY.encode())
    started = time.perf_counter()
    dates = ledger_dates(max(1, entries // PER_CAMPAIGN))
    with ledger_store(load_config(None, root)) as ledger:
        for n, date in enumerate(dates):
            rnd = random.Random(1000 + n)
            numbers = {
                f"+7{rnd.choice(MOBILE)}{rnd.randrange(10**7):07d}" for _ in range(PER_CAMPAIGN)
            }
            hashes = [key.hash(number) for number in numbers]
            ledger.record(f"past-{n}", date, "sha256:" + "0" * 64, hashes, n + 1)
    return time.perf_counter() - started


@contextlib.contextmanager
def backend_state(backend: str) -> Iterator[str]:
    """The `state:` config of `backend`: for postgres a fresh schema, dropped afterwards."""
    if backend == "local":
        yield ""
        return
    import psycopg
    from psycopg import sql

    os.environ.setdefault(DSN_ENV, TEST_DSN)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        yield f"state: {{backend: postgres, schema: {schema}}}\n"
    finally:
        with psycopg.connect(os.environ[DSN_ENV], autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def ledger_size(root: Path, backend: str) -> float:
    """The ledger's size on disk in MB: the SQLite file, or the tables with their indexes."""
    if backend == "local":
        return sum(p.stat().st_size for p in root.iterdir() if "ledger" in p.name) / 2**20
    import psycopg

    schema = load_config(None, root).state_schema
    with psycopg.connect(os.environ[DSN_ENV]) as conn:
        found = conn.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname LIKE 'ledger%%' "
            "AND c.relkind = 'r'",
            (schema,),
        ).fetchone()
    return float(found[0] if found and found[0] else 0) / 2**20


def plan(root: Path, cpu: int) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, last line) of `dialogops plan` in `root`."""
    env = {**os.environ, "DIALOG_LEDGER_KEY": KEY}
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%e %U %S %M", sys.executable, "-m", "dialogops", "plan"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
    )
    wall, user, system, peak_kb = done.stderr.strip().splitlines()[-1].split()
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0:
        raise SystemExit(f"plan failed in {root}: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    detail = next((line.strip() for line in lines if "frequency:" in line), "")
    return float(wall), float(user) + float(system), int(peak_kb) / 1024, detail[:100]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="CSV rows (default 1e6)")
    parser.add_argument("--entries", type=int, default=10_000_000, help="ledger entries")
    parser.add_argument("--runs", type=int, default=2, help="runs of each plan (best kept)")
    parser.add_argument("--backend", choices=["local", "postgres"], default="local")
    args = parser.parse_args()
    cpu = min(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp, backend_state(args.backend) as state:
        base = Path(tmp)
        write_csv(base / "phones.csv", args.rows)
        reference = project(base / "reference", base / "phones.csv", False, state)
        capped = project(base / "caps", base / "phones.csv", True, state)
        for root in (reference, capped):
            subprocess.run(
                [sys.executable, "-m", "dialogops", "state", "init"], cwd=root, check=True
            )
        loaded = load_ledger(capped, args.entries)
        size = ledger_size(capped, args.backend)
        print(
            f"{dt.datetime.now():%Y-%m-%d %H:%M} {args.rows:,} rows against a ledger of "
            f"{args.entries:,} entries ({size:.0f} MB, loaded in {loaded:.1f} s); CPU {cpu}, "
            f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
        )
        results = {}
        label_caps = f"{args.backend} caps"
        for label, root in (("without caps", reference), (label_caps, capped)):
            runs = [plan(root, cpu) for _ in range(args.runs)]
            wall, seconds, peak, detail = min(runs, key=lambda r: r[1])
            results[label] = (seconds, peak)
            print(
                f"{label:>14}: {seconds:6.2f} s CPU ({wall:6.2f} s wall)  "
                f"{args.rows / seconds:9,.0f} rows/s  peak RSS {peak:6.1f} MB"
                + (f"  [{detail}]" if detail else "")
            )
    added = results[label_caps][0] / results["without caps"][0] - 1
    peak = results[label_caps][1]
    ok = added <= 0.5 and peak < 250
    print(f"caps add {added:.0%} to plan CPU time; peak {peak:.0f} MB")
    print("targets (<= 50% added, < 250 MB):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
