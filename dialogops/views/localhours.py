"""The plan's lines on local calling hours: recipients per UTC offset, where their zones
came from, the window each group is rung in, and who falls outside the allowed hours."""

from __future__ import annotations

from dialogops.localhours import Assessment, Group
from dialogops.localhours.groups import Example

SOURCE_NAMES = {
    "column": "column",
    "number": "number",
    "numbering_plan": "numbering plan",
    "platform": "assumed platform",
    "unknown": "unknown",
}


def lines(hours: Assessment) -> list[tuple[str, str]]:
    """(label, value) lines for a campaign's details in the plan views."""
    recipients = sum(g.recipients for g in hours.groups)
    sources = ", ".join(f"{SOURCE_NAMES[s]} {n}" for s, n in hours.sources) or "none"
    offsets = "1 UTC offset" if len(hours.groups) == 1 else f"{len(hours.groups)} UTC offsets"
    found = [("local hours", f"{_people(recipients)} in {offsets}; zones from: {sources}")]
    found += [("  " + group.label, _group(group)) for group in hours.groups]
    if hours.outside:
        dropped = " (dropped, on_local_hours: skip)" if hours.skip_outside else ""
        found.append(("outside hours", f"{_people(hours.outside)}{dropped}"))
    if hours.unknown:
        what = {"refuse": "refused", "skip": "dropped"}.get(hours.unknown_timezone, "")
        examples = _examples(hours.unknown_examples)
        found.append(("unknown zone", f"{_people(hours.unknown)} ({what}){examples}"))
    return found


def _group(group: Group) -> str:
    window = group.window
    verdict = "inside" if window.inside else "OUTSIDE"
    return (
        f"{', '.join(group.zones)}: {_people(group.recipients)}, rung {window}, "
        f"allowed {window.allowed} ({window.day}): {verdict}{_examples(group.examples)}"
    )


def _examples(examples: tuple[Example, ...]) -> str:
    if not examples:
        return ""
    shown = ", ".join(f"{e.phone} at {e.location.path}:{e.location.line}" for e in examples)
    return f"; e.g. {shown}"


def _people(count: int) -> str:
    return "1 recipient" if count == 1 else f"{count} recipients"
