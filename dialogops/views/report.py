"""Views of a report run: the rows as a table for a terminal, and the line each run ends with."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal, TextIO

from rich.console import Console
from rich.table import Table

from dialogops.report import ReportResult, ReportTotals, row_cells


def table(result: ReportResult, stream: TextIO, *, title: str, no_color: bool) -> None:
    """A rich table, the totals below it."""
    console = Console(file=stream, no_color=no_color, highlight=False)
    rows = Table(title=title)
    for column in result.columns:
        justify: Literal["left", "right"] = "right" if column.type == "number" else "left"
        # Fold rather than cut long values: a report must not lose data to the width.
        rows.add_column(column.display_name, justify=justify, overflow="fold")
    for cells in row_cells(result):
        rows.add_row(*cells)
    console.print(rows)
    console.print(f"Summary: {result.totals}", markup=False)


def finished(name: str, totals: ReportTotals, path: Path | None) -> None:
    """On stderr, so that rows on stdout stay clean: the totals and where they went."""
    written = f"; written to {path}" if path is not None else ""
    print(f"report {name}: {totals}{written}", file=sys.stderr)
