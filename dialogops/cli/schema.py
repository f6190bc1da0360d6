"""`dialogops schema KIND`: print a JSON Schema for editors and stock validators."""

from __future__ import annotations

import click

# `dialogops.schemas.KINDS` (a test keeps them equal), spelled out here so that
# `dialogops schema --help` need not load the schema module and its YAML loader.
KINDS = ("campaign", "report", "config")


@click.command("schema")
@click.argument("kind", type=click.Choice(KINDS))
def schema_command(kind: str) -> None:
    """Print the JSON Schema (Draft 2020-12) of a campaign, report or config file."""
    from dialogops.schemas import schema_text

    click.echo(schema_text(kind), nl=False)
