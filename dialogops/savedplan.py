"""Saved plans (`plan --out FILE`): what was reviewed, so `apply --plan` can refuse a stale one.

A saved plan records the state lineage and serial, the options used and every campaign's
status, fingerprint and phone count; never a phone number and never an add_data value.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from dialogops import __version__
from dialogops.durable import write_atomic
from dialogops.errors import StateError, UsageError
from dialogops.planner import Plan

SAVED_PLAN_FORMAT = 1

_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "format_version",
        "created_at",
        "dialogops_version",
        "state",
        "options",
        "campaigns",
    ],
    "properties": {
        "format_version": {"type": "integer", "minimum": 1},
        "created_at": {"type": "string"},
        "dialogops_version": {"type": "string"},
        "state": {
            "type": "object",
            "required": ["lineage", "serial"],
            "properties": {
                "lineage": {"type": "string"},
                "serial": {"type": "integer", "minimum": 0},
            },
        },
        "options": {
            "type": "object",
            "required": ["targets", "replace", "vars"],
            "properties": {
                name: {"type": "array", "items": {"type": "string"}}
                for name in ("targets", "replace", "vars")
            },
        },
        "campaigns": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "status", "fingerprint", "phones"],
                "properties": {
                    "name": {"type": "string"},
                    "status": {
                        "enum": ["create", "unchanged", "changed", "replace", "unknown", "orphaned"]
                    },
                    "fingerprint": {"type": ["string", "null"]},
                    "phones": {"type": ["integer", "null"], "minimum": 0},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class SavedCampaign:
    name: str
    status: str
    fingerprint: str | None  # None for orphaned campaigns (nothing rendered)
    phones: int | None


@dataclass(frozen=True)
class SavedPlan:
    format_version: int
    created_at: str
    dialogops_version: str
    lineage: str
    serial: int
    targets: tuple[str, ...]
    replace: tuple[str, ...]
    var_names: tuple[str, ...]
    campaigns: tuple[SavedCampaign, ...]


def saved_document(plan: Plan) -> dict[str, Any]:
    """The JSON document written by `write_saved_plan`."""
    return {
        "format_version": SAVED_PLAN_FORMAT,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "dialogops_version": __version__,
        "state": {"lineage": plan.lineage, "serial": plan.serial},
        "options": {
            "targets": list(plan.targets),
            "replace": list(plan.replace),
            "vars": list(plan.var_names),
        },
        "campaigns": [
            {
                "name": a.name,
                "status": a.status,
                "fingerprint": a.rendered.fingerprint if a.rendered else None,
                "phones": a.rendered.stats.phones if a.rendered else None,
            }
            for a in plan.actions
        ],
    }


def write_saved_plan(plan: Plan, path: Path) -> None:
    """Write the plan file atomically: a reader sees the old file or the whole new one."""
    data = json.dumps(saved_document(plan), ensure_ascii=False, indent=2) + "\n"
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise UsageError(f"cannot write plan file {path}: {exc.strerror}") from exc


def read_saved_plan(path: Path) -> SavedPlan:
    """Read a plan file; a missing, unreadable or malformed file is a `UsageError`.

    A plan written by a newer dialogops (a higher format_version) is a `StateError`.
    """
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UsageError(f"plan file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"plan file {path} is not readable: {exc}") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UsageError(f"plan file {path} is not a dialogops plan (invalid JSON: {exc})") from exc
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(_SCHEMA).iter_errors(data)
    )
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "top level"
        raise UsageError(f"plan file {path} is not a dialogops plan ({where}: {error.message})")
    if data["format_version"] > SAVED_PLAN_FORMAT:
        raise StateError(
            f"plan file {path} has format_version {data['format_version']}, written by "
            f"dialogops {data['dialogops_version']}; this dialogops reads up to "
            f"{SAVED_PLAN_FORMAT}: upgrade dialogops or run plan again"
        )
    options = data["options"]
    return SavedPlan(
        format_version=data["format_version"],
        created_at=data["created_at"],
        dialogops_version=data["dialogops_version"],
        lineage=data["state"]["lineage"],
        serial=data["state"]["serial"],
        targets=tuple(options["targets"]),
        replace=tuple(options["replace"]),
        var_names=tuple(options["vars"]),
        campaigns=tuple(
            SavedCampaign(c["name"], c["status"], c["fingerprint"], c["phones"])
            for c in data["campaigns"]
        ),
    )


def check_fresh(saved: SavedPlan, plan: Plan) -> None:
    """Raise `StateError("stale plan: ...")` naming everything that differs from `plan`.

    `plan` is built now, from the same options, against the current state and manifests.
    """
    changes: list[str] = []
    if saved.lineage != plan.lineage:
        changes.append(
            f"the state lineage is {_lineage(plan.lineage)}, "
            f"the plan was made for {_lineage(saved.lineage)}"
        )
    if saved.serial != plan.serial:
        changes.append(f"the state serial is {plan.serial}, the plan was made at {saved.serial}")
    if saved.var_names != plan.var_names:
        changes.append(
            f"--var names are {list(plan.var_names)}, the plan used {list(saved.var_names)}"
        )
    before = {c.name: c for c in saved.campaigns}
    now = {a.name: a for a in plan.actions}
    added = sorted(now.keys() - before.keys())
    removed = sorted(before.keys() - now.keys())
    if added:
        changes.append(f"campaigns not in the plan: {', '.join(added)}")
    if removed:
        changes.append(f"campaigns in the plan but no longer planned: {', '.join(removed)}")
    for name in sorted(before.keys() & now.keys()):
        old, action = before[name], now[name]
        fingerprint = action.rendered.fingerprint if action.rendered else None
        if old.fingerprint != fingerprint:
            changes.append(f"campaign {name} renders differently (fingerprint changed)")
        elif old.status != action.status:
            changes.append(f"campaign {name} is now {action.status}, the plan showed {old.status}")
    if changes:
        raise StateError("stale plan: " + "; ".join(changes) + "; run dialogops plan again")


def _lineage(lineage: str) -> str:
    return repr(lineage) if lineage else "none (no state yet)"
