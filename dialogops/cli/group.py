"""The command group: each command named by import path and loaded only when it runs.

`dialogops --help` lists every command from the summaries written here, loading none.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any, NamedTuple

import click

from dialogops import __version__
from dialogops.cli import VERSION_LINE


class Lazy(NamedTuple):
    """A command not yet loaded: its "module:attribute" and its help's first paragraph."""

    path: str
    summary: str


# Each summary is the first paragraph of the command's help (a test holds them equal).
COMMANDS: Mapping[str, Lazy] = {
    "apply": Lazy(
        "dialogops.cli.apply:apply_command",
        "Create the campaigns the plan shows, each exactly once.",
    ),
    "fmt": Lazy(
        "dialogops.cli.fmt:fmt_command",
        "Rewrite manifests (PATHS, default: the config's `manifests`) in the canonical layout, "
        "comments kept.",
    ),
    "import": Lazy(
        "dialogops.cli.state:import_command",
        "Record campaign NAME as created on the platform with ID.",
    ),
    "init": Lazy(
        "dialogops.cli.init:init_command",
        "Create an example project in DIRECTORY (default: here); never overwrites a file.",
    ),
    "ledger": Lazy(
        "dialogops.cli.ledger:ledger_group",
        "The contact ledger: who each campaign called, by keyed hash (see docs/ledger.md).",
    ),
    "plan": Lazy(
        "dialogops.cli.plan:plan_command",
        "Show which campaigns apply would create, and which need attention.",
    ),
    "report": Lazy(
        "dialogops.cli.report:report_command",
        "Run the Report manifest NAME and write its rows (table, CSV, JSON, JSONL, Markdown).",
    ),
    "schema": Lazy(
        "dialogops.cli.schema:schema_command",
        "Print the JSON Schema (Draft 2020-12) of a campaign, report or config file.",
    ),
    "state": Lazy(
        "dialogops.cli.state:state_group",
        "Start the state, inspect or forget its entries, see who holds its lock.",
    ),
    "validate": Lazy(
        "dialogops.cli.validate:validate_command",
        "Check manifests without any network: PATHS (their problems only, checked within the "
        "whole project), or the config's `manifests`.",
    ),
}
SANDBOX_COMMANDS: Mapping[str, Lazy] = {
    "serve": Lazy(
        "dialogops.cli.sandbox:serve",
        "Serve the sandbox API on loopback until Ctrl-C or SIGTERM.",
    ),
}


class Invocation:
    """What the error boundary learns while the command line is parsed (the context's `obj`).

    A plain class: `--help` would otherwise load `dataclasses` for it alone."""

    verbose: bool = False


class LazyGroup(click.Group):
    """A group whose commands are named by import path and loaded on first use."""

    def __init__(self, *args: Any, lazy_commands: Mapping[str, Lazy], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        lazy = self.lazy_commands.get(cmd_name)
        if lazy is None:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = lazy.path.partition(":")
        command = getattr(import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{lazy.path} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, but a lazy command is listed by its summary instead of being loaded."""
        listed = [(name, self._listed(ctx, name)) for name in self.list_commands(ctx)]
        shown = [(name, cmd) for name, cmd in listed if cmd is not None and not cmd.hidden]
        if shown:
            limit = formatter.width - 6 - max(len(name) for name, _ in shown)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in shown])

    def _listed(self, ctx: click.Context, name: str) -> click.Command | None:
        lazy = self.lazy_commands.get(name)
        if lazy is None:
            return super().get_command(ctx, name)
        return click.Command(name, help=lazy.summary)


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="dialogops", message=VERSION_LINE)
def cli() -> None:
    """Outbound calling campaigns on the Dialog platform as code."""


# A group of its own so that `dialogops --help` lists it without loading the server.
cli.add_command(
    LazyGroup(
        "sandbox",
        lazy_commands=SANDBOX_COMMANDS,
        help="The built-in imitation of the Dialog API.",
    )
)
