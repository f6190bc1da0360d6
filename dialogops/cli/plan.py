"""`dialogops plan`: compare manifests with state and show what apply would do.

No network, no credentials, never writes state; `--out` saves the plan for `apply --plan`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dialogops.cli.options import CommonOptions, common_options

if TYPE_CHECKING:
    from dialogops.planner import Plan


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
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="How to print the plan.",
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
@common_options
def plan_command(
    paths: tuple[Path, ...],
    opts: CommonOptions,
    out: Path | None,
    fmt: str,
    detailed_exitcode: bool,
    replace: tuple[str, ...],
) -> int:
    """Show which campaigns apply would create, and which need attention."""
    # Imported here, not at the top: every command module is imported on each run, and
    # rendering pulls in jinja2 and phonenumbers, which `dialogops --version` must not pay for.
    from dialogops.manifests import load_project
    from dialogops.planner import build_plan
    from dialogops.state import backend_for

    config = opts.load_config()
    project = load_project(list(paths), config)
    state = backend_for(config).read()
    plan = build_plan(project, state, targets=opts.targets, replace=replace, vars=opts.vars)
    _print(plan, fmt, opts.no_color)
    return _finish(plan, out, detailed_exitcode)


def _print(plan: Plan, fmt: str, no_color: bool) -> None:
    from rich.console import Console

    from dialogops import show

    if fmt == "json":
        click.echo(show.as_json(plan), nl=False)
    elif fmt == "markdown":
        click.echo(show.markdown(plan), nl=False)
    else:
        # No colour system at all (rich's no_color keeps bold) means plain text; rich also
        # drops styles by itself when stdout is not a terminal.
        plain = no_color or bool(os.environ.get("NO_COLOR"))
        console = Console(color_system=None if plain else "auto", highlight=False, soft_wrap=True)
        console.print(show.styled(plan), end="")


def _finish(plan: Plan, out: Path | None, detailed_exitcode: bool) -> int:
    """Report blockers and save the plan; the exit code follows the plan's outcome."""
    from dialogops.savedplan import write_saved_plan

    for action in plan.blockers:
        click.echo(
            f"error: campaign {action.name} is {action.status}; "
            f"to resolve it run: {action.resolution}",
            err=True,
        )
    if plan.blockers:
        if out is not None:
            click.echo(
                f"error: plan not saved to {out}: resolve the campaigns above first", err=True
            )
        return 1
    if out is not None:
        write_saved_plan(plan, out)
        click.echo(
            f"Saved the plan to {out}; apply it with: dialogops apply --plan {out}", err=True
        )
    return 2 if detailed_exitcode and plan.has_changes else 0


COMMANDS: list[click.Command] = [plan_command]
