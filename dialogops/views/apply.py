"""The view of `dialogops apply`: the plan, a line per outcome, the progress bar, the summary.

`ApplyView` is the console the apply command reports to, hook by hook; it decides nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dialogops.apply import ApplyResult, Outcome, Result
from dialogops.masking import scrub
from dialogops.planner import Plan
from dialogops.state import StateEntry
from dialogops.views.plan import styled

_MARKS: dict[Result, str] = {
    "created": "[green]+ created[/]",
    "failed": "[red]x failed[/]",
    "unknown": "[yellow]? unknown[/]",
    "skipped": "[dim]- skipped[/]",
}


class CreateProgress:
    """While creates run: a line per outcome and, on a terminal, a bar of creates done."""

    def __init__(self, console: Console, total: int) -> None:
        self._progress = Progress(
            TextColumn("creating"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self._task = self._progress.add_task("create", total=total)

    def done(self, outcome: Outcome) -> None:
        """The executor's `on_outcome` hook; called from its worker threads."""
        self._progress.console.print(outcome_line(outcome), highlight=False)
        self._progress.advance(self._task)

    def __enter__(self) -> CreateProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()


class ApplyView:
    """Everything apply prints, on stdout, styled on a terminal unless `no_color`."""

    def __init__(self, *, no_color: bool = False) -> None:
        self._console = Console(no_color=no_color or None, highlight=False, soft_wrap=True)

    def plan(self, plan: Plan) -> None:
        self._console.print(styled(plan))

    def nothing_to_create(self) -> None:
        self._console.print("Nothing to create.")

    def already_applied(self, entries: Sequence[StateEntry]) -> None:
        """A saved plan whose every campaign was created since, as it planned."""
        created = ", ".join(f"{escape(e.name)} (id {e.id})" for e in entries)
        self._console.print(f"already applied: {created}; nothing was sent")

    def creating(self, total: int) -> CreateProgress:
        return CreateProgress(self._console, total)

    def interrupted(self) -> None:
        self._console.print(
            "Interrupted: letting the creates already sent finish, then saving "
            "state. Press Ctrl-C again to exit at once."
        )
        self._console.file.flush()

    def interrupted_again(self) -> None:
        self._console.print(
            "Interrupted again: exiting now; creates in flight stay pending "
            "(plan shows them as unknown)."
        )
        self._console.file.flush()

    def finished(self, result: ApplyResult) -> None:
        self._console.print(summary_text(result), highlight=False)


def outcome_line(outcome: Outcome) -> str:
    """`+ created NAME (id 12)`, `x failed NAME: why`, ... in rich markup, one line each.

    The message (often the server's words) passes `scrub`: secrets, phone numbers,
    control characters and length.
    """
    text = f"{_MARKS[outcome.result]} {escape(scrub(outcome.name, one_line=True))}"
    if outcome.campaign_id is not None:
        text += f" (id {outcome.campaign_id})"
    if outcome.message:
        text += f": {escape(scrub(outcome.message, one_line=True))}"
    return text


def summary_text(result: ApplyResult) -> str:
    """The closing line with a count per result, then the ID of each campaign created."""
    created = result.having("created")
    parts = [f"{len(created)} created"]
    for kind in ("failed", "unknown", "skipped"):
        count = len(result.having(kind))
        if count:
            parts.append(f"{count} {kind}")
    lines = [
        ("Apply interrupted: " if result.interrupted else "Apply complete: ")
        + ", ".join(parts)
        + "."
    ]
    lines += [f"  {escape(scrub(o.name, one_line=True))}: id {o.campaign_id}" for o in created]
    return "\n".join(lines)
