"""Views of the contact ledger: its lines in a plan, and the `ledger` commands' output.

Only masked numbers and counts are shown; a ledger hash is never printed.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from dialogops.ledger.rebuild import Rebuilt
from dialogops.ledger.records import LedgerCampaign, MonthStats
from dialogops.masking import scrub
from dialogops.planner import Action


def plan_lines(action: Action) -> list[tuple[str, str]]:
    """(label, value) lines: rows excluded by each list, frequency caps, only_new."""
    lines: list[tuple[str, str]] = []
    if action.rendered is not None:
        lines += [
            ("excluded", f"{count} by {path}") for path, count in action.rendered.stats.excluded_by
        ]
    findings = action.ledger
    if findings is None:
        return lines
    verdict = "left out (on_frequency: skip)" if findings.skip else "apply refuses"
    for cap in findings.caps:
        examples = ", ".join(
            f"{e.phone} at {e.location.path}:{e.location.line}" for e in cap.examples
        )
        more = ", ..." if cap.count > len(cap.examples) else ""
        lines.append(
            ("frequency", f"{cap.count} over {cap.rule} {cap.limit}, {verdict}: {examples}{more}")
        )
    if findings.only_new is not None:
        new = findings.only_new
        lines.append(
            ("only_new", f"{new.new} new, {new.already} already called in {new.replaced_id}")
        )
    return lines


def stats(months: Sequence[MonthStats], location: str, *, no_color: bool = False) -> None:
    if not months:
        print(scrub(f"the contact ledger is empty ({location})"))
        return
    table = Table("month", "campaigns", "contacts", "recipients", box=None, pad_edge=False)
    for month in months:
        cells = (month.month, month.campaigns, month.contacts, month.recipients)
        table.add_row(*(Text(str(cell)) for cell in cells))
    console = Console(no_color=no_color or None, highlight=False, soft_wrap=True)
    console.print(table)
    console.print(scrub(location), markup=False)


def contacted(masked: str, campaigns: Sequence[LedgerCampaign]) -> None:
    if not campaigns:
        print(scrub(f"{masked}: no campaign in the ledger contacted it"))
        return
    print(scrub(f"{masked}: contacted by {len(campaigns)} campaign(s)"))
    for campaign in campaigns:
        known = f"id {campaign.campaign_id}" if campaign.campaign_id is not None else "no id yet"
        print(scrub(f"  {campaign.date.isoformat()}  {campaign.name}  ({known})", one_line=True))


def pruned(campaigns: int, contacts: int, before: str) -> None:
    print(scrub(f"Pruned {campaigns} campaign(s) and {contacts} contacts dated before {before}."))


def rebuilt(result: Rebuilt) -> None:
    for name, recipients in result.added:
        print(scrub(f"recorded {name}: {recipients} recipients", one_line=True))
    for name, why in result.skipped:
        print(scrub(f"skipped {name}: {why}", one_line=True))
    print(scrub(f"Rebuilt: {len(result.added)} recorded, {len(result.skipped)} skipped."))
