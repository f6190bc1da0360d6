"""`dialogops apply`: parse the options and run `dialogops.apply.run_apply`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from dialogops.cli.options import CommonOptions, common_options


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
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="Wait this long for the state lock.",
)
@click.option(
    "--replace",
    multiple=True,
    metavar="NAME",
    help="Create a new campaign for this changed manifest (repeatable).",
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    metavar="FILE",
    help="Apply a plan saved with `plan --out FILE`.",
)
@click.option(
    "--sandbox",
    is_flag=True,
    help="Create in a sandbox API started in-process; state in .dialogops/.",
)
@common_options
def apply_command(
    opts: CommonOptions,
    paths: tuple[Path, ...],
    auto_approve: bool,
    parallelism: int,
    lock_timeout: float,
    replace: tuple[str, ...],
    plan_file: Path | None,
    sandbox: bool,
) -> int:
    """Create the campaigns the plan shows, each exactly once."""
    # Imported here: the executor pulls in rich, the client, sandbox and planner, which
    # `dialogops --version` and the other commands do not need to load.
    from rich.console import Console

    from dialogops.apply import ApplyRequest, run_apply

    if opts.verbose:
        logging.basicConfig(stream=sys.stderr, format="%(name)s: %(message)s")
        logging.getLogger("dialogops").setLevel(logging.DEBUG)
    console = Console(no_color=opts.no_color or None, highlight=False, soft_wrap=True)
    request = ApplyRequest(
        config=opts.load_config(),
        paths=tuple(p.resolve() for p in paths),
        vars=opts.vars,
        targets=opts.targets,
        replace=replace,
        plan_file=plan_file,
        auto_approve=auto_approve,
        parallelism=parallelism,
        lock_timeout=lock_timeout,
        sandbox=sandbox,
        command=" ".join(["dialogops", *sys.argv[1:]]),
    )
    return run_apply(request, console, _ask_on_terminal if sys.stdin.isatty() else None)


COMMANDS: list[click.Command] = [apply_command]
