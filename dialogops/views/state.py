"""Views of the state commands: the entries as a table or JSON, and what each change did."""

from __future__ import annotations

import json
import sys
from typing import Literal

from rich.console import Console

from dialogops.masking import scrub, scrub_cells, scrub_json
from dialogops.state import (
    Listing,
    LockInfo,
    State,
    StateEntry,
    Summary,
    every_field,
    file_fields,
)

ListFormat = Literal["table", "json"]


def entries_json(state: State) -> None:
    """Every entry as its block in the state file, by name, for scripts."""
    listed = [{"name": n, **file_fields(e)} for n, e in sorted(state.campaigns.items())]
    print(json.dumps(listed, indent=2, ensure_ascii=False))


def listing(listed: Listing, location: str, *, no_color: bool = False) -> None:
    """Every entry as an aligned line, by name, with the serial and where the state is."""
    if not listed.entries:
        print(scrub(f"no campaigns in state ({location})"))
        return
    console = Console(no_color=no_color or None, highlight=False, soft_wrap=True)
    header, *rows = _columns(listed.entries)
    console.print(header, style="bold", markup=False)
    # Plain aligned lines, not a rich Table: a table laid out 100,000 entries in 110 s,
    # these lines take under a second (benchmarks/state_scale.py measures `state list`).
    sys.stdout.write("".join(row + "\n" for row in rows))
    console.print(
        scrub(f"{len(listed.entries)} campaign(s), serial {listed.serial}, {location}"),
        markup=False,
    )


def _columns(summaries: tuple[Summary, ...]) -> list[str]:
    """The header and one line per entry, each column padded to its widest cell.

    A state is input like any other: nothing in it may drive the terminal, so its texts
    are scrubbed (the id too: a long one can look like a phone number). Status, phones
    and times are checked when the state is read and shown as they are.
    """
    entries = sorted(summaries, key=lambda e: e.name)
    columns = [
        scrub_cells([e.name for e in entries]),
        ["pending (outcome unknown)" if e.status == "pending" else e.status for e in entries],
        scrub_cells([str(e.id) if e.id is not None else "-" for e in entries]),
        [str(e.phones) for e in entries],
        [e.created_at or "-" for e in entries],
    ]
    header = ["name", "status", "id", "phones", "created"]
    widths = [
        max(len(title), *map(len, cells)) for title, cells in zip(header, columns, strict=True)
    ]
    line = "  ".join(f"{{:<{width}}}" for width in widths).format
    return [line(*row).rstrip() for row in [header, *zip(*columns, strict=True)]]


def started(state: State, new: bool, location: str) -> None:
    if new:
        print(scrub(f"started an empty state at {location} (lineage {state.lineage})"))
    else:
        print(
            scrub(
                f"the state at {location} already exists ({len(state.campaigns)} campaign(s), "
                f"serial {state.serial}, lineage {state.lineage}); left as it is"
            )
        )


def moved(state: State, source: str, destination: str, copied: bool) -> None:
    what = f"{len(state.campaigns)} campaign(s), serial {state.serial}, lineage {state.lineage}"
    if copied:
        print(scrub(f"copied the state ({what}) from {source} to {destination}"))
    else:
        print(scrub(f"{destination} already holds this state ({what}); nothing copied"))


def entry(found: StateEntry) -> None:
    """One entry as JSON, history included."""
    print(scrub_json(json.dumps(every_field(found), indent=2, ensure_ascii=False)))


def forgot(name: str, dropped: StateEntry) -> None:
    if dropped.status == "created":
        print(
            scrub(
                f"forgot {name} (id {dropped.id}, {dropped.phones} phones, created "
                f"{dropped.created_at}); the campaign still exists on the platform"
            )
        )
    else:
        print(
            scrub(
                f"forgot {name} (status {dropped.status}); if it was created after all, "
                f"the next apply creates it again"
            )
        )


def unlocked(holder: LockInfo | None, lock_location: str) -> None:
    if holder is None:
        print(
            scrub(
                f"state is not locked ({lock_location}): nothing to unlock; a lock ends with "
                f"the process or database session that holds it"
            )
        )
    else:
        # The holder's details come from the holder's record: shown through `scrub`.
        print(scrub(f"ended the database session holding the state lock: {holder.describe()}"))


def imported(recorded: StateEntry, previous: StateEntry | None) -> None:
    """The entry recorded, and the ID it replaced if there was a different one."""
    print(
        scrub(
            f"imported {recorded.name}: id {recorded.id}, {recorded.phones} phones, "
            f"{recorded.fingerprint}"
        )
    )
    if previous is not None and previous.status == "created" and previous.id != recorded.id:
        print(f"the previous id {previous.id} is kept in the entry's history")
