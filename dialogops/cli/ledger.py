"""`dialogops ledger stats|check|prune|rebuild`: parse the options and run
`dialogops.commands.ledger`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dialogops.cli.options import (
    command_line,
    lock_timeout_option,
    no_color_option,
    project_options,
    var_file_option,
    var_option,
    verbose_option,
)

if TYPE_CHECKING:
    from dialogops.commands.project import ProjectFiles


@click.group("ledger")
def ledger_group() -> None:
    """The contact ledger: who each campaign called, by keyed hash (see docs/ledger.md)."""


@ledger_group.command("stats")
@project_options()
@verbose_option
@no_color_option
def stats_command(files: ProjectFiles, no_color: bool) -> int:
    """Campaigns, contacts and distinct recipients per month of campaign date."""
    from dialogops.commands import ledger

    return ledger.stats(files, no_color=no_color)


@ledger_group.command("check")
@click.argument("phone")
@click.option(
    "--region",
    default="RU",
    show_default=True,
    help="The region of a number written without +country.",
)
@project_options()
@verbose_option
def check_command(phone: str, region: str, files: ProjectFiles) -> int:
    """Which campaigns contacted PHONE (needs DIALOG_LEDGER_KEY)."""
    from dialogops.commands import ledger

    return ledger.check(files, phone, region)


@ledger_group.command("prune")
@click.option(
    "--before",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Forget campaigns dated before this day (YYYY-MM-DD).",
)
@lock_timeout_option
@project_options()
@verbose_option
@click.pass_context
def prune_command(
    ctx: click.Context, before: dt.datetime, lock_timeout: float, files: ProjectFiles
) -> int:
    """Forget the contacts of campaigns dated before a day (retention)."""
    from dialogops.commands import ledger

    return ledger.prune(files, before.date(), lock_timeout=lock_timeout, command=command_line(ctx))


@ledger_group.command("rebuild")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@lock_timeout_option
@project_options()
@var_option
@var_file_option
@verbose_option
@click.pass_context
def rebuild_command(
    ctx: click.Context,
    names: tuple[str, ...],
    lock_timeout: float,
    files: ProjectFiles,
    vars: dict[str, str],
    var_files: tuple[Path, ...],
) -> int:
    """Record the created campaigns in state that the ledger lacks, from their manifests
    (needs DIALOG_LEDGER_KEY)."""
    from dialogops.commands import ledger

    return ledger.rebuild(
        files,
        vars=vars,
        var_files=var_files,
        names=names,
        lock_timeout=lock_timeout,
        command=command_line(ctx),
    )
