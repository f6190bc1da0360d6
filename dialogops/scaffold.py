"""`dialogops init`: a new project with a config, an example Campaign, its CSV and a Report,
and the JSON Schemas that editors check each file against (named in its first line).

The example Campaign is dated a week ahead, so it validates and plans as written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dialogops.errors import UsageError
from dialogops.inputfiles import read_capped
from dialogops.manifests import today_in
from dialogops.schemas import KINDS, schema_text

TIMEZONE = "Europe/Moscow"
GITIGNORE_LINE = b".dialogops/"
MAX_GITIGNORE_BYTES = 1024 * 1024
# The schemas live in the project, so that the editor of anyone who clones it finds them.
SCHEMAS = Path(".schemas")

CONFIG = f"""\
# dialogops project config; reference: `dialogops schema config`.
api:
  url: https://ai-assistant.is74.ru/api   # DIALOG_API_URL overrides
  timeout_seconds: 30
state:
  backend: local
  path: dialogops.state.json
timezone: {TIMEZONE}
defaults:                # deep-merged under every Campaign spec
  project_id: 1
  phone_id: 5
policy:
  calling_hours: {{earliest: "09:00", latest: "21:00"}}
  max_phones_per_campaign: 50000
manifests: [campaigns/]
"""

CAMPAIGN = """\
# An example campaign: replace the IDs with your project's, then `dialogops plan`.
apiVersion: dialogops/v1
kind: Campaign
metadata:
  name: welcome-{date:%Y-%m-%d}
  labels: {{team: care}}
spec:
  title: Welcome call
  description: Greets new customers
  start_block_id: 10
  schedule:
    date: "{date:%Y-%m-%d}"
    start_time: "10:00"
    end_time: "18:00"
    attempts: 2
    interval_minutes: 30
  phones:
    csv:
      path: data/phones.csv
    default_region: RU
  add_data:
    name: "{{{{ row.name }}}}"
    plan: "{{{{ row.plan | default('basic', true) }}}}"
"""

REPORT = """\
# The example campaign's results, written to reports/ as CSV.
apiVersion: dialogops/v1
kind: Report
metadata:
  name: welcome-{date:%Y-%m-%d}-results
spec:
  campaign: welcome-{date:%Y-%m-%d}
  scenario_id: 951
  columns:
    - id: 1
      name: phone_number
      display_name: Phone Number
      column_type: field
      data_type: number
      sorting: asc
  output:
    format: csv
    path: reports/welcome-{date:%Y-%m-%d}.csv
"""

PHONES = """\
phone,name,plan
+79990000001,Анна,premium
8 (999) 000-00-02,Борис,
9990000003,Дина,basic
"""


def scaffold(root: Path, today: dt.date | None = None) -> list[Path]:
    """Write the example project into `root`; refuse if any of its files exists.

    Returns the files written (a `.gitignore` is created or gains a `.dialogops/` line).
    """
    date = (today or today_in(TIMEZONE)) + dt.timedelta(days=7)
    name = f"welcome-{date:%Y-%m-%d}"
    files = {
        root / "dialogops.yaml": modeline("config", SCHEMAS) + CONFIG,
        root / "campaigns" / f"{name}.yaml": modeline("campaign", ".." / SCHEMAS)
        + CAMPAIGN.format(date=date),
        root / "campaigns" / f"{name}-results.yaml": modeline("report", ".." / SCHEMAS)
        + REPORT.format(date=date),
        root / "campaigns" / "data" / "phones.csv": PHONES,
        **{root / SCHEMAS / f"{kind}.schema.json": schema_text(kind) for kind in KINDS},
    }
    existing = [path for path in files if path.exists()]
    if existing:
        listed = ", ".join(str(path) for path in existing)
        raise UsageError(f"refusing to overwrite existing files: {listed}")
    gitignore = root / ".gitignore"
    ignored = _read_gitignore(gitignore)
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        written = list(files)
        if _ensure_gitignore(gitignore, ignored):
            written.append(gitignore)
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or root}: {exc.strerror}") from exc
    return written


def modeline(kind: str, schemas: Path) -> str:
    """The first line that points the YAML language server (VS Code, JetBrains, Neovim) at
    the schema of `kind` in the folder `schemas`, relative to the file."""
    return f"# yaml-language-server: $schema={(schemas / f'{kind}.schema.json').as_posix()}\n"


def _read_gitignore(path: Path) -> bytes:
    """The project's .gitignore as it is (b"" when there is none), read before anything is
    written: a FIFO or a device there is refused, not waited on."""
    if not path.exists():
        return b""
    try:
        return read_capped(path, MAX_GITIGNORE_BYTES, "a .gitignore file")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc


def _ensure_gitignore(path: Path, ignored: bytes) -> bool:
    """Add `.dialogops/` (the sandbox's files) to .gitignore; False if already there.

    Bytes, not text: the lines already there are kept as written, whatever their encoding.
    """
    if GITIGNORE_LINE in ignored.splitlines():
        return False
    prefix = b"" if not ignored or ignored.endswith(b"\n") else b"\n"
    path.write_bytes(ignored + prefix + GITIGNORE_LINE + b"\n")
    return True
