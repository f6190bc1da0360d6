"""The project options, each given only to the commands it acts on, and the parsed command line.

Nothing here loads the project: a command's `--help` imports its options.
"""

from __future__ import annotations

import functools
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click
from click.core import ParameterSource

from dialogops.cli.group import Invocation

SANDBOX_KEEPS_ITS_STATE = (
    "--state and --workspace cannot be used with --sandbox: sandbox runs keep their own state in "
    ".dialogops/sandbox.state.json (sandbox.NAME.state.json with --env NAME)"
)

# As the config schema's `state.workspace` pattern.
WORKSPACE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")

_Command = TypeVar("_Command", bound=Callable[..., Any])


def _verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """Remember `-v` for the error boundary and show the API client's debug lines on stderr."""
    if not value:
        return
    # Imported here: only -v needs logging, and a command's `--help` loads this module.
    import logging

    from dialogops.masking import ScrubFilter

    ctx.ensure_object(Invocation).verbose = True
    logger = logging.getLogger("dialogops")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    handler.addFilter(ScrubFilter())  # every record, from any dialogops logger
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)

    def restore() -> None:
        logger.removeHandler(handler)
        logger.setLevel(level)

    ctx.call_on_close(restore)


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


# A lock held longer than a day belongs to a command that hangs, or died on another host.
MAX_LOCK_WAIT = 86_400


class Seconds(click.FloatRange):
    """A finite number of seconds from 0 (to `max`, when given): every float option's type.

    NaN fails every comparison and infinity passes a range open above, so the range alone
    lets both in, and a NaN deadline is never reached: they are refused by name.
    """

    def __init__(self, max: float | None = None) -> None:
        super().__init__(min=0, max=max)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Project config file (default: dialogops.yaml found upwards).",
)
state_option = click.option(
    "--state",
    "state_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="State file (default: the config's state.path).",
)


def check_workspace(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A name as `state.workspace` allows it, checked before any connection is made."""
    if value is not None and not WORKSPACE_NAME.fullmatch(value):
        raise click.BadParameter(
            f"{value[:70]!r} is not a workspace name: letters, digits, `.`, `_` and `-`, "
            "starting with a letter or digit, at most 63 characters"
        )
    return value


workspace_option = click.option(
    "--workspace",
    metavar="NAME",
    callback=check_workspace,
    help="The state's workspace in the database (postgres backend; default: the config's "
    "state.workspace).",
)
env_option = click.option(
    "--env",
    "env",
    envvar="DIALOGOPS_ENV",
    metavar="NAME",
    help="An environment of dialogops.yaml's `environments` (default: $DIALOGOPS_ENV).",
)
sandbox_option = click.option(
    "--sandbox",
    is_flag=True,
    help="Work with the built-in sandbox: its own state in .dialogops/, and its API "
    "started in-process when one is called.",
)
var_file_option = click.option(
    "--var-file",
    "var_files",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="A YAML mapping of template values (repeatable; later files win, --var wins over all).",
)
var_option = click.option(
    "--var",
    "vars",
    multiple=True,
    callback=_parse_vars,
    metavar="KEY=VALUE",
    help="A value for templates as vars.KEY (repeatable).",
)
target_option = click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="NAME",
    help="Only this campaign (repeatable); an unknown name is an error.",
)
lock_timeout_option = click.option(
    "--lock-timeout",
    type=Seconds(max=MAX_LOCK_WAIT),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="Wait this long for the state lock held by another command.",
)
no_color_option = click.option("--no-color", is_flag=True, help="No colours in the output.")
verbose_option = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    expose_value=False,
    callback=_verbose,
    help="More detail: the rows plan skipped and every orphaned campaign, API requests on "
    "stderr, a traceback if dialogops crashes.",
)


def project_options(*, state: bool = True) -> Callable[[_Command], _Command]:
    """`--config` and `--env`, and with `state` where the state is (`--state`, `--sandbox`),
    handed to the command as one `files` (a `dialogops.commands.project.ProjectFiles`)."""

    def decorate(command: _Command) -> _Command:
        @functools.wraps(command)
        def with_files(
            *args: Any,
            config_path: Path | None,
            env: str | None,
            state_path: Path | None = None,
            workspace: str | None = None,
            sandbox: bool = False,
            **kwargs: Any,
        ) -> Any:
            if sandbox and (state_path is not None or workspace is not None):
                raise click.UsageError(SANDBOX_KEEPS_ITS_STATE)
            # Imported here: a command's `--help` loads this module, not the config reader.
            from dialogops.commands.project import ProjectFiles

            files = ProjectFiles(config_path, state_path, env, sandbox, workspace)
            return command(*args, files=files, **kwargs)

        where = (state_option, workspace_option, sandbox_option) if state else ()
        options = [config_option, env_option, *where]
        decorated: Callable[..., Any] = with_files
        for option in reversed(options):
            decorated = option(decorated)
        return cast(_Command, decorated)

    return decorate


def command_line(ctx: click.Context) -> str:
    """The command as parsed, for the lock's holder details; `--var` values are left out.

    Arguments come first, then the options given, in the order the command declares them.
    """
    words = [ctx.command_path]
    options: list[str] = []
    for param in ctx.command.get_params(ctx):
        name = param.name
        if name is None or ctx.get_parameter_source(name) is not ParameterSource.COMMANDLINE:
            continue
        value: Any = ctx.params.get(name)
        several = param.multiple or (isinstance(param, click.Argument) and param.nargs != 1)
        values: tuple[Any, ...] = tuple(value) if several else (value,)
        if isinstance(param, click.Argument):
            words += [str(v) for v in values]
        elif isinstance(param, click.Option):
            flag = max(param.opts, key=len)
            if param.is_flag:
                options.append(flag)
            elif isinstance(value, dict):  # --var: the names only, values may be secret
                options += [f"{flag} {key}=..." for key in value]
            else:
                options += [f"{flag} {v}" for v in values]
    return " ".join(words + options)
