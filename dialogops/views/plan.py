"""Views of a `Plan`: styled text for a terminal, versioned JSON, a Markdown PR comment, and
the counts GitLab's merge-request widget reads.

Showing a plan only formats the frozen value; no view decides anything. Every view masks
phone numbers (`+7999***4567`) and none prints a rendered add_data value (what changed shows
add_data templates as the manifest writes them).
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
from dialogops.hints import Hints
from dialogops.markdown import code, escape
from dialogops.masking import scrub
from dialogops.planner import Action, Plan
from dialogops.specs import Schedule
from dialogops.state import StateEntry, TemplateSource
from dialogops.views import ledger, localhours, problems

MARKDOWN_LIMIT = 60_000
# Years of campaigns leave thousands of orphaned entries: views list this many, then count.
ORPHANS_LISTED = 10

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


def show(
    plan: Plan,
    fmt: PlanFormat,
    *,
    no_color: bool = False,
    verbose: bool = False,
    commit: str | None = None,
) -> None:
    """Print `plan` on stdout in `fmt`; text is styled on a terminal unless colour is off.

    github shows the text (a job log); sarif only a log without problems, for code scanning.
    `verbose` lists, in the text, the rows skipped as invalid and every orphaned campaign;
    `commit` is named in the Markdown header.
    """
    if fmt == "json":
        sys.stdout.write(as_json(plan))
    elif fmt == "markdown":
        sys.stdout.write(markdown(plan, commit=commit))
    elif fmt == "sarif":
        print(problems.sarif([]))
    else:
        # No colour system at all (rich's no_color keeps bold) means plain text; rich also
        # drops styles by itself when stdout is not a terminal.
        plain = no_color or bool(os.environ.get("NO_COLOR"))
        console = Console(color_system=None if plain else "auto", highlight=False, soft_wrap=True)
        console.print(styled(plan, verbose=verbose), end="")


def blocked(plan: Plan, out: Path | None) -> None:
    """On stderr: each campaign that blocks the plan and what resolves it."""
    for action in plan.blockers:
        state = ":" if action.hours_blocked else f" is {_blocked_as(action)};"
        print(
            scrub(f"error: campaign {action.name}{state} {_way_out(action)}"),
            file=sys.stderr,
        )
    if out is not None:
        print(
            scrub(f"error: plan not saved to {out}: resolve the campaigns above first"),
            file=sys.stderr,
        )


def warning(message: str) -> None:
    """On stderr, so that a plan document on stdout stays clean."""
    print(_shown(f"warning: {message}"), file=sys.stderr)


def saved(out: Path, hints: Hints) -> None:
    print(
        scrub(f"Saved the plan to {out}; apply it with: {hints.command(f'apply --plan {out}')}"),
        file=sys.stderr,
    )


def text(plan: Plan, *, verbose: bool = False) -> str:
    """The plain-text view, as printed without colours."""
    return styled(plan, verbose=verbose).plain


def styled(plan: Plan, *, verbose: bool = False) -> Text:
    """The text view with rich styles: one block per campaign, then the summary line.

    A plan for an environment names it first; `verbose` lists the rows skipped as invalid
    and every orphaned campaign (else the first `ORPHANS_LISTED`, then how many more).
    Every piece passes `scrub` on one line: a title cannot move the cursor or add a line.
    """
    out = Text()
    if plan.environment is not None:
        out.append(f"Environment: {plan.environment}\n\n", style="bold")
    listed, more = _listed(plan, verbose)
    for action in listed:
        out.append(_shown(f"{action.mark} {action.name}"), style=STYLES[action.status])
        out.append(_shown(f"  {action.status}  {_headline(action)}") + "\n")
        for label, value in _details(action, verbose):
            out.append(_shown(f"    {label}: {value}") + "\n")
        if action.status in ("changed", "replace"):
            heading, changed = _changes(action)
            out.append(_shown(f"    {heading}") + "\n")
            for line in changed:
                out.append(_shown(f"      {line}") + "\n")
        advice = _advice(action, plan.hints)
        if advice:
            out.append(_shown(f"    {advice}") + "\n", style=STYLES[action.status])
    if more:
        out.append(_shown(_more_orphans(more, plan.hints)) + "\n", style=STYLES["orphaned"])
    if plan.actions:
        out.append("\n")
    out.append(_shown(plan.summary()) + "\n", style="bold")
    return out


def _listed(plan: Plan, verbose: bool) -> tuple[list[Action], int]:
    """The actions a view lists, and how many orphaned ones it leaves out."""
    if verbose:
        return list(plan.actions), 0
    listed, orphans = [], 0
    for action in plan.actions:
        if action.status == "orphaned":
            orphans += 1
            if orphans > ORPHANS_LISTED:
                continue
        listed.append(action)
    return listed, len(plan.actions) - len(listed)


def _more_orphans(count: int, hints: Hints, quote: Callable[[str], str] = str) -> str:
    return (
        f"- ... and {count} more orphaned {'campaign' if count == 1 else 'campaigns'}: in "
        f"state but no manifest; apply leaves {'it' if count == 1 else 'them'} alone; "
        f"{quote(hints.command('plan -v'))} lists {'it' if count == 1 else 'them'}"
    )


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


def _details(action: Action, verbose: bool = False) -> list[tuple[str, str]]:
    """(label, value) lines: schedule, data keys, counts, masked sample phones, and with
    `verbose` the rows skipped as invalid.

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
                f"{stats.excluded} excluded, {stats.skipped} skipped"
                + (f", {stats.dropped} by the contact ledger" if stats.dropped else ""),
            )
        )
        if verbose:
            lines += [
                ("skipped", f"{row.location.path}:{row.location.line}: {row.reason}")
                for row in rendered.skipped_rows
            ]
            more = stats.skipped - len(rendered.skipped_rows)
            if more:
                lines.append(("skipped", f"... and {more} more"))
        if action.local_hours is not None:
            lines += localhours.lines(action.local_hours)
        lines += ledger.plan_lines(action)
        sample = plandoc.masked_sample(rendered)
        if sample:
            more_phones = ", ..." if stats.phones > len(sample) else ""
            lines.append(("phones", ", ".join(sample) + more_phones))
    return lines


