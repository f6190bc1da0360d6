"""Views of the state commands: the entries as a table or JSON, and what each change did."""

from __future__ import annotations

import json
from typing import Literal

from rich.console import Console
from rich.table import Table

from dialogops.state import LockInfo, State, StateEntry, every_field, file_fields

ListFormat = Literal["table", "json"]


def entries(state: State, location: str, fmt: ListFormat, *, no_color: bool = False) -> None:
    """Every entry: a table for people (with the serial and file) or JSON for scripts."""
    if fmt == "json":
        listed = [{"name": n, **file_fields(e)} for n, e in sorted(state.campaigns.items())]
        print(json.dumps(listed, indent=2, ensure_ascii=False))
        return
    if not state.campaigns:
        print(f"no campaigns in state ({location})")
        return
    console = Console(no_color=no_color or None, highlight=False, soft_wrap=True)
    console.print(_table(state))
    console.print(f"{len(state.campaigns)} campaign(s), serial {state.serial}, {location}")


def _table(state: State) -> Table:
    table = Table("name", "status", "id", "phones", "created", box=None, pad_edge=False)
    for name in sorted(state.campaigns):
        entry = state.campaigns[name]
        status = "pending (outcome unknown)" if entry.status == "pending" else entry.status
        table.add_row(
            name,
            status,
            str(entry.id) if entry.id is not None else "-",
            str(entry.phones),
            entry.created_at or "-",
        )
    return table


def entry(found: StateEntry) -> None:
    """One entry as JSON, history included."""
    print(json.dumps(every_field(found), indent=2, ensure_ascii=False))


def forgot(name: str, dropped: StateEntry) -> None:
    if dropped.status == "created":
        print(
            f"forgot {name} (id {dropped.id}, {dropped.phones} phones, created "
            f"{dropped.created_at}); the campaign still exists on the platform"
        )
    else:
        print(
            f"forgot {name} (status {dropped.status}); if it was created after all, "
            f"the next apply creates it again"
        )


def unlocked(holder: LockInfo | None, lock_location: str) -> None:
    if holder is None:
        print(f"state is not locked ({lock_location} does not exist)")
    else:
        print(f"removed the state lock held by {holder.describe()}")


def imported(recorded: StateEntry, previous: StateEntry | None) -> None:
    """The entry recorded, and the ID it replaced if there was a different one."""
    print(
        f"imported {recorded.name}: id {recorded.id}, {recorded.phones} phones, "
        f"{recorded.fingerprint}"
    )
    if previous is not None and previous.status == "created" and previous.id != recorded.id:
        print(f"the previous id {previous.id} is kept in the entry's history")
