"""`dialogops fmt`: parse the options and run `dialogops.commands.fmt`."""

from __future__ import annotations

from pathlib import Path

import click

from dialogops.cli.options import config_option, verbose_option


@click.command("fmt")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if a file would change.")
@click.option(
    "--changed",
    is_flag=True,
    help="PATHS are changed files (pre-commit): format those that are manifests.",
)
@config_option
@verbose_option
def fmt_command(
    paths: tuple[Path, ...], check: bool, changed: bool, config_path: Path | None
) -> int:
    """Rewrite manifests (PATHS, default: the config's `manifests`) in the canonical layout,
    comments kept."""
    # Imported here, as in every command module: the command's `--help` loads no more.
    from dialogops.commands import fmt
    from dialogops.commands.project import ProjectFiles

    return fmt.run(ProjectFiles(config_path), paths, check=check, changed=changed)
