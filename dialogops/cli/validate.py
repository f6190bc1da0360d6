"""`dialogops validate`: parse the options and run `dialogops.commands.validate`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from dialogops.cli.options import project_options, verbose_option

if TYPE_CHECKING:
    from dialogops.commands.project import ProjectFiles
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
@project_options(state=False)
@verbose_option
def validate_command(paths: tuple[Path, ...], fmt: str, changed: bool, files: ProjectFiles) -> int:
    """Check manifests without any network: PATHS (their problems only, checked within the
    whole project), or the config's `manifests`."""
    # Imported here, as in every command module: the command's `--help` loads no more.
    from dialogops.commands import validate

    return validate.run(files, paths, cast("ProblemFormat", fmt), changed=changed)
