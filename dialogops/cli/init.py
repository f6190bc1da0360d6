"""`dialogops init`: scaffold dialogops.yaml, campaigns/, an example manifest and CSV."""

from __future__ import annotations

from pathlib import Path

import click

from dialogops.scaffold import scaffold


@click.command()
@click.argument("directory", default=".", type=click.Path(path_type=Path, file_okay=False))
def init(directory: Path) -> None:
    """Create an example project in DIRECTORY (default: here); never overwrites a file."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in scaffold(directory):
        click.echo(f"created {path}")
    click.echo("next: dialogops validate && dialogops plan")


COMMANDS: list[click.Command] = [init]
