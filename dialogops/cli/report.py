"""`dialogops report`: parse the options and run `dialogops.report.run_reports`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

import click

from dialogops.cli.options import CommonOptions, common_options
from dialogops.specs import OUTPUT_FORMATS, OutputFormat


@click.command("report")
@click.argument("names", nargs=-1, metavar="NAME...")
@click.option("--all", "every", is_flag=True, help="Run every Report manifest.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(OUTPUT_FORMATS),
    help="Output format; without --out, printed to stdout "
    "(default: the manifest's output, else a table).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    metavar="PATH",
    help="Write to this file, or - for stdout (default: the manifest's output).",
)
@click.option("--excel", is_flag=True, help="CSV starts with a UTF-8 byte order mark, for Excel.")
@click.option(
    "--sandbox", is_flag=True, help="Ask a sandbox API started in-process; state in .dialogops/."
)
@common_options
def report_command(
    opts: CommonOptions,
    names: tuple[str, ...],
    every: bool,
    fmt: str | None,
    out: Path | None,
    excel: bool,
    sandbox: bool,
) -> int:
    """Run the Report manifest NAME and write its rows (table, CSV, JSON, JSONL, Markdown)."""
    # Imported here: the report runner brings the HTTP client and rich, which
    # `dialogops --version` and the other commands do not need.
    from dialogops.report import STDOUT, ReportCommand, run_reports

    command = ReportCommand(
        config=opts.load_config(),
        names=names,
        all=every,
        format=cast(OutputFormat | None, fmt),
        out=out if out in (None, STDOUT) else out.resolve(),
        excel=excel,
        sandbox=sandbox,
        no_color=opts.no_color,
    )
    return run_reports(command, stdout=sys.stdout, stderr=sys.stderr)


COMMANDS: list[click.Command] = [report_command]
