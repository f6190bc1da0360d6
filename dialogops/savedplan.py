"""Saved plans (`plan --out FILE`): what was reviewed, so `apply --plan` can refuse a stale one.

The file is the plan document of `plandoc.py` with its time, without any phone number and
listing only the campaigns it creates, so it is never a second format; this module writes
and reads it, tells a plan applied already, and compares the campaigns it creates with a new
plan of them.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import NoReturn

from dialogops.durable import write_atomic
from dialogops.errors import StateError, UsageError
from dialogops.hints import Hints
from dialogops.inputfiles import read_capped
from dialogops.plandoc import EntryDoc, SavedPlan, decode_saved, encode, entry_doc, saved_plan
from dialogops.planner import Plan
from dialogops.state import State, StateEntry

# The most read from a plan file: a campaign to create takes about 1 KB (unchanged and
# orphaned ones are only counted), and a file that never ends (/dev/zero, a link to it)
# must not fill memory.
MAX_SAVED_PLAN_BYTES = 64 * 1024 * 1024


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
        raw = read_capped(path, MAX_SAVED_PLAN_BYTES, "a saved plan")
    except FileNotFoundError as exc:
        raise UsageError(f"plan file {path} does not exist") from exc
    except OSError as exc:
        raise UsageError(f"plan file {path} is not readable: {exc}") from exc
    return decode_saved(raw, str(path))


def planned_creates(saved: SavedPlan, manifests: Collection[str], hints: Hints) -> tuple[str, ...]:
    """The campaigns the saved plan creates: all that `apply --plan` plans again and checks.

    A stale-plan `StateError` when one of them has no manifest any more.
    """
    names = tuple(c.name for c in saved.campaigns if c.will_create)
    # A part of a split manifest (NAME@+03) is there while its manifest is.
    gone = [name for name in names if name.partition("@")[0] not in manifests]
    if gone:
        _stale([f"campaign {name} is no longer in the manifests" for name in gone], hints)
    return names


def already_applied(
    saved: SavedPlan, state: State, environment: str | None
) -> tuple[StateEntry, ...]:
    """The state entries of the campaigns the saved plan creates when each one has been
    created since, as planned (the same fingerprint, a new ID): a job run again. Else ().
    """
    creates = [c for c in saved.campaigns if c.will_create]
    if (
        not creates
        or saved.options.environment != environment
        or not _same_state(saved.state.lineage, state.lineage)
    ):
        return ()
    entries = []
    for planned in creates:
        entry = state.get(planned.name)
        if (
            entry is None
            or entry.status != "created"
            or planned.render is None
            or entry.fingerprint != planned.render.fingerprint
            or (planned.state is not None and planned.state.id == entry.id)
        ):
            return ()
        entries.append(entry)
    return tuple(entries)


def check_fresh(saved: SavedPlan, plan: Plan) -> None:
    """Raise `StateError("stale plan: ...")` naming everything that differs from `plan`.

    `plan` is built now, for the campaigns the saved plan creates, against the current state
    and manifests. Only those campaigns matter: another campaign applied since, or a state
    serial moved on by it, leaves the plan as good as it was.
    """
    changes: list[str] = []
    made_at, used = saved.state, saved.options
    if used.environment != plan.environment:
        changes.append(
            f"the plan was made for {_environment(used.environment)}, "
            f"this is {_environment(plan.environment)}"
        )
    if not _same_state(made_at.lineage, plan.lineage):
        changes.append(
            f"the state lineage is {_lineage(plan.lineage)}, "
            f"the plan was made for {_lineage(made_at.lineage)}"
        )
    if used.vars != plan.var_names:
        changes.append(f"var names are {list(plan.var_names)}, the plan used {list(used.vars)}")
    now = {a.name: a for a in plan.actions}
    for planned in saved.campaigns:
        if not planned.will_create:
            continue
        name, action = planned.name, now[planned.name]
        entry = None if action.entry is None else entry_doc(action.entry)
        fingerprint = action.rendered.fingerprint if action.rendered else None
        if _recorded(entry) != _recorded(planned.state):
            was, is_ = _describe(planned.state), _describe(entry)
            if was == is_:
                changes.append(f"campaign {name}'s state entry changed since the plan was made")
            else:
                changes.append(f"campaign {name} was {was} when the plan was made, now {is_}")
        elif planned.render is None or planned.render.fingerprint != fingerprint:
            changes.append(f"campaign {name} renders differently (fingerprint changed)")
        elif planned.status != action.status:
            changes.append(
                f"campaign {name} is now {action.status}, the plan showed {planned.status}"
            )
    if changes:
        _stale(changes, plan.hints)


def _stale(changes: list[str], hints: Hints) -> NoReturn:
    raise StateError("stale plan: " + "; ".join(changes) + f"; run {hints.command('plan')} again")


def _same_state(made_for: str, lineage: str) -> bool:
    """A plan made before the state's first write holds for whatever state came since."""
    return not made_for or made_for == lineage


def _recorded(entry: EntryDoc | None) -> tuple[object, ...] | None:
    """What an entry records about the campaign on the platform."""
    if entry is None:
        return None
    return (entry.status, entry.id, entry.fingerprint, entry.phones, entry.created_at)


def _describe(entry: EntryDoc | None) -> str:
    if entry is None:
        return "not in state"
    return f"created (id {entry.id})" if entry.id is not None else entry.status


def _environment(name: str | None) -> str:
    return f"environment {name!r}" if name is not None else "no environment"


def _lineage(lineage: str) -> str:
    return repr(lineage) if lineage else "none (no state yet)"
