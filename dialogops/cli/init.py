"""`dialogops init`: parse the directory and run `dialogops.commands.init`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("init")
@click.argument("directory", default=".", type=click.Path(path_type=Path, file_okay=False))
def init_command(directory: Path) -> int:
    """Create an example project in DIRECTORY (default: here); never overwrites a file."""
    # Imported here, as in every command module: the command's `--help` loads no more.
    from dialogops.commands import init

    return init.run(directory)
