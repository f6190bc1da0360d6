"""add_data templates: Jinja2 in an immutable sandbox with strict undefined, compiled once.

Literals pass through; a template that is one `{{ expression }}` keeps the expression's
JSON type; anything else renders to a string. Simple lookups and filter chains
(`{{ row.name }}`, `{{ row.contract | int }}`) are evaluated by closures that make the very
calls Jinja's generated code makes; every other template runs through Jinja itself.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.environment import Template, TemplateExpression
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing

from dialogops.errors import Problem, RenderError
from dialogops.specs import Campaign

Evaluate = Callable[[dict[str, Any], "Vars"], Any]
_ABSENT = object()
_LOADING_NODES = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)
_SHOWN_FIELDS = 12


class Vars(dict[str, str]):
    """The `--var` values; its own type so an undefined `vars.x` gets its own message."""

    __slots__ = ()


class _Undefined(StrictUndefined):
    """StrictUndefined whose message names the missing field and what is there instead."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        obj, name = self._undefined_obj, self._undefined_name
        if self._undefined_hint is None and obj is not missing and name is not None:
            if isinstance(obj, Vars):
                return f"vars.{name} is not set (pass --var {name}=VALUE)"
            if isinstance(obj, Mapping):
                fields = [str(k) for k in list(obj)[:_SHOWN_FIELDS]]
                more = ", ..." if len(obj) > _SHOWN_FIELDS else ""
                return f"no field {name!r} (available: {', '.join(fields)}{more})"
        return str(super()._undefined_message)


# Bounds on what one operator may build, so a manifest cannot stall CI or exhaust memory
# with `{{ 9**9**9 }}` or `{{ 'x' * 10**10 }}`.
MAX_EXPONENT = 1_000
MAX_REPEAT = 100_000


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with `**` and `*` bounded in the size of what they produce."""

    intercepted_binops = frozenset({"**", "*"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponent {right} is larger than {MAX_EXPONENT}")
        if operator == "*":
            sized = isinstance(left, str | list | tuple) or isinstance(right, str | list | tuple)
            count = right if isinstance(right, int) else left
            if sized and isinstance(count, int) and count > MAX_REPEAT:
                raise SecurityError(f"repeating a sequence {count} times exceeds {MAX_REPEAT}")
        return super().call_binop(context, operator, left, right)


# No loader: templates cannot read files or other templates; the sandbox blocks
# underscore attributes and the immutable one also blocks mutating methods.
ENVIRONMENT = _Sandbox(undefined=_Undefined, autoescape=False)
_PLAIN_DICTS = (dict, Vars)


class AddDataError(Exception):
    """Rendering one row failed for these (add_data key, message) pairs."""

    def __init__(self, failures: list[tuple[str, str]]) -> None:
        self.failures = failures
        super().__init__("; ".join(f"{key}: {message}" for key, message in failures))


class AddDataRenderer:
    """The compiled add_data of one campaign; `render` gives one row's add_data object."""

    def __init__(self, fields: tuple[tuple[str, Evaluate], ...]) -> None:
        self._fields = fields
        self.keys = tuple(key for key, _ in fields)

    def render(self, row: Mapping[str, Any], vars: Mapping[str, str]) -> dict[str, Any]:
        """One row's add_data; AddDataError lists every key that failed."""
        values = vars if isinstance(vars, Vars) else Vars(vars)
        return self.render_prepared(row if type(row) is dict else dict(row), values)

    def render_prepared(self, row: dict[str, Any], vars: Vars) -> dict[str, Any]:
        """`render` for callers that already hold a plain dict row and a Vars."""
        out: dict[str, Any] = {}
        failures: list[tuple[str, str]] | None = None
        for key, evaluate in self._fields:
            try:
                out[key] = evaluate(row, vars)
            except Exception as exc:  # user template code can raise anything; report it
                failures = failures or []
                failures.append((key, describe(exc)))
        if failures:
            raise AddDataError(failures)
        return out


