"""The command line: a lazy group of the commands, and `main`, the one error boundary.

A command's module is imported only when that command runs or shows its help; `main`
turns every outcome (an error, Ctrl-C, a bug) into an exit code.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import click

from dialogops import __version__
from dialogops.errors import DialogOpsError

# Each command's "module:attribute", imported only when the command runs or shows its help
# (click's lazy-loading pattern): `dialogops --version` loads no command at all.
COMMANDS: Mapping[str, str] = {
    "apply": "dialogops.cli.apply:apply_command",
    "fmt": "dialogops.cli.fmt:fmt_command",
    "import": "dialogops.cli.state:import_command",
    "init": "dialogops.cli.init:init_command",
    "ledger": "dialogops.cli.ledger:ledger_group",
    "plan": "dialogops.cli.plan:plan_command",
    "report": "dialogops.cli.report:report_command",
    "schema": "dialogops.cli.schema:schema_command",
    "state": "dialogops.cli.state:state_group",
    "validate": "dialogops.cli.validate:validate_command",
}


@dataclass
class Invocation:
    """What the error boundary learns while the command line is parsed (the context's `obj`)."""

    verbose: bool = False


class LazyGroup(click.Group):
    """A group whose commands are named by import path and loaded on first use."""

    def __init__(self, *args: Any, lazy_commands: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        path = self.lazy_commands.get(cmd_name)
        if path is None:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = path.partition(":")
        command = getattr(import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{path} is not a click command")
        return command


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="dialogops")
def cli() -> None:
    """Outbound calling campaigns on the Dialog platform as code."""


# A group of its own so that `dialogops --help` lists it without loading the server.
cli.add_command(
    LazyGroup(
        "sandbox",
        lazy_commands={"serve": "dialogops.cli.sandbox:serve"},
        help="The built-in imitation of the Dialog API.",
    )
)


def _shown(text: str, *, cut: bool = True) -> str:
    """`text` through `dialogops.masking.scrub`; `cut=False` keeps every line whole.

    Imported at the first error: compiling its patterns would slow down `--version`.
    """
    from dialogops import masking

    return masking.scrub(text) if cut else masking.scrub(text, limit=None)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and map every outcome to an exit code: 0, 1 error, 2 changes, 3 bug, 130.

    Every error line passes through `dialogops.masking.scrub` (secrets, phone numbers,
    control characters, length) on its way to stderr.
    """
    # A terminal that cannot show Cyrillic gets escapes (`\\u0418`) instead of a crash.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    invocation = Invocation()
    try:
        result = cli.main(args=argv, prog_name="dialogops", standalone_mode=False, obj=invocation)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        shown = io.StringIO()
        exc.show(file=shown)
        click.echo(_shown(shown.getvalue()), err=True, nl=False)
        return 1
    except DialogOpsError as exc:
        click.echo(_shown(f"error: {exc}"), err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # the boundary: a bug in dialogops itself
        if invocation.verbose:
            import traceback  # only a crash needs it

            click.echo(_shown(traceback.format_exc(), cut=False), err=True, nl=False)
        click.echo(
            _shown(
                f"dialogops crashed (this is a bug in dialogops, please report it): "
                f"{type(exc).__name__}: {exc}"
            ),
            err=True,
        )
        return 3
    return result if isinstance(result, int) else 0
