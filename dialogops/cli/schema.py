"""`dialogops schema KIND`: print a JSON Schema for editors and stock validators."""

from __future__ import annotations

import click

from dialogops.schemas import KINDS, schema_text


@click.command()
@click.argument("kind", type=click.Choice(KINDS))
def schema(kind: str) -> None:
    """Print the JSON Schema (Draft 2020-12) of a campaign, report or config file."""
    click.echo(schema_text(kind), nl=False)


COMMANDS: list[click.Command] = [schema]
