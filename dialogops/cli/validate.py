"""`dialogops validate`: schema and semantic checks of manifests, config and data files."""

from __future__ import annotations

from pathlib import Path

import click

from dialogops.cli.options import CommonOptions, common_options
from dialogops.errors import ManifestError
from dialogops.specs import Config, Project


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for machines.",
)
@common_options
def validate(paths: tuple[Path, ...], output_format: str, opts: CommonOptions) -> int:
    """Check manifests (default: the config's `manifests`) without any network."""
    # Imported here: the checks bring jsonschema, ruamel and jinja2, which every other
    # command's start (and `dialogops --version`) would otherwise pay for.
    from dialogops.manifests import check_project
    from dialogops.views.problems import as_json, lines

    try:
        config = opts.load_config()
    except ManifestError as exc:
        root = Path.cwd()
        project = Project(Config(root=root, path=None), (), ())
        problems = list(exc.problems)
    else:
        project, problems = check_project(paths, config)
    if output_format == "json":
        click.echo(as_json(project, problems))
    else:
        for line in lines(project, problems):
            click.echo(line)
    return 1 if problems else 0


COMMANDS: list[click.Command] = [validate]
