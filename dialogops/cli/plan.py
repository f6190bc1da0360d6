"""`dialogops plan`: parse the options and run `dialogops.commands.plan`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from dialogops.cli.options import (
    config_option,
    no_color_option,
    state_option,
    target_option,
    var_option,
    verbose_option,
)

if TYPE_CHECKING:
    from dialogops.views.plan import PlanFormat


@click.command("plan")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Save the plan to FILE for `dialogops apply --plan FILE`.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown", "github", "sarif"]),
    default="text",
    show_default=True,
    help="How to print the plan; github and sarif also report why a plan cannot be made.",
)
@click.option(
    "--gitlab-report",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Write the plan's counts to FILE for GitLab's merge-request widget.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there are no changes, 1 on error, 2 when there are changes.",
)
@click.option(
    "--replace",
    multiple=True,
    metavar="NAME",
    help="Create changed campaign NAME anew (repeatable).",
)
@config_option
@state_option
@var_option
@target_option
@verbose_option
@no_color_option
def plan_command(
    paths: tuple[Path, ...],
    out: Path | None,
    fmt: str,
    gitlab_report: Path | None,
    detailed_exitcode: bool,
    replace: tuple[str, ...],
    config_path: Path | None,
    state_path: Path | None,
    vars: dict[str, str],
    targets: tuple[str, ...],
    no_color: bool,
) -> int:
    """Show which campaigns apply would create, and which need attention."""
    # Imported here, as in every command module: `dialogops --help` imports them all.
    from dialogops.commands import plan
    from dialogops.commands.project import ProjectFiles

    request = plan.PlanRequest(
        files=ProjectFiles(config_path, state_path),
        paths=paths,
        vars=vars,
        targets=targets,
        replace=replace,
        format=cast("PlanFormat", fmt),  # click.Choice checked it
        out=out,
        gitlab_report=gitlab_report,
        detailed_exitcode=detailed_exitcode,
        no_color=no_color,
    )
    return plan.run(request)
