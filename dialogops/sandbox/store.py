"""The sandbox's campaigns, persisted in a SQLite file.

A connection is opened per operation, so server threads, tests and several sandbox
processes sharing one file (concurrent `apply --sandbox` runs) each see every create.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialogops.errors import UsageError

# IDs start well above 1 so that nothing can pass by confusing an ID with a count.
_FIRST_ID = 1001

_SCHEMA = """
CREATE TABLE IF NOT EXISTS campaigns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    project_id INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class StoredCampaign:
    """A campaign the sandbox created: its ID, `campaign.name`, the full request body."""

    id: int
    name: str
    body: dict[str, Any]
    created_at: dt.datetime  # UTC

    @property
    def project_id(self) -> int:
        return int(self.body["campaign"]["project_id"])


class CampaignStore:
    """Campaigns in a SQLite file at `path` (created with its folder when missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.executescript(_SCHEMA)
                if db.execute("SELECT COUNT(*) FROM sqlite_sequence").fetchone()[0] == 0:
                    db.execute(
                        "INSERT INTO sqlite_sequence (name, seq) VALUES ('campaigns', ?)",
                        (_FIRST_ID - 1,),
                    )
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(f"{path}: cannot open the sandbox database: {exc}") from exc

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            yield db

    def add(self, body: Mapping[str, Any]) -> int:
        """Store a create body durably and return the new campaign ID."""
        campaign = body["campaign"]
        now = dt.datetime.now(dt.UTC).isoformat()
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO campaigns (name, project_id, body, created_at) VALUES (?, ?, ?, ?)",
                (
                    campaign.get("name", ""),
                    campaign["project_id"],
                    json.dumps(body, ensure_ascii=False),
                    now,
                ),
            )
            assert cursor.lastrowid is not None  # an INSERT into a rowid table always sets it
            return cursor.lastrowid

    def get(self, campaign_id: int) -> StoredCampaign | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT id, name, body, created_at FROM campaigns WHERE id = ?", (campaign_id,)
            ).fetchone()
        return None if row is None else _campaign(row)

    def all(self) -> list[StoredCampaign]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, name, body, created_at FROM campaigns ORDER BY id"
            ).fetchall()
        return [_campaign(row) for row in rows]

    def counts_by_name(self) -> dict[str, int]:
        with self._connect() as db:
            rows = db.execute("SELECT name, COUNT(*) FROM campaigns GROUP BY name").fetchall()
        return {name: count for name, count in rows}


def _campaign(row: tuple[int, str, str, str]) -> StoredCampaign:
    campaign_id, name, body, created_at = row
    created = dt.datetime.fromisoformat(created_at)
    return StoredCampaign(campaign_id, name, json.loads(body), created)
