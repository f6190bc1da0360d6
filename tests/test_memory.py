"""Memory: `dialogops plan` over a generated 200,000-row CSV stays under 250 MB peak RSS,
measured with resource.getrusage around the real command in its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROWS = 200_000
LIMIT = 250 * 2**20
MOBILE_CODES = ("900", "912", "922", "950", "977", "999", "982", "904")

MANIFEST = """\
apiVersion: dialogops/v1
kind: Campaign
metadata:
  name: big
spec:
  project_id: 1
  start_block_id: 10
  phone_id: 5
  schedule:
    date: 2099-06-01
    start_time: "09:00"
    end_time: "17:00"
  phones:
    csv:
      path: data/big.csv
  add_data:
    name: "{{ row.last_name }} {{ row.first_name }}"
    time: "{{ row.slot | default('10:00') }}"
    contract: "{{ row.contract | int }}"
"""

# A fresh interpreter whose only child is the plan, so RUSAGE_CHILDREN is that plan's peak.
MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run([sys.executable, "-m", "dialogops", "plan", "--format", "json"],
                      capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"code": done.returncode, "peak": peak, "out": done.stdout,
                  "err": done.stderr}))
"""


@pytest.mark.slow
def test_plan_of_200k_rows_stays_under_250_mb(tmp_path: Path) -> None:
    data = tmp_path / "campaigns" / "data"
    data.mkdir(parents=True)
    (tmp_path / "campaigns" / "big.yaml").write_text(MANIFEST, encoding="utf-8")
    with (data / "big.csv").open("w", encoding="utf-8") as handle:
        handle.write("phone;last_name;first_name;slot;contract\n")
        for i in range(ROWS):
            code = MOBILE_CODES[i % len(MOBILE_CODES)]
            handle.write(f"8 ({code}) {i:07d};Иванов;Иван;{9 + i % 8}:00;{i}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALOG")}
    measured = subprocess.run(
        [sys.executable, "-c", MEASURE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result = json.loads(measured.stdout)
    assert result["code"] == 0, result["err"]
    [campaign] = json.loads(result["out"])["campaigns"]
    assert campaign["render"]["rows"] == ROWS
    assert campaign["render"]["phones"] == ROWS
    assert 0 < result["peak"] < LIMIT, f"peak RSS {result['peak'] / 2**20:.1f} MB"
