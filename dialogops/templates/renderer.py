"""A campaign's add_data compiled once, and rendered row by row: every template problem
found when compiling, every key that fails on a row, each in the user's words.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, cast

from jinja2.exceptions import SecurityError, UndefinedError

from dialogops.errors import Problem, RenderError
from dialogops.masking import mask_numbers
from dialogops.specs import Campaign
from dialogops.templates.bounds import MAX_ROW_WORK, Budget, TemplateValueError
from dialogops.templates.codegen import Evaluate
from dialogops.templates.compiler import TemplateProblem, compile_value
from dialogops.templates.environment import Vars
from dialogops.templates.values import check_text

_MAX_MESSAGE = 300
# A row's whole add_data object, from the row (a plain dict) and the --var values.
RenderRow = Callable[[dict[str, Any], Vars], dict[str, Any]]


class AddDataError(Exception):
    """Rendering one row failed for these (add_data key, message) pairs."""

    def __init__(self, failures: list[tuple[str, str]]) -> None:
        self.failures = failures
        super().__init__("; ".join(f"{key}: {message}" for key, message in failures))


class AddDataRenderer:
    """The compiled add_data of one campaign; `render` gives one row's add_data object.

    Renders one row at a time (it reuses one Budget): give each thread its own.
    """

    def __init__(self, fields: tuple[tuple[str, Evaluate], ...]) -> None:
        self._fields = fields
        self._budget = Budget()
        self.keys = tuple(key for key, _ in fields)

    @functools.cached_property
    def render_prepared(self) -> RenderRow:
        """`render` for callers that already hold a plain dict row and a Vars; generated
        on first use, so that checking a manifest (compiling only) does not pay for it."""
        return _every_key(self._fields, self._budget, self._failed)

    def render(self, row: Mapping[str, Any], vars: Mapping[str, str]) -> dict[str, Any]:
        """One row's add_data; AddDataError lists every key that failed."""
        values = vars if isinstance(vars, Vars) else Vars(vars)
        return self.render_prepared(row if type(row) is dict else dict(row), values)

    def _failed(self, row: dict[str, Any], vars: Vars) -> dict[str, Any]:
        """A row `render_prepared` could not render, key by key: AddDataError lists every
        key that fails."""
        out: dict[str, Any] = {}
        failures: list[tuple[str, str]] | None = None
        budget = self._budget
        budget.left = MAX_ROW_WORK
        for key, evaluate in self._fields:
            try:
                out[key] = evaluate(row, vars, budget)
            except Exception as exc:  # user template code can raise anything; report it
                failures = failures or []
                failures.append((key, describe(exc)))
        if failures:
            raise AddDataError(failures)
        return out


def _every_key(
    fields: tuple[tuple[str, Evaluate], ...], budget: Budget, failed: RenderRow
) -> RenderRow:
    """A row's add_data in one call: the budget reset, then each key's function called in
    one dict display, in order (a loop over the keys cost a quarter of a row's rendering).
    A row that fails goes to `failed`, which renders it again key by key to name every key
    that fails: evaluation keeps no state, so the row fails there the same way.

    Keys and functions are bound to generated names, never written in the source.
    """
    namespace: dict[str, Any] = {"MAX_ROW_WORK": MAX_ROW_WORK, "budget": budget, "failed": failed}
    entries = []
    for index, (key, evaluate) in enumerate(fields):
        namespace[f"k{index}"], namespace[f"f{index}"] = key, evaluate
        entries.append(f"k{index}: f{index}(row, vars, budget), ")
    source = "\n    ".join(
        [
            "def render(row, vars):",
            "budget.left = MAX_ROW_WORK",
            "try:",
            f"    return {{{''.join(entries)}}}",
            "except Exception:",
            "    return failed(row, vars)",
        ]
    )
    exec(compile(source, "<add_data>", "exec"), namespace)
    return cast(RenderRow, namespace["render"])


def describe(exc: Exception) -> str:
    """A template failure in the user's words."""
    if isinstance(exc, SecurityError):
        return f"not allowed in the template sandbox: {exc}"
    if isinstance(exc, UndefinedError | TemplateValueError):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "the value is nested too deeply"
    message = mask_numbers(f"template failed: {type(exc).__name__}: {exc}")
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


def compile_add_data(campaign: Campaign) -> AddDataRenderer:
    """Compile every add_data value once; RenderError lists every template that is invalid."""
    renderer, problems = compile_valid(campaign)
    if problems:
        raise RenderError(problems)
    return renderer


def compile_valid(campaign: Campaign) -> tuple[AddDataRenderer, list[Problem]]:
    """The renderer of the add_data values that compile, and a problem for each that does not.

    The title and description are checked here too: like add_data, they must be text
    that can be sent. Rendering the valid values anyway lets one run also report their
    row-level failures.
    """
    fields: list[tuple[str, Evaluate]] = []
    problems: list[Problem] = []
    for name, text in (("title", campaign.title), ("description", campaign.description)):
        try:
            check_text(text, f"the {name}")
        except TemplateValueError as exc:
            problems.append(Problem(campaign.location, name, str(exc)))
    for key, value in campaign.add_data.items():
        where = campaign.add_data_locations.get(key, campaign.location)
        try:
            check_text(key, "the key")
        except TemplateValueError as exc:
            problems.append(Problem(where, "add_data", str(exc)))
            continue
        try:
            fields.append((key, compile_value(value)))
        except TemplateProblem as exc:
            problems.append(Problem(where, f"add_data.{key}", str(exc)))
    return AddDataRenderer(tuple(fields)), problems
