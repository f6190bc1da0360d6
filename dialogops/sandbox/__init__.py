"""The built-in imitation of the Dialog API: a real HTTP server on loopback.

`SandboxServer` serves `POST /api/login`, `/api/campaigns` and
`/api/analytics/{project_id}/report` with strict checks, SQLite persistence, synthetic
report rows and injectable faults; `running_sandbox` is how commands and tests start it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dialogops.sandbox.faults import CreateFault, Faults
from dialogops.sandbox.server import (
    DEFAULT_TIMEZONE,
    SANDBOX_LOGIN,
    SANDBOX_PASSWORD,
    SANDBOX_TOKEN,
    ReceivedRequest,
    SandboxServer,
)
from dialogops.sandbox.store import StoredCampaign

__all__ = [
    "SANDBOX_LOGIN",
    "SANDBOX_PASSWORD",
    "SANDBOX_TOKEN",
    "CreateFault",
    "Faults",
    "ReceivedRequest",
    "SandboxServer",
    "StoredCampaign",
    "running_sandbox",
    "sandbox_db_path",
]


def sandbox_db_path(root: Path) -> Path:
    """Where a project's sandbox keeps its campaigns: `root/.dialogops/sandbox.db`."""
    return root / ".dialogops" / "sandbox.db"


@contextmanager
def running_sandbox(
    root: Path, *, faults: Faults | None = None, timezone: str = DEFAULT_TIMEZONE
) -> Iterator[SandboxServer]:
    """A started sandbox for the project at `root`, on an ephemeral loopback port."""
    with SandboxServer(
        sandbox_db_path(root), faults=faults, timezone=timezone, record_requests=False
    ) as server:
        yield server
