"""`dialogops apply`: parse the options and run `dialogops.commands.apply`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dialogops.cli.options import (
    command_line,
    lock_timeout_option,
    no_color_option,
    project_options,
    target_option,
    var_file_option,
    var_option,
    verbose_option,
)

if TYPE_CHECKING:
    from dialogops.commands.project import ProjectFiles


def _ask_on_terminal(question: str) -> str:
    return str(click.prompt(question, default="", show_default=False, prompt_suffix=""))


@click.command("apply")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--parallelism",
    type=click.IntRange(min=1, max=64),
    default=4,
    show_default=True,
    help="Creates in flight at once.",
)
@lock_timeout_option
@click.option(
    "--replace",
    multiple=True,
    metavar="NAME",
    help="Create a new campaign for this changed manifest without raising its revision "
    "(repeatable).",
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    metavar="FILE",
    help="Apply a plan saved with `plan --out FILE`.",
)
@project_options()
@var_option
@var_file_option
@target_option
@verbose_option
@no_color_option
@click.pass_context
def apply_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    auto_approve: bool,
    parallelism: int,
    lock_timeout: float,
    replace: tuple[str, ...],
    plan_file: Path | None,
    files: ProjectFiles,
    vars: dict[str, str],
    var_files: tuple[Path, ...],
    targets: tuple[str, ...],
    no_color: bool,
) -> int:
    """Create the campaigns the plan shows, each exactly once."""
    # Imported here, as in every command module: the command's `--help` loads no more.
    from dialogops.commands import apply

    request = apply.ApplyRequest(
        files=files,
        paths=tuple(p.resolve() for p in paths),
        vars=vars,
        var_files=var_files,
        targets=targets,
        replace=replace,
        plan_file=plan_file,
        auto_approve=auto_approve,
        parallelism=parallelism,
        lock_timeout=lock_timeout,
        no_color=no_color,
        command=command_line(ctx),
    )
    return apply.run(request, _ask_on_terminal if sys.stdin.isatty() else None)
