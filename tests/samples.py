"""Test material shared by several test modules: the sample Campaign manifest and project,
the create body it must render to, the example project's copy, and the documented
analytics request."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from dialogops.sandbox import SANDBOX_TOKEN, SandboxServer
from dialogops.state import LocalBackend
from dialogops.templates import compiler

REPO = Path(__file__).resolve().parents[1]
# Python source setting `peak`: the running process's own peak RSS, in bytes. Not
# `ru_maxrss`, which Linux carries over from the process that started it: a child of a
# test worker that once held more would be measured at the worker's peak.
OWN_PEAK_RSS = (
    "import re\n"
    "with open('/proc/self/status', encoding='ascii') as status:\n"
    "    peak = int(re.search(r'VmHWM:\\s+(\\d+) kB', status.read())[1]) * 1024\n"
)
DATE = "2099-12-01"


def phone(i: int) -> str:
    return f"+7999{i:07d}"


def manifest(name: str, phones: list[str], *, title: str | None = None) -> str:
    """A Campaign manifest with inline phones; its add_data reads each row's `who`."""
    rows = "\n".join(f"      - {{phone: '{p}', who: Гость {i}}}" for i, p in enumerate(phones))
    return textwrap.dedent(f"""\
        apiVersion: dialogops/v1
        kind: Campaign
        metadata:
          name: {name}
        spec:
          project_id: 1
          title: {title or name}
          description: Опрос удовлетворенности
          start_block_id: 10
          phone_id: 5
          schedule:
            date: {DATE}
            start_time: "09:00"
            end_time: "17:00"
            attempts: 3
            interval_minutes: 5
          phones:
            inline:
        ROWS
          add_data:
            name: "{{{{ row.who }}}}"
            slot: "10:00"
        """).replace("ROWS", rows)


def campaign_part(title: str) -> dict[str, Any]:
    """The documented `campaign` object that `manifest(title=...)` must render to."""
    return {
        "project_id": 1,
        "name": title,
        "description": "Опрос удовлетворенности",
        "start_block_id": 10,
        "schedule": {
            "date": DATE,
            "start_time": "09:00",
            "end_time": "17:00",
            "periods": {"id": 1, "title": "Однократно"},
            "attempts": {"id": 3, "title": "3"},
            "interval": "5",
        },
        "state": "Создано",
        "phone_id": 5,
    }


def expected_body(title: str, phones: list[str]) -> dict[str, Any]:
    """The create body `manifest()` must produce, byte for byte as JSON."""
    return {
        "campaign": campaign_part(title),
        "phones": [
            {"phone": p, "add_data": {"name": f"Гость {i}", "slot": "10:00"}}
            for i, p in enumerate(phones)
        ],
    }


def write_project(
    root: Path,
    names: list[str],
    *,
    api_url: str = "http://127.0.0.1:9/api",
    timeout: float = 5,
    state: bool = True,
) -> Path:
    """A project at `root` with one campaign per name (two phones each), and with `state`
    its state started, as `dialogops init` does."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "dialogops.yaml").write_text(
        textwrap.dedent(f"""\
        api:
          url: {api_url}
          timeout_seconds: {timeout}
        manifests: [campaigns/]
        """),
        encoding="utf-8",
    )
    folder = root / "campaigns"
    folder.mkdir(exist_ok=True)
    for n, name in enumerate(names):
        (folder / f"{name}.yaml").write_text(
            manifest(name, [phone(2 * n), phone(2 * n + 1)]), encoding="utf-8"
        )
    if state:
        start_state(root / "dialogops.state.json")
    return root


def state_as_started(root: Path) -> bool:
    """True when the project's state is still as `start_state` left it: nothing written."""
    state = read_state(root)
    return state["serial"] == 1 and state["campaigns"] == {}


def start_state(path: Path) -> None:
    """An empty state at `path`, as `dialogops state init` starts it."""
    with LocalBackend(path).lock("dialogops state init") as lock:
        lock.write(lock.read())


def read_state(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "dialogops.state.json").read_text("utf-8"))
    return data


def example_project(tmp_path: Path, *, state: bool = True) -> Path:
    """A copy of the example project shipped in the repository (dialogops.yaml, campaigns/),
    with `state` its state started, as `dialogops init` does."""
    root = tmp_path / "example"
    root.mkdir()
    shutil.copy(REPO / "dialogops.yaml", root / "dialogops.yaml")
    shutil.copytree(REPO / "campaigns", root / "campaigns")
    if state:
        start_state(root / "dialogops.state.json")
    return root


def create_requests(sandbox: SandboxServer) -> int:
    """How many create requests reached the sandbox (answered or not)."""
    return sum(1 for r in sandbox.requests if r.path == "/api/campaigns")


def api_env(sandbox: SandboxServer) -> dict[str, str]:
    """The environment that points a `dialogops` child process at the sandbox."""
    return {"DIALOG_API_URL": sandbox.url, "DIALOG_TOKEN": SANDBOX_TOKEN}


# The analytics request of dialog-api.md's example, key for key.
DOCUMENTED_REPORT_REQUEST: dict[str, Any] = {
    "analytics_filter": {
        "scenario_id": 951,
        "start_block_id": 10,
        "outgoing_campaign_id": 12345,
        "date_start": "2000-01-01T08:00:59.096Z",
        "date_end": "2000-01-01T18:04:59.096Z",
    },
    "columns": [
        {
            "id": 1,
            "name": "phone_number",
            "display_name": "Phone Number",
            "column_type": "field",
            "data_type": "number",
            "filter_type": "contains",
            "filter_value": "79999999999",
            "sorting": "asc",
        }
    ],
}


def counting_compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The template texts compiled from now on (parsed, checked and turned into code); the
    cache of compiled texts starts empty, so a text compiled before counts again."""
    compiler._compiled.cache_clear()
    compiled: list[str] = []
    real = compiler._compile_template

    def counting(source: str) -> Any:
        compiled.append(source)
        return real(source)

    monkeypatch.setattr(compiler, "_compile_template", counting)
    return compiled
