"""A small project for the manifest checks: a config with defaults, a CSV phone file, and
a Campaign manifest written with the phone source a test needs."""

from __future__ import annotations

from pathlib import Path

CAMPAIGN = """\
apiVersion: dialogops/v1
kind: Campaign
metadata:
  name: {name}
spec:
  start_block_id: 10
  schedule:
    date: {date}
    start_time: 09:00
    end_time: "17:00"
  phones:
{phones}
  add_data:
    name: "{{{{ row.name }}}}"
    code: 7
"""


def new_project(root: Path) -> Path:
    """dialogops.yaml (Asia/Yekaterinburg, defaults) and campaigns/data/p.csv under `root`."""
    (root / "dialogops.yaml").write_text(
        "timezone: Asia/Yekaterinburg\n"
        "defaults:\n  project_id: 3\n  phone_id: 5\n  schedule: {attempts: 2}\n"
    )
    (root / "campaigns" / "data").mkdir(parents=True)
    (root / "campaigns" / "data" / "p.csv").write_text("phone;name\n+79991234567;Ann\n")
    return root


def write_campaign(project: Path, name: str, phones: str, date: str = "2099-12-01") -> Path:
    """campaigns/<name>.yaml with `phones` (indented four spaces) as its `spec.phones`."""
    path = project / "campaigns" / f"{name}.yaml"
    path.write_text(CAMPAIGN.format(name=name, date=date, phones=phones))
    return path