def describe(exc: Exception) -> str:
    """A template failure in the user's words."""
    if isinstance(exc, SecurityError):
        return f"not allowed in the template sandbox: {exc}"
    if isinstance(exc, UndefinedError | _NotJson):
        return str(exc)
    return f"template failed: {type(exc).__name__}: {exc}"


def compile_add_data(campaign: Campaign) -> AddDataRenderer:
    """Compile every add_data value once; RenderError lists every template that is invalid."""
    renderer, problems = compile_valid(campaign)
    if problems:
        raise RenderError(problems)
    return renderer


def compile_valid(campaign: Campaign) -> tuple[AddDataRenderer, list[Problem]]:
    """The renderer of the add_data values that compile, and a problem for each that does not.

    Rendering the valid ones anyway lets one run also report their row-level failures.
    """
    fields: list[tuple[str, Evaluate]] = []
    problems: list[Problem] = []
    for key, value in campaign.add_data.items():
        where = campaign.add_data_locations.get(key, campaign.location)
        try:
            fields.append((key, compile_value(value)))
        except _TemplateProblem as exc:
            problems.append(Problem(where, f"add_data.{key}", str(exc)))
    return AddDataRenderer(tuple(fields)), problems


class _TemplateProblem(Exception):
    """A template that cannot be compiled; the message says why."""


class _NotJson(Exception):
    """A single-expression template whose value cannot be sent as JSON."""


def is_template(value: object) -> bool:
    """Whether an add_data value is a template (it contains `{{` or `{%`)."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def compile_value(value: Any) -> Evaluate:
    """The evaluator for one add_data value: a literal, one expression, or a string template."""
    if not is_template(value):
        literal = _literal(value)
        return lambda _row, _vars: literal
    source = str(value)
    try:
        tree = ENVIRONMENT.parse(source)
        template = ENVIRONMENT.from_string(source)
    except TemplateSyntaxError as exc:
        where = f" (template line {exc.lineno})" if exc.lineno and exc.lineno > 1 else ""
        raise _TemplateProblem(f"invalid template: {exc.message}{where}") from None
    if any(True for _ in tree.find_all(_LOADING_NODES)):
        raise _TemplateProblem("templates cannot include, import or extend other templates")
    only = tree.body[0] if len(tree.body) == 1 else None
    outputs = only.nodes if isinstance(only, nodes.Output) else None
    if outputs is not None and len(outputs) == 1 and not isinstance(outputs[0], nodes.TemplateData):
        return _native(outputs[0])
    if outputs is not None:
        parts = [_fast(node) for node in outputs]
        if all(part is not None for part in parts):
            return _joined([p for p in parts if p is not None])
    return _rendered(template)


def _literal(value: Any) -> Any:
    """A literal add_data value as JSON; YAML gives unquoted dates as date objects."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    try:
        return json_value(value)
    except _NotJson as exc:
        raise _TemplateProblem(str(exc)) from None


def _native(expr: nodes.Expr) -> Evaluate:
    """One expression keeps its value (like `compile_expression`), checked to be JSON."""
    fast = _fast(expr)
    if fast is not None:
        evaluate = fast
    else:
        body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
        expression = TemplateExpression(
            ENVIRONMENT.from_string(nodes.Template(body, lineno=1)), undefined_to_none=False
        )

        def evaluate(row: dict[str, Any], vars: Vars) -> Any:
            return expression(row=row, vars=vars)

    def native(row: dict[str, Any], vars: Vars) -> Any:
        return json_value(evaluate(row, vars))

    return native


def _joined(parts: list[Evaluate]) -> Evaluate:
    """Text and expressions concatenated with `str`, as Jinja's output does."""
    if len(parts) == 1:
        only = parts[0]
        return lambda row, vars: str(only(row, vars))
    return lambda row, vars: "".join([str(part(row, vars)) for part in parts])


def _rendered(template: Template) -> Evaluate:
    def render(row: dict[str, Any], vars: Vars) -> str:
        return template.render(row=row, vars=vars)

    return render


