"""Projects for the contact-ledger tests: campaigns of inline phones on chosen dates."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from dialogops.sandbox import SandboxServer
from tests.samples import phone, start_state

KEY_ENV = {"DIALOG_LEDGER_KEY": "ledger-test-key-0123456789"}


def ledger_manifest(
    name: str,
    numbers: list[int],
    *,
    date: str = "2099-12-01",
    revision: int = 1,
    phones_extra: str = "",
) -> str:
    """A Campaign calling `phone(i)` for each i, one inline entry a line."""
    rows = "\n".join(f"      - '{phone(i)}'" for i in numbers)
    extra = textwrap.indent(phones_extra.strip("\n"), "    ") + "\n" if phones_extra else ""
    return (
        textwrap.dedent(f"""\
        apiVersion: dialogops/v1
        kind: Campaign
        metadata:
          name: {name}
          revision: {revision}
        spec:
          project_id: 1
          start_block_id: 10
          phone_id: 5
          schedule: {{date: {date}, start_time: "09:00", end_time: "17:00"}}
          phones:
        EXTRA    inline:
        ROWS
        """)
        .replace("EXTRA", extra)
        .replace("ROWS", rows)
    )


def ledger_project(root: Path, config: str = "", *, state: bool = True) -> Path:
    """A project at `root` with `config` added to its dialogops.yaml, no campaigns yet;
    with `state`, its local state started."""
    (root / "campaigns").mkdir(parents=True)
    (root / "dialogops.yaml").write_text("manifests: [campaigns/]\n" + config, encoding="utf-8")
    if state:
        start_state(root / "dialogops.state.json")
    return root


def put(root: Path, name: str, numbers: list[int], **options: Any) -> None:
    text = ledger_manifest(name, numbers, **options)
    (root / "campaigns" / f"{name}.yaml").write_text(text, encoding="utf-8")


def sent_phones(sandbox: SandboxServer, name: str) -> list[str]:
    """The phones of the last create of campaign `name` the sandbox received."""
    bodies = [
        r.body
        for r in sandbox.requests
        if r.path == "/api/campaigns" and r.body["campaign"]["name"] == name
    ]
    return [p["phone"] for p in bodies[-1]["phones"]]


def state_entries(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "dialogops.state.json").read_text("utf-8"))
    return dict(data["campaigns"])
