"""`dialogops state list|show|rm|unlock` and `dialogops import NAME ID`.

Thin: options in, calls into `dialogops.state`, text out. Every change happens under the
state lock with the same durable writes as apply. Each command imports what it uses when it
runs: the state schema (jsonschema), rich and the renderer would slow every other command.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

import click

from dialogops.cli.options import CommonOptions, common_options
from dialogops.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from dialogops.state import State, StateEntry

lock_timeout_option = click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="Wait this long for the state lock held by another command.",
)


def _console(opts: CommonOptions) -> Console:
    from rich.console import Console

    return Console(no_color=opts.no_color or None, highlight=False, soft_wrap=True)


def _entry_json(entry: StateEntry) -> str:
    return json.dumps(dataclasses.asdict(entry), indent=2, ensure_ascii=False)


def _entries_table(state: State) -> Table:
    from rich.table import Table

    table = Table("name", "status", "id", "phones", "created", box=None, pad_edge=False)
    for name in sorted(state.campaigns):
        entry = state.campaigns[name]
        status = "pending (outcome unknown)" if entry.status == "pending" else entry.status
        table.add_row(
            name,
            status,
            str(entry.id) if entry.id is not None else "-",
            str(entry.phones),
            entry.created_at or "-",
        )
    return table


@click.group("state")
def state_group() -> None:
    """Inspect or forget state entries; clear a lock left by a dead process."""


@state_group.command("list")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table for people or JSON for scripts.",
)
@common_options
def list_command(opts: CommonOptions, output_format: str) -> None:
    """List every campaign recorded in state."""
    from dialogops.state import backend_for, entry_to_dict

    backend = backend_for(opts.load_config())
    state = backend.read()
    if output_format == "json":
        entries = [{"name": n, **entry_to_dict(e)} for n, e in sorted(state.campaigns.items())]
        click.echo(json.dumps(entries, indent=2, ensure_ascii=False))
        return
    if not state.campaigns:
        click.echo(f"no campaigns in state ({backend.path})")
        return
    console = _console(opts)
    console.print(_entries_table(state))
    console.print(f"{len(state.campaigns)} campaign(s), serial {state.serial}, {backend.path}")


@state_group.command("show")
@click.argument("name")
@common_options
def show_command(opts: CommonOptions, name: str) -> None:
    """Print the state entry of campaign NAME as JSON, history included."""
    from dialogops.state import backend_for, require

    state = backend_for(opts.load_config()).read()
    click.echo(_entry_json(require(state, name)))


@state_group.command("rm")
@click.argument("name")
@lock_timeout_option
@common_options
def rm_command(opts: CommonOptions, name: str, lock_timeout: float) -> None:
    """Forget campaign NAME (the campaign on the platform is not touched)."""
    from dialogops.state import backend_for, forget

    backend = backend_for(opts.load_config())
    with backend.lock(f"dialogops state rm {name}", lock_timeout) as lock:
        new_state, entry = forget(lock.read(), name)
        lock.write(new_state)
    if entry.status == "created":
        click.echo(
            f"forgot {name} (id {entry.id}, {entry.phones} phones, created {entry.created_at}); "
            f"the campaign still exists on the platform"
        )
    else:
        click.echo(
            f"forgot {name} (status {entry.status}); if it was created after all, "
            f"the next apply creates it again"
        )


@state_group.command("unlock")
@click.option(
    "--force", is_flag=True, help="Remove the lock even if its holder still runs on this host."
)
@common_options
def unlock_command(opts: CommonOptions, force: bool) -> None:
    """Remove the state lock left by a command that died."""
    from dialogops.state import backend_for

    backend = backend_for(opts.load_config())
    holder = backend.unlock(force=force)
    if holder is None:
        click.echo(f"state is not locked ({backend.lock_path} does not exist)")
    else:
        click.echo(f"removed the state lock held by {holder.describe()}")


def _campaign_id(_ctx: click.Context, _param: click.Parameter, value: str) -> int:
    """The ID as the Dialog UI shows it; `-5` arrives here too, so it gets a clear error."""
    from dialogops.client import MAX_CAMPAIGN_ID

    text = value.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_CAMPAIGN_ID:
        raise click.BadParameter(
            f"{value!r} is not a campaign ID: IDs are whole numbers from 1 to {MAX_CAMPAIGN_ID}"
        )
    return int(text)


# `ignore_unknown_options` lets an ID such as `-5` reach the check above instead of being
# taken for an option; `dialogops import NAME -- ID` works as well.
@click.command("import", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("campaign_id", metavar="ID", callback=_campaign_id)
@lock_timeout_option
@common_options
def import_command(opts: CommonOptions, name: str, campaign_id: int, lock_timeout: float) -> None:
    """Record campaign NAME as created on the platform with ID.

    For a campaign created elsewhere, or an `unknown` one checked by hand in the Dialog UI.
    The manifest's current fingerprint and phone count are recorded.
    """
    from dialogops.manifests import load_project
    from dialogops.render import render_campaign
    from dialogops.state import backend_for, record_import

    config = opts.load_config()
    project = load_project(config.manifests, config)
    campaign = project.campaign(name)
    if campaign is None:
        raise UsageError(f"no Campaign named {name!r} in the manifests")
    rendered = render_campaign(campaign, opts.vars)
    backend = backend_for(config)
    with backend.lock(f"dialogops import {name} {campaign_id}", lock_timeout) as lock:
        state = lock.read()
        previous = state.get(name)
        new_state, entry = record_import(
            state, name, campaign_id, rendered.fingerprint, rendered.stats.phones
        )
        lock.write(new_state)
    click.echo(f"imported {name}: id {entry.id}, {entry.phones} phones, {entry.fingerprint}")
    if previous is not None and previous.status == "created" and previous.id != campaign_id:
        click.echo(f"the previous id {previous.id} is kept in the entry's history")


COMMANDS: list[click.Command] = [state_group, import_command]
