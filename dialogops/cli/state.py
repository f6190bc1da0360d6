"""`dialogops state init|list|show|rm|unlock|migrate` and `dialogops import NAME ID`: parse
the options and run `dialogops.commands.state` (import: `dialogops.commands.importing`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from dialogops.cli.options import (
    check_workspace,
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
    from dialogops.views.state import ListFormat


@click.group("state")
def state_group() -> None:
    """Start the state, inspect or forget its entries, see who holds its lock."""


@state_group.command("init")
@lock_timeout_option
@project_options()
@verbose_option
@click.pass_context
def init_command(ctx: click.Context, lock_timeout: float, files: ProjectFiles) -> int:
    """Start an empty state where the config (or --state, --workspace) says.

    Apply creates nothing without a state, so that a lost or mistyped one never makes it
    create every campaign again; an existing state is left as it is.
    """
    from dialogops.commands import state

    return state.init(files, lock_timeout=lock_timeout, command=command_line(ctx))


@state_group.command("list")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table for people or JSON for scripts.",
)
@project_options()
@verbose_option
@no_color_option
def list_command(fmt: str, files: ProjectFiles, no_color: bool) -> int:
    """List every campaign recorded in state."""
    # Imported here, as in every command module: the command's `--help` loads no more.
    from dialogops.commands import state

    return state.list_entries(files, cast("ListFormat", fmt), no_color=no_color)


@state_group.command("show")
@click.argument("name")
@project_options()
@verbose_option
def show_command(name: str, files: ProjectFiles) -> int:
    """Print the state entry of campaign NAME as JSON, history included."""
    from dialogops.commands import state

    return state.show(files, name)


@state_group.command("rm")
@click.argument("name")
@lock_timeout_option
@project_options()
@verbose_option
@click.pass_context
def rm_command(ctx: click.Context, name: str, lock_timeout: float, files: ProjectFiles) -> int:
    """Forget campaign NAME (the campaign on the platform is not touched)."""
    from dialogops.commands import state

    return state.rm(files, name, lock_timeout=lock_timeout, command=command_line(ctx))


@state_group.command("unlock")
@click.option(
    "--force",
    is_flag=True,
    help="postgres: end the database session that holds the lock (a runner that hangs).",
)
@project_options()
@verbose_option
def unlock_command(force: bool, files: ProjectFiles) -> int:
    """Say whether the state is locked, and by whom.

    A lock ends with the process (local) or database session (postgres) that holds it, so
    a killed apply leaves nothing to clear; `--force` ends a hung holder's session.
    """
    from dialogops.commands import state

    return state.unlock(files, force=force)


@state_group.command("migrate")
@click.option(
    "--to-config",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    metavar="FILE",
    help="The dialogops.yaml whose `state:` says where the state goes.",
)
@click.option("--to-env", metavar="NAME", help="An environment of that config.")
@click.option(
    "--to-workspace",
    metavar="NAME",
    callback=check_workspace,
    help="The workspace there (postgres; default: that config's state.workspace).",
)
@lock_timeout_option
@project_options()
@verbose_option
@click.pass_context
def migrate_command(
    ctx: click.Context,
    to_config: Path,
    to_env: str | None,
    to_workspace: str | None,
    lock_timeout: float,
    files: ProjectFiles,
) -> int:
    """Copy this project's state to the backend of another config, lineage and serial kept.

    From a file to PostgreSQL, back, or between workspaces. A state there of another
    lineage, or a newer one, is never overwritten.
    """
    from dialogops.commands import state
    from dialogops.commands.project import ProjectFiles

    target = ProjectFiles(config=to_config, env=to_env, workspace=to_workspace)
    return state.migrate(files, target, lock_timeout=lock_timeout, command=command_line(ctx))


def _campaign_id(_ctx: click.Context, _param: click.Parameter, value: str) -> int:
    """The ID as the Dialog UI shows it; `-5` arrives here too, so it gets a clear error."""
    from dialogops.specs import MAX_ID

    text = value.strip()
    digits = text.isascii() and text.isdigit() and len(text) <= len(str(MAX_ID))
    if not digits or not 1 <= int(text) <= MAX_ID:
        shown = f"{value[:30]!r}..." if len(value) > 30 else repr(value)  # the reason fits
        raise click.BadParameter(
            f"{shown} is not a campaign ID: IDs are whole numbers from 1 to {MAX_ID}"
        )
    return int(text)


# `ignore_unknown_options` lets an ID such as `-5` reach the check above instead of being
# taken for an option; `dialogops import NAME -- ID` works as well.
@click.command("import", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("campaign_id", metavar="ID", callback=_campaign_id)
@lock_timeout_option
@project_options()
@var_option
@var_file_option
@verbose_option
@click.pass_context
def import_command(
    ctx: click.Context,
    name: str,
    campaign_id: int,
    lock_timeout: float,
    files: ProjectFiles,
    vars: dict[str, str],
    var_files: tuple[Path, ...],
) -> int:
    """Record campaign NAME as created on the platform with ID.

    For a campaign created elsewhere, or an `unknown` one checked by hand in the Dialog UI.
    The manifest's current fingerprint, phone count and summary are recorded.
    """
    from dialogops.commands import importing

    return importing.import_campaign(
        files,
        name,
        campaign_id,
        vars=vars,
        var_files=var_files,
        lock_timeout=lock_timeout,
        command=command_line(ctx),
    )
