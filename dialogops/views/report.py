"""Views of a report run: the rows as a table for a terminal, and the line each run ends with."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from dialogops.masking import scrub
from dialogops.report.outputs import row_cells
from dialogops.report.response import ReportResult, ReportTotals


def table(result: ReportResult, stream: TextIO, *, title: str, no_color: bool) -> None:
    """A rich table, the totals below it.

    A terminal is human output: cells pass `scrub` (phone numbers masked, control
    characters escaped, nothing cut). The files (`--format csv`, ...) keep every number.
    """
    console = Console(file=stream, no_color=no_color, highlight=False)
    rows = Table(title=Text(scrub(title, limit=None, one_line=True)))
    for column in result.columns:
        justify: Literal["left", "right"] = "right" if column.type == "number" else "left"
        # Fold rather than cut long values: a report must not lose data to the width.
        header = Text(scrub(column.display_name, limit=None, one_line=True))
        rows.add_column(header, justify=justify, overflow="fold")
    for cells in row_cells(result):
        rows.add_row(*(Text(scrub(cell, limit=None)) for cell in cells))
    console.print(rows)
    console.print(f"Summary: {result.totals}", markup=False)


def finished(name: str, totals: ReportTotals, path: Path | None) -> None:
    """On stderr, so that rows on stdout stay clean: the totals and where they went."""
    written = f"; written to {path}" if path is not None else ""
    print(scrub(f"report {name}: {totals}{written}"), file=sys.stderr)
