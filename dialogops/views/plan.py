"""Views of a `Plan`: styled text for a terminal, versioned JSON, a Markdown PR comment, and
the counts GitLab's merge-request widget reads.

Showing a plan only formats the frozen value; no view decides anything. Every view masks
phone numbers (`+7999***4567`) and none prints an add_data value.
"""

from __future__ import annotations

import html
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from rich.console import Console
from rich.text import Text

from dialogops import plandoc
from dialogops.markdown import escape
from dialogops.masking import scrub
from dialogops.planner import Action, Plan
from dialogops.specs import Schedule
from dialogops.views import problems

MARKDOWN_LIMIT = 60_000

# github and sarif are for CI: a plan that cannot be made reports its problems in them.
PlanFormat = Literal["text", "json", "markdown", "github", "sarif"]

STYLES = {
    "create": "green",
    "replace": "magenta",
    "unchanged": "dim",
    "changed": "bold red",
    "unknown": "bold red",
    "orphaned": "yellow",
}


def show(plan: Plan, fmt: PlanFormat, *, no_color: bool = False) -> None:
    """Print `plan` on stdout in `fmt`; text is styled on a terminal unless colour is off.

    github shows the text (a job log); sarif only a log without problems, for code scanning.
    """
    if fmt == "json":
        sys.stdout.write(as_json(plan))
    elif fmt == "markdown":
        sys.stdout.write(markdown(plan))
    elif fmt == "sarif":
        print(problems.sarif([]))
    else:
        # No colour system at all (rich's no_color keeps bold) means plain text; rich also
        # drops styles by itself when stdout is not a terminal.
        plain = no_color or bool(os.environ.get("NO_COLOR"))
        console = Console(color_system=None if plain else "auto", highlight=False, soft_wrap=True)
        console.print(styled(plan), end="")


def blocked(plan: Plan, out: Path | None) -> None:
    """On stderr: each campaign that blocks the plan and the command that resolves it."""
    for action in plan.blockers:
        print(
            scrub(
                f"error: campaign {action.name} is {action.status}; "
                f"to resolve it run: {action.resolution}"
            ),
            file=sys.stderr,
        )
    if out is not None:
        print(
            scrub(f"error: plan not saved to {out}: resolve the campaigns above first"),
            file=sys.stderr,
        )


def saved(out: Path) -> None:
    print(
        scrub(f"Saved the plan to {out}; apply it with: dialogops apply --plan {out}"),
        file=sys.stderr,
    )


def text(plan: Plan) -> str:
    """The plain-text view, as printed without colours."""
    return styled(plan).plain


def styled(plan: Plan) -> Text:
    """The text view with rich styles: one block per campaign, then the summary line.

    Every piece passes `scrub` on one line: a title cannot move the cursor or add a line.
    """
    out = Text()
    for action in plan.actions:
        out.append(_shown(f"{action.mark} {action.name}"), style=STYLES[action.status])
        out.append(_shown(f"  {action.status}  {_headline(action)}") + "\n")
        for label, value in _details(action):
            out.append(_shown(f"    {label}: {value}") + "\n")
        advice = _advice(action)
        if advice:
            out.append(_shown(f"    {advice}") + "\n", style=STYLES[action.status])
    if plan.actions:
        out.append("\n")
    out.append(_shown(plan.summary()) + "\n", style="bold")
    return out


def _shown(text: str) -> str:
    return scrub(text, limit=None, one_line=True)


def _headline(action: Action) -> str:
    parts = []
    if action.rendered is not None:
        parts.append(_phones(action.rendered.stats.phones))
    entry = action.entry
    if entry is not None and action.status != "unchanged":
        known = f"id {entry.id}" if entry.id is not None else f"status {entry.status}"
        verb = "replaces" if action.status == "replace" else "state"
        parts.append(f"({verb}: {known}, {_phones(entry.phones)})")
    return " ".join(parts)


def _details(action: Action) -> list[tuple[str, str]]:
    """(label, value) lines: schedule, data keys, counts and masked sample phones.

    Unchanged and orphaned campaigns get none: reviewers look at what apply would do.
    """
    if action.status in ("unchanged", "orphaned") or action.campaign is None:
        return []
    campaign, rendered = action.campaign, action.rendered
    lines = [
        ("title", campaign.title),
        ("schedule", _schedule(campaign.schedule)),
        ("add_data", ", ".join(campaign.add_data) or "(none)"),
    ]
    if rendered is not None:
        stats = rendered.stats
        lines.append(
            (
                "rows",
                f"{stats.rows}; dropped: {stats.duplicates} duplicate, "
                f"{stats.excluded} excluded, {stats.skipped} skipped",
            )
        )
        sample = plandoc.masked_sample(rendered)
        if sample:
            more = ", ..." if stats.phones > len(sample) else ""
            lines.append(("phones", ", ".join(sample) + more))
    return lines


def _advice(action: Action) -> str:
    if action.status == "changed":
        return (
            "the API cannot update a campaign; to create a new one instead run: "
            f"{action.resolution}"
        )
    if action.status == "unknown":
        return (
            "an earlier create's outcome is unknown: check the Dialog UI, then run "
            f"{action.resolution}"
        )
    if action.status == "orphaned":
        return (
            "warning: in state but no manifest; apply leaves it alone; "
            f"dialogops state rm {action.name} forgets it"
        )
    return ""


