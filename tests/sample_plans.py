"""Hand-made campaigns, projects and states for the plan tests: one campaign of each status,
shared by the planner, show and saved-plan tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dialogops.errors import Location
from dialogops.render import render_campaign
from dialogops.specs import Campaign, Config, InlineSource, PhonesSpec, Policy, Project, Schedule
from dialogops.state import Sent, State, StateEntry

FAR_DATE = dt.date(2099, 12, 1)
PHONES = ("+79991234567", "+79991234568", "+79991234569", "+79991234570")


def make_campaign(
    name: str,
    phones: Sequence[str | Mapping[str, Any]] = PHONES,
    *,
    title: str | None = None,
    add_data: Mapping[str, Any] | None = None,
) -> Campaign:
    """A validated campaign with inline phones, as the manifest loader would build it."""
    path = f"campaigns/{name}.yaml"
    return Campaign(
        name=name,
        location=Location(path, 1, 1),
        project_id=1,
        title=title or f"Обзвон {name}",
        description="",
        start_block_id=10,
        phone_id=5,
        schedule=Schedule(FAR_DATE, dt.time(9, 0), dt.time(17, 0), attempts=3, interval_minutes=5),
        phones=PhonesSpec(
            InlineSource(
                entries=tuple(phones),
                locations=tuple(Location(path, 12 + i, 9) for i in range(len(phones))),
            )
        ),
        add_data=dict(add_data or {}),
        add_data_locations={key: Location(path, 30, 5) for key in add_data or {}},
    )


def make_project(*campaigns: Campaign, policy: Policy | None = None) -> Project:
    config = Config(root=Path("/nonexistent-project"), path=None, policy=policy or Policy())
    return Project(config=config, campaigns=campaigns, reports=())


def entry_for(
    campaign: Campaign,
    status: str = "created",
    *,
    fingerprint: str | None = None,
    id: int = 100,
    sent: Sent | None = None,
) -> StateEntry:
    """A state entry; by default with the fingerprint the campaign renders to now."""
    fp = fingerprint or render_campaign(campaign, {}).fingerprint
    return StateEntry(
        name=campaign.name,
        status=status,  # type: ignore[arg-type]
        fingerprint=fp,
        phones=4,
        id=id if status == "created" else None,
        created_at="2026-01-01T00:00:00Z" if status == "created" else None,
        started_at="2026-01-01T00:00:00Z",
        sent=sent,
    )


def make_state(*entries: StateEntry, serial: int = 7) -> State:
    return State(lineage="lineage-1", serial=serial, campaigns={e.name: e for e in entries})


OTHER_FP = "sha256:" + "0" * 64


def all_statuses() -> tuple[Project, State]:
    """One campaign of each status: create, unchanged, changed, unknown, pending, orphaned."""
    new, same, edited, lost, pending = (
        make_campaign(n) for n in ("new", "same", "edited", "lost", "pending")
    )
    gone = make_campaign("gone")
    state = make_state(
        entry_for(same),
        entry_for(edited, fingerprint=OTHER_FP),
        entry_for(lost, "unknown"),
        entry_for(pending, "pending"),
        entry_for(gone, id=5),
    )
    return make_project(new, same, edited, lost, pending), state
