"""`dialogops plan`: parse the options and run `dialogops.commands.plan`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from dialogops.cli.group import Invocation
from dialogops.cli.options import (
    no_color_option,
    project_options,
    target_option,
    var_file_option,
    var_option,
    verbose_option,
)

if TYPE_CHECKING:
    from dialogops.commands.project import ProjectFiles
    from dialogops.views.plan import PlanFormat

_FILE = click.Path(path_type=Path, dir_okay=False)


@click.command("plan")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=_FILE,
    metavar="FILE",
    help="Save the plan to FILE for `dialogops apply --plan FILE`.",
)
@click.option(
    "--json",
    "json_out",
    type=_FILE,
    metavar="FILE",
    help="Also write the plan as JSON (what --format json prints) to FILE.",
)
@click.option(
    "--markdown",
    "markdown_out",
    type=_FILE,
    metavar="FILE",
    help="Also write the plan as a pull-request comment (what --format markdown prints) to FILE.",
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
    help="Create changed campaign NAME anew without raising its revision (repeatable).",
)
@project_options()
@var_option
@var_file_option
@target_option
@verbose_option
@no_color_option
@click.pass_context
def plan_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    out: Path | None,
    json_out: Path | None,
    markdown_out: Path | None,
    fmt: str,
    gitlab_report: Path | None,
    detailed_exitcode: bool,
    replace: tuple[str, ...],
    files: ProjectFiles,
    vars: dict[str, str],
    var_files: tuple[Path, ...],
    targets: tuple[str, ...],
    no_color: bool,
) -> int:
    """Show which campaigns apply would create, and which need attention."""
    # Imported here, as in every command module: the command's `--help` loads no more.
    from dialogops.commands import plan

    request = plan.PlanRequest(
        files=files,
        paths=paths,
        vars=vars,
        var_files=var_files,
        targets=targets,
        replace=replace,
        format=cast("PlanFormat", fmt),  # click.Choice checked it
        out=out,
        json_out=json_out,
        markdown_out=markdown_out,
        gitlab_report=gitlab_report,
        detailed_exitcode=detailed_exitcode,
        no_color=no_color,
        verbose=ctx.ensure_object(Invocation).verbose,
    )
    return plan.run(request)
