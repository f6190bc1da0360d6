"""`dialogops validate`: parse the options and run `dialogops.commands.validate`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from dialogops.cli.options import config_option, verbose_option

if TYPE_CHECKING:
    from dialogops.views.problems import ProblemFormat


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github", "sarif"]),
    default="text",
    show_default=True,
    help="text for people, json for machines, github for annotations, sarif for code scanning.",
)
@click.option(
    "--changed",
    is_flag=True,
    help="PATHS are changed files (pre-commit): check those that are manifests, "
    "every manifest if dialogops.yaml is one of them.",
)
@config_option
@verbose_option
def validate_command(
    paths: tuple[Path, ...], fmt: str, changed: bool, config_path: Path | None
) -> int:
    """Check manifests without any network: PATHS (their problems only, checked within the
    whole project), or the config's `manifests`."""
    # Imported here, as in every command module: `dialogops --help` imports them all.
    from dialogops.commands import validate
    from dialogops.commands.project import ProjectFiles

    return validate.run(
        ProjectFiles(config_path), paths, cast("ProblemFormat", fmt), changed=changed
    )