def _changes(action: Action) -> tuple[str, tuple[str, ...]]:
    """A changed or replaced campaign's heading line and a line per field it changes."""
    if action.changes is None:
        return "changes: details not recorded (its state entry is older than this dialogops)", ()
    if not action.changes:
        return (
            "changes: no recorded field differs; the phone list, a phone setting or a --var "
            "value did",
            (),
        )
    return "changes (old -> new):", tuple(
        f"{c.field}: {_value(c.field, c.old)} -> {_value(c.field, c.new)}" for c in action.changes
    )


def _value(field: str, value: TemplateSource | None) -> str:
    """A field's value as the change view shows it: digests cut short, absence named."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == "":
        return '""'
    text = str(value)
    if field.startswith("data_files."):
        return text[: len("sha256:") + 12] + "…"
    return text


def _blocked_as(action: Action) -> str:
    return action.status if action.status in ("changed", "unknown") else "over a frequency cap"


def _way_out(action: Action) -> str:
    """What a blocked campaign's message says resolves it."""
    if action.hours_blocked:
        return action.hours_blocked
    if action.status == "changed":
        return f"the API cannot update a campaign: {action.resolution}"
    if action.status != "unknown":  # recipients over a frequency cap
        return f"{action.resolution}"
    return f"to resolve it run: {action.resolution}"


def _advice(action: Action, hints: Hints) -> str:
    if action.hours_blocked:
        return f"apply refuses it: {action.hours_blocked}"
    if action.status == "changed":
        return _way_out(action)
    if action.status == "unknown":
        return (
            "an earlier create's outcome is unknown: check the Dialog UI, then run "
            f"{action.resolution}"
        )
    only_new = action.ledger is not None and action.ledger.only_new is not None
    if action.status == "replace" and action.entry is not None and action.rendered is not None:
        return "" if only_new else _called_again(action.entry, action.rendered.stats.phones)
    if action.status == "orphaned":
        return (
            "warning: in state but no manifest; apply leaves it alone; "
            f"{hints.command(f'state rm {action.name}')} forgets it"
        )
    return ""


def _called_again(entry: StateEntry, phones: int) -> str:
    """Who a replacement may call twice: state keeps no numbers, so only the old counts."""
    when = f"on {entry.sent.schedule.date}" if entry.sent is not None else "(date not recorded)"
    return (
        f"replaces id {entry.id}, {_phones(entry.phones)} {when}: anyone there among these "
        f"{_phones(phones)} is called again (state keeps no phone numbers to count them)"
    )


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


def markdown(plan: Plan, limit: int = MARKDOWN_LIMIT, *, commit: str | None = None) -> str:
    """A PR comment: what it was planned against, summary and table first, details folded,
    at most `limit` characters.

    When the whole plan does not fit, campaigns are cut from the middle of the details
    (and, if still needed, of the table) and a note says how many were left out.
    """
    context = [f"state serial {plan.serial}"]
    if plan.environment is not None:
        context.insert(0, f"environment **{escape(plan.environment)}**")
    if commit is not None:
        context.append(f"commit {commit}")
    head = f"### dialogops plan\n\n{' · '.join(context)}\n\n**{_shown(plan.summary())}**\n\n"
    if not plan.actions:
        return head + "No campaigns.\n"
    listed, more = _listed(plan, verbose=False)
    rows = [_table_row(a) for a in listed]
    if more:
        # A code span in a table cell still ends the cell at `|`: escaped, it shows as `|`.
        note = _more_orphans(more, plan.hints, lambda c: code(c).replace("|", "\\|"))
        rows.append(f"| | {_shown(note.removeprefix('- '))} | | | | | | |\n")
    blocks = [
        _details_block(a, plan.hints) for a in listed if _details(a) or _advice(a, plan.hints)
    ]
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
    status: str = action.status
    if action.status == "unknown":
        status = f"**{action.status}**: `{action.resolution}`"
    elif action.resolution:
        status = f"**{action.status}**: {escape(action.resolution)}"
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


def _details_block(action: Action, hints: Hints) -> str:
    summary = html.escape(
        _shown(f"{action.mark} {action.name}: {action.status} {_headline(action)}")
    )
    lines = [f"- {label}: {escape(_shown(value))}" for label, value in _details(action)]
    if action.status in ("changed", "replace"):
        heading, changed = _changes(action)
        lines.append(f"- {escape(heading)}")
        lines += [f"  - {code(_shown(line))}" for line in changed]
    advice = _advice(action, hints)
    if advice:
        lines.append(f"- **{escape(_shown(advice))}**")
    body = "".join(f"{line}\n" for line in lines)
    return f"<details><summary>{summary.strip()}</summary>\n\n{body}\n</details>\n\n"
