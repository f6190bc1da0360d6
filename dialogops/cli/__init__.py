"""The command line: parses options and dispatches; the one error boundary lives here."""

from __future__ import annotations

import sys
import traceback

import click

from dialogops import __version__
from dialogops.cli import apply, plan, report, sandbox, schema, state, validate
from dialogops.cli import init as init_command
from dialogops.errors import DialogOpsError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dialogops")
def cli() -> None:
    """Outbound calling campaigns on the Dialog platform as code."""


for module in (validate, plan, apply, report, state, schema, sandbox, init_command):
    for command in module.COMMANDS:
        cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and map every outcome to an exit code: 0, 1 error, 2 changes, 3 bug, 130."""
    verbose = any(a in ("-v", "--verbose") for a in (argv if argv is not None else sys.argv[1:]))
    try:
        result = cli.main(args=argv, prog_name="dialogops", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 1
    except DialogOpsError as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # the boundary: a bug in dialogops itself
        if verbose:
            traceback.print_exc()
        click.echo(
            f"dialogops crashed (this is a bug in dialogops, please report it): "
            f"{type(exc).__name__}: {exc}",
            err=True,
        )
        return 3
    return result if isinstance(result, int) else 0
