"""Saved plans (`plan --out FILE`): what was reviewed, so `apply --plan` can refuse a stale one.

The file is the plan document of `plandoc.py` with its time and without any phone number, so
it is never a second format; this module writes and reads it and compares it with a new plan.
"""

from __future__ import annotations

from pathlib import Path

from dialogops.durable import write_atomic
from dialogops.errors import StateError, UsageError
from dialogops.plandoc import SavedPlan, decode_saved, encode, saved_plan
from dialogops.planner import Plan


def write_saved_plan(plan: Plan, path: Path) -> None:
    """Write the plan file atomically: a reader sees the old file or the whole new one."""
    try:
        write_atomic(path, encode(saved_plan(plan)))
    except OSError as exc:
        raise UsageError(f"cannot write plan file {path}: {exc.strerror}") from exc


def read_saved_plan(path: Path) -> SavedPlan:
    """Read a plan file; a missing, unreadable or malformed file is a `UsageError`.

    A plan written by a newer dialogops (a higher format_version) is a `StateError`.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise UsageError(f"plan file {path} does not exist") from exc
    except OSError as exc:
        raise UsageError(f"plan file {path} is not readable: {exc}") from exc
    return decode_saved(raw, str(path))


def check_fresh(saved: SavedPlan, plan: Plan) -> None:
    """Raise `StateError("stale plan: ...")` naming everything that differs from `plan`.

    `plan` is built now, from the same options, against the current state and manifests.
    """
    changes: list[str] = []
    made_at, used = saved.state, saved.options
    if made_at.lineage != plan.lineage:
        changes.append(
            f"the state lineage is {_lineage(plan.lineage)}, "
            f"the plan was made for {_lineage(made_at.lineage)}"
        )
    if made_at.serial != plan.serial:
        changes.append(f"the state serial is {plan.serial}, the plan was made at {made_at.serial}")
    if used.vars != plan.var_names:
        changes.append(f"--var names are {list(plan.var_names)}, the plan used {list(used.vars)}")
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
        old_fingerprint = old.render.fingerprint if old.render else None
        fingerprint = action.rendered.fingerprint if action.rendered else None
        if old_fingerprint != fingerprint:
            changes.append(f"campaign {name} renders differently (fingerprint changed)")
        elif old.status != action.status:
            changes.append(f"campaign {name} is now {action.status}, the plan showed {old.status}")
    if changes:
        raise StateError("stale plan: " + "; ".join(changes) + "; run dialogops plan again")


def _lineage(lineage: str) -> str:
    return repr(lineage) if lineage else "none (no state yet)"