def _fast(node: nodes.Node) -> Evaluate | None:
    """A closure for `row`/`vars` lookups, constants and plain filters; None for the rest.

    Jinja compiles `a.b` to `environment.getattr(a, "b")`, `a["b"]` to
    `environment.getitem(a, "b")` and `a | f(x)` to `filters["f"](a, x)`. The closures make
    the same calls, short-cutting only a present key of a plain dict, where the sandbox
    returns `obj[key]` too (for attribute syntax, only when dict has no such attribute).
    """
    if isinstance(node, nodes.TemplateData | nodes.Const):
        constant = node.data if isinstance(node, nodes.TemplateData) else node.value
        return lambda _row, _vars: constant
    if isinstance(node, nodes.Name) and node.ctx == "load" and node.name in ("row", "vars"):
        if node.name == "row":
            return lambda row, _vars: row
        return lambda _row, vars: vars
    if isinstance(node, nodes.Getattr) and node.ctx == "load":
        return _fast_getattr(node)
    if isinstance(node, nodes.Getitem) and node.ctx == "load":
        return _fast_getitem(node)
    if isinstance(node, nodes.Filter):
        return _fast_filter(node)
    return None


def _fast_getattr(node: nodes.Getattr) -> Evaluate | None:
    inner = _fast(node.node)
    if inner is None:
        return None
    attr: str = node.attr
    getattr_ = ENVIRONMENT.getattr
    if hasattr({}, attr):
        return lambda row, vars: getattr_(inner(row, vars), attr)
    return _key_first(inner, attr, getattr_)


def _fast_getitem(node: nodes.Getitem) -> Evaluate | None:
    inner = _fast(node.node)
    arg = node.arg
    if inner is None or not isinstance(arg, nodes.Const) or type(arg.value) not in (str, int):
        return None
    return _key_first(inner, arg.value, ENVIRONMENT.getitem)


def _key_first(inner: Evaluate, key: str | int, sandboxed: Callable[[Any, Any], Any]) -> Evaluate:
    """A present key of a plain dict directly, anything else through the sandbox's lookup."""

    def lookup(row: dict[str, Any], vars: Vars) -> Any:
        obj = inner(row, vars)
        if type(obj) in _PLAIN_DICTS:
            value = obj.get(key, _ABSENT)
            if value is not _ABSENT:
                return value
        return sandboxed(obj, key)

    return lookup


def _fast_filter(node: nodes.Filter) -> Evaluate | None:
    func = ENVIRONMENT.filters.get(node.name)
    # Filters taking the context, eval context or environment get extra arguments from
    # Jinja's generated code; those templates run through Jinja.
    if func is None or getattr(func, "jinja_pass_arg", None) is not None:
        return None
    if node.node is None or node.dyn_args is not None or node.dyn_kwargs is not None:
        return None
    inner = _fast(node.node)
    if inner is None or not all(isinstance(a, nodes.Const) for a in node.args):
        return None
    args = tuple(a.value for a in node.args if isinstance(a, nodes.Const))
    kwargs: dict[str, Any] = {}
    for keyword in node.kwargs:
        if not isinstance(keyword.value, nodes.Const):
            return None
        kwargs[str(keyword.key)] = keyword.value.value
    if not args and not kwargs:
        return lambda row, vars: func(inner(row, vars))
    return lambda row, vars: func(inner(row, vars), *args, **kwargs)


def json_value(value: Any) -> Any:
    """`value` as a JSON value, raising the undefined error or _NotJson when it is not one."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise _NotJson(f"the value {value} cannot be sent as JSON")
        return value
    if isinstance(value, Undefined):
        str(value)  # strict undefined raises its own error here
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise _NotJson("an object with non-string keys cannot be sent as JSON")
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    raise _NotJson(
        f"the expression gives a {type(value).__name__}, which is not a JSON value; "
        "convert it, e.g. with | string or | list"
    )
