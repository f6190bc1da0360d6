"""`dialogops validate`: parse the options and run `dialogops.commands.validate`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, cast

import click

from dialogops.cli.options import config_option, verbose_option


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for machines.",
)
@config_option
@verbose_option
def validate_command(paths: tuple[Path, ...], fmt: str, config_path: Path | None) -> int:
    """Check manifests (default: the config's `manifests`) without any network."""
    # Imported here, as in every command module: `dialogops --help` imports them all.
    from dialogops.commands import validate
    from dialogops.commands.project import ProjectFiles

    return validate.run(ProjectFiles(config_path), paths, cast(Literal["text", "json"], fmt))
