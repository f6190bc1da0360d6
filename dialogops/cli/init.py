"""`dialogops init`: scaffold dialogops.yaml, campaigns/, an example manifest and CSV."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("directory", default=".", type=click.Path(path_type=Path, file_okay=False))
def init(directory: Path) -> None:
    """Create an example project in DIRECTORY (default: here); never overwrites a file."""
    # Imported here: scaffolding loads the manifest checker, which other commands skip.
    from dialogops.scaffold import scaffold

    for path in scaffold(directory):
        click.echo(f"created {path}")
    enter = "" if directory.resolve() == Path.cwd().resolve() else f"cd {directory} && "
    click.echo(f"next: {enter}dialogops validate && dialogops plan")


COMMANDS: list[click.Command] = [init]
