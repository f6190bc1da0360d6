"""The command line's entry: `main`, the one error boundary, around the command group.

`main` turns every outcome (an error, Ctrl-C, a bug) into an exit code. The group
(`dialogops.cli.group`) imports a command's module only when that command runs.
"""

from __future__ import annotations

import io
import sys

from dialogops import __version__

# What `dialogops --version` prints; `main` answers it before loading click.
VERSION_LINE = f"dialogops, version {__version__}"


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
    if (sys.argv[1:] if argv is None else argv) == ["--version"]:
        # Importing click alone takes longer than Python's own start-up.
        try:
            print(VERSION_LINE, flush=True)
        except BrokenPipeError:
            return 1
        return 0
    import click

    from dialogops.cli.group import Invocation, cli

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
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:
        # Imported here: `dialogops --help` has no use for the error classes.
        from dialogops.errors import DialogOpsError

        if isinstance(exc, DialogOpsError):
            click.echo(_shown(f"error: {exc}"), err=True)
            return 1
        # The boundary: a bug in dialogops itself.
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