def _schedule(schedule: Schedule) -> str:
    attempts = "1 attempt" if schedule.attempts == 1 else f"{schedule.attempts} attempts"
    return (
        f"{schedule.date.isoformat()} {schedule.start_time:%H:%M}-{schedule.end_time:%H:%M}, "
        f"{attempts}, interval {schedule.interval_minutes} min"
    )


def _phones(count: int) -> str:
    return "1 phone" if count == 1 else f"{count} phones"


# ---- JSON -------------------------------------------------------------------------------


def as_json(plan: Plan) -> str:
    """The versioned JSON document described in docs/plan-format.md."""
    return plandoc.encode(plandoc.plan_document(plan))


# ---- GitLab ------------------------------------------------------------------------------


def gitlab_report(plan: Plan) -> str:
    """The counts of GitLab's Terraform report (`artifacts:reports:terraform`).

    Replacing creates a new campaign; a changed one is counted as an update (apply refuses
    it); nothing is ever deleted, as the API cannot delete.
    """
    counts = {"create": len(plan.creates), "update": plan.count("changed"), "delete": 0}
    return json.dumps(counts) + "\n"


# ---- Markdown ---------------------------------------------------------------------------

_TABLE_HEAD = (
    "| | campaign | status | phones | date | hours | attempts | interval |\n"
    "|:-:|---|---|--:|---|---|--:|--:|\n"
)
# Room kept for the notes that replace cut-out campaigns.
_NOTE_RESERVE = 600


def markdown(plan: Plan, limit: int = MARKDOWN_LIMIT) -> str:
    """A PR comment: summary and table first, details folded, at most `limit` characters.

    When the whole plan does not fit, campaigns are cut from the middle of the details
    (and, if still needed, of the table) and a note says how many were left out.
    """
    head = f"### dialogops plan\n\n**{_shown(plan.summary())}**\n\n"
    if not plan.actions:
        return head + "No campaigns.\n"
    rows = [_table_row(a) for a in plan.actions]
    blocks = [_details_block(a) for a in plan.actions if _details(a) or _advice(a)]
    full = head + _TABLE_HEAD + "".join(rows) + "\n" + "".join(blocks)
    if len(full) <= limit:
        return full

    table = "".join(rows)
    budget = limit - len(head) - len(_TABLE_HEAD) - len(table) - _NOTE_RESERVE
    if budget < 0:
        table = _cut_middle(
            rows,
            limit - len(head) - len(_TABLE_HEAD) - _NOTE_RESERVE,
            lambda n: f"| | *{n} campaigns left out of this table* | | | | | | |\n",
        )
        blocks_text = _omitted_note(len(blocks), "details of all", limit)
    else:
        blocks_text = _cut_middle(
            blocks,
            budget,
            lambda n: _omitted_note(n, "details of", limit),
        )
    return head + _TABLE_HEAD + table + "\n" + blocks_text


def _omitted_note(count: int, what: str, limit: int) -> str:
    return (
        f"> **Note:** {what} {count} campaigns left out here to keep this comment under "
        f"{limit:,} characters; run `dialogops plan` to see the whole plan.\n\n"
    )


def _cut_middle(items: Sequence[str], budget: int, note: Callable[[int], str]) -> str:
    """Keep as many items from both ends as fit in `budget`; a note replaces the rest."""
    front: list[str] = []
    back: list[str] = []
    used = 0
    low, high = 0, len(items) - 1
    take_front = True
    while low <= high:
        item = items[low] if take_front else items[high]
        if used + len(item) > budget:
            break
        used += len(item)
        if take_front:
            front.append(item)
            low += 1
        else:
            back.append(item)
            high -= 1
        take_front = not take_front
    omitted = len(items) - len(front) - len(back)
    middle = note(omitted) if omitted else ""
    return "".join(front) + middle + "".join(reversed(back))


def _table_row(action: Action) -> str:
    status = f"**{action.status}**: `{action.resolution}`" if action.resolution else action.status
    phones = str(action.rendered.stats.phones) if action.rendered else ""
    cells = [f"`{action.mark}`", f"`{_shown(action.name)}`", _shown(status), phones, "", "", "", ""]
    if action.campaign is not None:
        schedule = action.campaign.schedule
        cells[4:] = [
            schedule.date.isoformat(),
            f"{schedule.start_time:%H:%M}-{schedule.end_time:%H:%M}",
            str(schedule.attempts),
            f"{schedule.interval_minutes} min",
        ]
    return "| " + " | ".join(cells) + " |\n"


def _details_block(action: Action) -> str:
    summary = html.escape(
        _shown(f"{action.mark} {action.name}: {action.status} {_headline(action)}")
    )
    lines = [f"{label}: {escape(_shown(value))}" for label, value in _details(action)]
    advice = _advice(action)
    if advice:
        lines.append(f"**{escape(_shown(advice))}**")
    body = "".join(f"- {line}\n" for line in lines)
    return f"<details><summary>{summary.strip()}</summary>\n\n{body}\n</details>\n\n"
