"""Options shared by several commands, parsed once into a typed record."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from dialogops.specs import Config

F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True)
class CommonOptions:
    config_path: Path | None
    state_path: Path | None
    vars: dict[str, str]
    targets: tuple[str, ...]
    verbose: bool
    no_color: bool

    def load_config(self) -> Config:
        """The project config, with `--state` taking precedence over the file's setting."""
        # Imported here: the config loader brings jsonschema and ruamel, which
        # `dialogops --version` and `--help` must not pay for.
        from dialogops.config import load_config

        config = load_config(self.config_path, Path.cwd())
        if self.state_path is not None:
            config = dataclasses.replace(config, state_path=self.state_path.resolve())
        return config


def _parse_vars(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not of the form KEY=VALUE")
        parsed[key] = value
    return parsed


def common_options(func: F) -> F:
    """Add --config, --state, --var, --target, -v and --no-color; pass them as `opts`."""

    def wrapper(
        *args: Any,
        config: Path | None,
        state: Path | None,
        var: dict[str, str],
        target: tuple[str, ...],
        verbose: bool,
        no_color: bool,
        **kwargs: Any,
    ) -> Any:
        opts = CommonOptions(config, state, var, target, verbose, no_color)
        return func(*args, opts=opts, **kwargs)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    decorators = [
        click.option(
            "--config",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Project config file (default: dialogops.yaml found upwards).",
        ),
        click.option(
            "--state",
            type=click.Path(path_type=Path, dir_okay=False),
            help="State file (default: the config's state.path).",
        ),
        click.option(
            "--var",
            multiple=True,
            callback=_parse_vars,
            metavar="KEY=VALUE",
            help="A value for templates as vars.KEY (repeatable).",
        ),
        click.option(
            "--target", multiple=True, metavar="NAME", help="Only this campaign (repeatable)."
        ),
        click.option("-v", "--verbose", is_flag=True, help="More detail."),
        click.option("--no-color", is_flag=True, help="No colours in the output."),
    ]
    for decorator in reversed(decorators):
        wrapper = decorator(wrapper)
    return wrapper  # type: ignore[return-value]
