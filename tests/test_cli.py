"""The command line itself: what each command loads, which options it takes, the parsed line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import get_args

import click
import pytest
from click.testing import CliRunner

from dialogops import __version__, schemas, specs
from dialogops.cli import report as report_cli
from dialogops.cli import schema as schema_cli
from dialogops.cli.group import LazyGroup, cli
from dialogops.cli.options import command_line, target_option, var_option
from dialogops.cli.plan import plan_command
from dialogops.views.plan import PlanFormat
from tests.conftest import run_cli
from tests.samples import example_project


def modules_after(code: str, cwd: Path | None = None) -> set[str]:
    """The dialogops, click, rich, requests and holidays modules a fresh interpreter holds
    after `code`."""
    probe = (
        "import sys\n"
        f"{code}\n"
        "print('\\n'.join(m for m in sys.modules "
        "if m.split('.')[0] in ('dialogops', 'click', 'rich', 'requests', 'holidays')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_the_client_does_not_load_the_sandbox() -> None:
    code = (
        "import importlib, pkgutil, dialogops.client as client\n"
        "for module in pkgutil.iter_modules(client.__path__):\n"
        "    importlib.import_module(f'dialogops.client.{module.name}')"
    )
    loaded = modules_after(code)
    assert {"dialogops.client.api", "dialogops.client.session"} <= loaded
    assert not {m for m in loaded if m.startswith("dialogops.sandbox")}


def _loaded_by(args: list[str]) -> set[str]:
    return modules_after(
        f"from dialogops.cli import main\nimport contextlib, io\n"
        f"with contextlib.redirect_stdout(io.StringIO()): main({args!r})"
    )


def test_version_loads_neither_click_nor_any_command() -> None:
    assert _loaded_by(["--version"]) == {"dialogops", "dialogops.cli"}


def test_help_loads_no_command() -> None:
    loaded = {m for m in _loaded_by(["--help"]) if not m.startswith("click")}
    assert loaded == {"dialogops", "dialogops.cli", "dialogops.cli.group"}


def test_version_answered_without_click_is_the_line_click_prints(tmp_path: Path) -> None:
    result = run_cli(["--version"], tmp_path)

    assert (result.returncode, result.stdout) == (0, f"dialogops, version {__version__}\n")
    assert CliRunner().invoke(cli, ["--version"]).output == result.stdout


@pytest.mark.parametrize("group", [cli, cli.commands["sandbox"]], ids=["dialogops", "sandbox"])
def test_help_lists_each_command_by_its_own_help(group: click.Group) -> None:
    assert isinstance(group, LazyGroup)
    ctx = click.Context(group)
    for name, lazy in group.lazy_commands.items():
        command = group.get_command(ctx, name)
        assert command is not None
        assert not command.hidden
        # The whole first paragraph: listed cut to any width, the words are the same.
        assert command.get_short_help_str(limit=1_000) == lazy.summary, name


@pytest.mark.parametrize(
    ("command", "unused"),
    [
        ("plan", ("dialogops.client", "dialogops.sandbox", "requests", "holidays")),
        (
            "state list",
            (
                "dialogops.client",
                "dialogops.sandbox",
                "requests",
                "dialogops.manifests",
                "dialogops.render",
                "dialogops.ledger",
                "dialogops.localhours",
                "jinja2",
            ),
        ),
        (
            "validate",
            (
                "dialogops.client",
                "dialogops.sandbox",
                "requests",
                "dialogops.state",
                "rich",
                "holidays",
                "dialogops.localhours",
            ),
        ),
    ],
)
def test_a_command_loads_only_what_it_uses(
    tmp_path: Path, command: str, unused: tuple[str, ...]
) -> None:
    root = example_project(tmp_path)
    loaded = modules_after(
        "from dialogops.cli import main\nimport contextlib, io\n"
        f"with contextlib.redirect_stdout(io.StringIO()): assert main({command.split()!r}) == 0",
        cwd=root,
    )
    assert f"dialogops.commands.{command.split()[0]}" in loaded
    assert not {m for m in loaded if m.startswith(unused)}


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["validate", "--target", "nosuch"], "--target"),
        (["validate", "--var", "k=v"], "--var"),
        (["validate", "--state", "s.json"], "--state"),
        (["state", "unlock", "--target", "x"], "--target"),
        (["state", "rm", "x", "--var", "k=v"], "--var"),
        (["state", "show", "x", "--no-color"], "--no-color"),
        (["report", "r", "--target", "x"], "--target"),
        (["report", "r", "--var", "k=v"], "--var"),
        # import lets unknown options through so that an ID of `-5` gets a clear error
        (["import", "x", "1", "--target", "x"], "Got unexpected extra arguments (--target x)"),
        (["schema", "campaign", "--config", "c.yaml"], "--config"),
        (["init", "--state", "s.json"], "--state"),
        (["sandbox", "serve", "--config", "c.yaml"], "--config"),
    ],
)
def test_a_command_refuses_an_option_it_would_ignore(
    tmp_path: Path, args: list[str], option: str
) -> None:
    result = run_cli(args, tmp_path)

    assert result.returncode == 1
    expected = option if option.startswith("Got") else f"No such option '{option}'"
    assert f"\nError: {expected}" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["plan"], ["apply", "--auto-approve"]])
def test_an_unknown_target_is_an_error(tmp_path: Path, command: list[str]) -> None:
    root = example_project(tmp_path)

    result = run_cli([*command, "--target", "nosuch"], root)

    assert result.returncode == 1
    assert result.stderr == "error: --target nosuch: no campaign of that name\n"


@pytest.mark.parametrize(
    "command",
    [
        ["apply", "--auto-approve"],
        ["report", "--all"],
        ["plan"],
        ["state", "list"],
        ["state", "rm", "x"],
        ["import", "x", "1"],
    ],
)
def test_the_sandbox_keeps_its_own_state_so_state_is_refused(
    tmp_path: Path, command: list[str]
) -> None:
    root = example_project(tmp_path)

    result = run_cli([*command, "--sandbox", "--state", "other.json"], root)

    assert result.returncode == 1
    assert result.stderr.endswith(
        "Error: --state and --workspace cannot be used with --sandbox: sandbox runs keep their "
        "own state in .dialogops/sandbox.state.json (sandbox.NAME.state.json with --env NAME)\n"
    )
    assert not (root / ".dialogops").exists()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("nan", "'nan' is not a number of seconds"),
        ("NaN", "'NaN' is not a number of seconds"),
        ("inf", "inf is not in the range 0<=x<=86400."),
        ("1e999", "inf is not in the range 0<=x<=86400."),
        ("-1", "-1.0 is not in the range 0<=x<=86400."),
        ("86401", "86401.0 is not in the range 0<=x<=86400."),
    ],
)
@pytest.mark.parametrize("command", [["apply", "--auto-approve"], ["state", "rm", "x"]])
def test_a_lock_timeout_that_would_wait_for_ever_is_a_usage_error(
    tmp_path: Path, command: list[str], value: str, reason: str
) -> None:
    result = run_cli([*command, "--lock-timeout", value], tmp_path)
    assert result.returncode == 1
    assert result.stderr.endswith(f"\nError: Invalid value for '--lock-timeout': {reason}\n")


def test_the_parsed_command_line_leaves_out_var_values() -> None:
    @click.command()
    @click.argument("paths", nargs=-1)
    @click.option("--auto-approve", is_flag=True)
    @click.option("--parallelism", type=int, default=4)
    @var_option
    @target_option
    def probe(**_options: object) -> None:
        """Parses like `dialogops apply`."""

    args = ["a.yaml", "--target", "x", "--var", "token=s3cret", "--auto-approve", "--target", "y"]
    ctx = probe.make_context("dialogops apply", args)

    assert command_line(ctx) == (
        "dialogops apply a.yaml --auto-approve --var token=... --target x --target y"
    )


def test_verbose_shows_a_crash_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr("dialogops.commands.validate.run", broken)

    quiet = run_cli(["validate"], tmp_path)
    verbose = run_cli(["validate", "-v"], tmp_path)

    crash = (
        "dialogops crashed (this is a bug in dialogops, please report it): RuntimeError: a bug\n"
    )
    assert (quiet.returncode, quiet.stderr) == (3, crash)
    assert verbose.returncode == 3
    assert verbose.stderr.startswith("Traceback (most recent call last):")
    assert verbose.stderr.endswith(crash)


def test_the_choices_the_cli_spells_out_match_the_core() -> None:
    fmt = next(p for p in plan_command.params if p.name == "fmt")
    assert isinstance(fmt.type, click.Choice)
    assert tuple(fmt.type.choices) == get_args(PlanFormat)
    assert report_cli.FORMATS == specs.OUTPUT_FORMATS
    assert schema_cli.KINDS == schemas.KINDS
