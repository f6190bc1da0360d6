"""`dialogops report`: parse the options and run `dialogops.commands.report`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from dialogops.cli.options import no_color_option, project_options, verbose_option

if TYPE_CHECKING:
    from dialogops.commands.project import ProjectFiles
    from dialogops.specs import OutputFormat

# `dialogops.specs.OUTPUT_FORMATS` (a test keeps them equal), spelled out here so that
# `dialogops report --help` need not load the specs.
FORMATS = ("table", "csv", "json", "jsonl", "markdown")


@click.command("report")
@click.argument("names", nargs=-1, metavar="NAME...")
@click.option("--all", "every", is_flag=True, help="Run every Report manifest.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
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
@project_options()
@verbose_option
@no_color_option
def report_command(
    names: tuple[str, ...],
    every: bool,
    fmt: str | None,
    out: Path | None,
    excel: bool,
    files: ProjectFiles,
    no_color: bool,
) -> int:
    """Run the Report manifest NAME and write its rows (table, CSV, JSON, JSONL, Markdown)."""
    # Imported here, as in every command module: the command's `--help` loads no more.
    from dialogops.commands import report

    command = report.ReportCommand(
        files=files,
        names=names,
        all=every,
        format=cast("OutputFormat | None", fmt),  # click.Choice checked it
        out=out if out in (None, report.STDOUT) else out.resolve(),
        excel=excel,
        no_color=no_color,
    )
    return report.run(command)
