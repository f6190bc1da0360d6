"""Reports on a campaign split by timezone: one report per part the state records."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from dialogops.specs import Report
from dialogops.state import State


def per_part(reports: Iterable[Report], state: State) -> tuple[Report, ...]:
    """Each report, or, when its campaign was split (NAME@+03 ... in state, no NAME), one
    report per part: named REPORT@+03, its output file suffixed the same way."""
    found: list[Report] = []
    for report in reports:
        name = report.campaign
        parts = [] if name is None or name in state.campaigns else _parts(name, state)
        if not parts:
            found.append(report)
            continue
        for part in parts:
            suffix = part.removeprefix(name or "")
            path = report.output.path
            output = dataclasses.replace(
                report.output,
                path=None if path is None else path.with_name(f"{path.stem}{suffix}{path.suffix}"),
            )
            found.append(
                dataclasses.replace(
                    report, name=f"{report.name}{suffix}", campaign=part, output=output
                )
            )
    return tuple(found)


def _parts(name: str, state: State) -> list[str]:
    return sorted(entry for entry in state.campaigns if entry.startswith(f"{name}@"))
