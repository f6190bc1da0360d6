"""add_data templates: text with `{{ expression }}` parts, compiled once into closures.

Jinja2 parses them; statements, calls, names other than `row` and `vars`, and filters and
tests outside a bounded allow-list are refused when compiled (at validate). Evaluation
makes the calls Jinja's generated code makes, bounding every value built (64 KiB, 4,300
digits) and each row's work, so no manifest can stall a run or exhaust its memory.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import operator
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, cast

from jinja2 import (
    StrictUndefined,
    TemplateSyntaxError,
    Undefined,
    nodes,
    pass_eval_context,
)
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.filters import do_float, do_int, do_join, do_replace, do_round, make_attrgetter
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing

from dialogops.errors import Problem, RenderError
from dialogops.masking import mask_numbers
from dialogops.specs import Campaign

_SHOWN_FIELDS = 12
_SHOWN_CHARS = 40
_MAX_MESSAGE = 300

# Bounds that keep one row's templates small and fast whatever a manifest writes.
MAX_VALUE_BYTES = 64 * 1024  # any value built, and each add_data value as JSON
MAX_INT_DIGITS = 4_300  # Python's own limit for turning an integer into text
MAX_ROW_WORK = 1024 * 1024  # characters read and built by one row's templates
ITEM_SIZE = 8  # what an item of a list or dict counts for, in characters
MAX_DEPTH = 30  # nesting of parentheses, filters and operators in one template
MAX_ROUND_PRECISION = 100
_INT_LIMIT: int = 10**MAX_INT_DIGITS
_INT_BITS = int(MAX_INT_DIGITS / math.log10(2))  # 2**_INT_BITS < 10**MAX_INT_DIGITS


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


# The parser, the sandboxed attribute and item lookups (no `_` attributes, no mutating
# methods), the undefined type, and Jinja's own filter and test functions. No loader:
# nothing can be read from files.
ENVIRONMENT = ImmutableSandboxedEnvironment(undefined=_Undefined, autoescape=False)
_EVAL_CONTEXT = nodes.EvalContext(ENVIRONMENT)
_PLAIN_DICTS = (dict, Vars)


class TemplateValueError(Exception):
    """A value a template cannot produce (too large, not a number, not JSON); says why."""


class Budget:
    """The work one row's templates may still do, in characters of values read and built."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_ROW_WORK

    def spend(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise _over_budget()


def _over_budget() -> TemplateValueError:
    return TemplateValueError(
        f"the row's templates read and build more than {MAX_ROW_WORK:,} characters "
        "of values; keep each row's work small"
    )


Evaluate = Callable[[dict[str, Any], Vars, Budget], Any]


def _shown(value: Any) -> str:
    """A value for a message: short, and with phone-like digits masked."""
    text = repr(value)
    if len(text) > _SHOWN_CHARS:
        text = text[: _SHOWN_CHARS - 3] + "..."
    return mask_numbers(text)


def _measure(value: Any, limit: int = MAX_ROW_WORK) -> int:
    """The size of a value: its characters, and ITEM_SIZE for each item of a list or dict
    (what filters such as `sort` spend on an item costs as much as many characters);
    1 for anything small or opaque. Stops counting past `limit`.
    """
    if isinstance(value, str):
        return len(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value.bit_length() // 3 + 1
    if isinstance(value, list | tuple | dict):
        total = ITEM_SIZE * len(value)
        items = value.items() if isinstance(value, dict) else value
        for item in items:
            if total > limit:
                break
            total += _measure(item, limit - total)
        return total
    return 1


def _too_large(size: int) -> TemplateValueError:
    return TemplateValueError(
        f"the template builds a value of {size:,} characters, over the limit of {MAX_VALUE_BYTES:,}"
    )


def _too_many_items(value: Any) -> TemplateValueError:
    return TemplateValueError(
        f"the template builds a {type(value).__name__} of {len(value):,} items, over the size "
        f"limit of {MAX_VALUE_BYTES:,} ({ITEM_SIZE} for each item, and its characters)"
    )


def _too_many_digits() -> TemplateValueError:
    return TemplateValueError(
        f"the template builds an integer of more than {MAX_INT_DIGITS:,} digits"
    )


def _over_digits(value: int) -> bool:
    """Whether an integer has more than MAX_INT_DIGITS digits.

    Callers first check `value.bit_length() > _INT_BITS`, which is cheap and true of
    every such integer (and of a few shorter ones, which this exact test lets through).
    """
    return abs(value) >= _INT_LIMIT


def _built(value: Any, budget: Budget, read: int = 0) -> Any:
    """`value`, checked against the size bounds and charged to the row's budget along
    with the `read` characters of the values it was built from."""
    kind = type(value)
    if kind is str:
        size = len(value)
        if size > MAX_VALUE_BYTES:
            raise _too_large(size)
    elif kind is int or kind is float or kind is bool:
        if kind is int and value.bit_length() > _INT_BITS and _over_digits(value):
            raise _too_many_digits()
        size = 1
    else:
        size = _measure(value, MAX_VALUE_BYTES)
        if size > MAX_VALUE_BYTES:
            raise _too_many_items(value)
    # Budget.spend, inlined: this runs for every filter and operator of every row.
    budget.left -= read + size + 1
    if budget.left < 0:
        raise _over_budget()
    return value


# -- The filters and tests templates may use: Jinja's own, some with bounds checked first.

_NOT_GIVEN: Any = object()


def _not_a_number(value: Any, kind: str) -> TemplateValueError:
    return TemplateValueError(
        f"{_shown(value)} is not a number (| {kind}); "
        f"give a default to use instead, e.g. | {kind}(default=0)"
    )


def _strict_int(value: Any, default: Any = _NOT_GIVEN, base: int = 10) -> Any:
    """Jinja's `int`, failing on a value that is not a number unless a default is given."""
    result = do_int(value, _NOT_GIVEN, base)
    if result is _NOT_GIVEN:
        if default is _NOT_GIVEN:
            raise _not_a_number(value, "int")
        return default
    return result


def _strict_float(value: Any, default: Any = _NOT_GIVEN) -> Any:
    """Jinja's `float`, failing on a value that is not a number unless a default is given."""
    result = do_float(value, _NOT_GIVEN)
    if result is _NOT_GIVEN:
        if default is _NOT_GIVEN:
            raise _not_a_number(value, "float")
        return default
    return result


@pass_eval_context
def _bounded_replace(
    eval_ctx: nodes.EvalContext, s: Any, old: Any, new: Any, count: Any = None
) -> str:
    """Jinja's `replace`, refused when the result would be over the size limit."""
    text, old_text, new_text = str(s), str(old), str(new)
    found = text.count(old_text) if old_text else len(text) + 1
    if count is not None and count >= 0:
        found = min(found, count)
    size = len(text) + found * (len(new_text) - len(old_text))
    if size > MAX_VALUE_BYTES:
        raise _too_large(size)
    return do_replace(eval_ctx, s, old, new, count)


@pass_eval_context
def _bounded_join(
    eval_ctx: nodes.EvalContext, value: Any, d: Any = "", attribute: Any = None
) -> str:
    """Jinja's `join`, refused as soon as the result would be over the size limit."""
    if attribute is not None:
        value = map(make_attrgetter(eval_ctx.environment, attribute), value)
    separator = str(d)
    parts: list[str] = []
    size = -len(separator)
    for item in value:
        part = str(item)
        size += len(part) + len(separator)
        if size > MAX_VALUE_BYTES:
            raise _too_large(size)
        parts.append(part)
    return str(do_join(eval_ctx, parts, separator))


def _bounded_round(value: Any, precision: Any = 0, method: Any = "common") -> Any:
    """Jinja's `round`; a precision far from zero would make Python build a huge power."""
    if isinstance(precision, int) and abs(precision) > MAX_ROUND_PRECISION:
        raise TemplateValueError(
            f"round precision {precision} is outside -{MAX_ROUND_PRECISION}..{MAX_ROUND_PRECISION}"
        )
    return do_round(value, precision, method)


_JINJA_FILTERS = (
    "abs", "capitalize", "count", "d", "default", "first", "last", "length", "list",
    "lower", "max", "min", "reverse", "sort", "string", "title", "trim", "truncate",
    "upper", "wordcount",
)  # fmt: skip
FILTERS: dict[str, Callable[..., Any]] = {
    **{name: ENVIRONMENT.filters[name] for name in _JINJA_FILTERS},
    "float": _strict_float,
    "int": _strict_int,
    "join": _bounded_join,
    "replace": _bounded_replace,
    "round": _bounded_round,
}
FILTERS = dict(sorted(FILTERS.items()))
# Every Jinja test but those about callables, markup, and other filters and tests.
_JINJA_TESTS = (
    "!=", "<", "<=", "==", ">", ">=", "boolean", "defined", "divisibleby", "eq", "equalto",
    "even", "false", "float", "ge", "greaterthan", "gt", "in", "integer", "iterable", "le",
    "lessthan", "lower", "lt", "mapping", "ne", "none", "number", "odd", "sameas",
    "sequence", "string", "true", "undefined", "upper",
)  # fmt: skip
# Jinja types its test table loosely; each entry is a plain function of the value.
TESTS = {name: cast("Callable[..., Any]", ENVIRONMENT.tests[name]) for name in _JINJA_TESTS}
_PASSED = {"environment": ENVIRONMENT, "eval_context": _EVAL_CONTEXT}


def _bound(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` with the leading argument Jinja's generated code passes it (if any)."""
    pass_arg = getattr(func, "jinja_pass_arg", None)
    if pass_arg is None:
        return func
    return partial(func, _PASSED[pass_arg.name])


# -- Compiling: refused constructs are _TemplateProblems, reported at the add_data key.


class _TemplateProblem(Exception):
    """A template that cannot be compiled; the message says why."""


_STATEMENT_HINT = (
    "add_data templates hold text and {{ expression }} parts only "
    "(for a choice, use an inline if: {{ 'a' if row.x else 'b' }})"
)
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gteq": operator.ge,
    "lt": operator.lt,
    "lteq": operator.le,
    "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}
_OPENING = frozenset({"lparen", "lbracket", "lbrace"})
_CLOSING = frozenset({"rparen", "rbracket", "rbrace"})


def _nested_too_deeply() -> _TemplateProblem:
    return _TemplateProblem(
        f"the template nests more than {MAX_DEPTH} levels deep (parentheses, filters, operators)"
    )


def _allowed(kind: str, table: Mapping[str, object]) -> str:
    return f"allowed {kind}s: {', '.join(table)}"


def _parse(source: str) -> list[nodes.Node]:
    """The expression and text nodes of a template, in order; statements are refused."""
    depth = 0
    tokens = iter(ENVIRONMENT.lex(source))
    for lineno, kind, _value in tokens:
        if kind == "block_begin":
            name = next((v for _, k, v in tokens if k != "whitespace"), "")
            where = f" (template line {lineno})" if lineno > 1 else ""
            statement = f"{{% {name} %}}" if name.isidentifier() else "{% ... %}"
            raise _TemplateProblem(f"{statement} is a statement{where}: {_STATEMENT_HINT}")
        depth += kind in _OPENING
        depth -= kind in _CLOSING
        if depth > MAX_DEPTH:
            raise _nested_too_deeply()
    body = ENVIRONMENT.parse(source).body
    # Without `{%`, the parser gives Output nodes only; the check keeps that an invariant.
    if not all(isinstance(node, nodes.Output) for node in body):
        raise _TemplateProblem(f"statements are not allowed: {_STATEMENT_HINT}")
    return [child for node in body if isinstance(node, nodes.Output) for child in node.nodes]


class _Compiler:
    """Turns one template's expression nodes into closures, refusing what is not allowed."""

    def __init__(self) -> None:
        self.depth = 0

    def expr(self, node: nodes.Node) -> Evaluate:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _nested_too_deeply()
        try:
            compile_node = getattr(self, f"visit_{type(node).__name__}", None)
            if compile_node is None:
                raise _TemplateProblem(_refusal(node))
            evaluate: Evaluate = compile_node(node)
            return evaluate
        finally:
            self.depth -= 1

    def visit_Const(self, node: nodes.Const) -> Evaluate:
        constant = node.value
        return lambda _row, _vars, _budget: constant

    def visit_TemplateData(self, node: nodes.TemplateData) -> Evaluate:
        text = node.data
        return lambda _row, _vars, _budget: text

    def visit_Name(self, node: nodes.Name) -> Evaluate:
        if node.name == "row":
            return lambda row, _vars, _budget: row
        if node.name == "vars":
            return lambda _row, vars, _budget: vars
        raise _TemplateProblem(
            f"unknown name {node.name!r}: add_data templates see only row and vars"
        )

    def visit_Getattr(self, node: nodes.Getattr) -> Evaluate:
        # Jinja compiles `a.b` to `environment.getattr(a, "b")`; a present key of a plain
        # dict is what the sandbox returns too, unless dict has an attribute of that name.
        inner = self.expr(node.node)
        attr: str = node.attr
        getattr_ = ENVIRONMENT.getattr
        if hasattr({}, attr):
            return lambda row, vars, budget: getattr_(inner(row, vars, budget), attr)
        return _key_first(inner, attr, getattr_)

    def visit_Getitem(self, node: nodes.Getitem) -> Evaluate:
        inner = self.expr(node.node)
        arg = node.arg
        if isinstance(arg, nodes.Slice):
            # Jinja slices directly, bypassing the environment's getitem.
            parts = [None if p is None else self.expr(p) for p in (arg.start, arg.stop, arg.step)]

            def sliced(row: dict[str, Any], vars: Vars, budget: Budget) -> Any:
                obj = inner(row, vars, budget)
                bounds = [None if p is None else p(row, vars, budget) for p in parts]
                return _built(obj[slice(*bounds)], budget)

            return sliced
        if isinstance(arg, nodes.Const) and type(arg.value) in (str, int):
            return _key_first(inner, arg.value, ENVIRONMENT.getitem)
        key = self.expr(arg)
        getitem = ENVIRONMENT.getitem
        return lambda row, vars, budget: getitem(inner(row, vars, budget), key(row, vars, budget))

    def visit_Filter(self, node: nodes.Filter) -> Evaluate:
        func = FILTERS.get(node.name)
        if func is None:
            known = "not allowed" if node.name in ENVIRONMENT.filters else "unknown"
            raise _TemplateProblem(
                f"the filter {node.name!r} is {known} in add_data templates "
                f"({_allowed('filter', FILTERS)})"
            )
        return self._applied(node, _bound(func))

    def visit_Test(self, node: nodes.Test) -> Evaluate:
        func = TESTS.get(node.name)
        if func is None:
            known = "not allowed" if node.name in ENVIRONMENT.tests else "unknown"
            raise _TemplateProblem(
                f"the test {node.name!r} is {known} in add_data templates "
                f"({_allowed('test', TESTS)})"
            )
        return self._applied(node, _bound(func))

    def _applied(self, node: nodes.Filter | nodes.Test, func: Callable[..., Any]) -> Evaluate:
        """`func(value, *args, **kwargs)`, the call Jinja makes for a filter or a test, with
        what it reads charged before the call and what it builds checked after."""
        if node.node is None or node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _TemplateProblem("filter and test arguments cannot be spread with * or **")
        inner = self.expr(node.node)
        if all(isinstance(a, nodes.Const) for a in [*node.args, *(k.value for k in node.kwargs)]):
            args = tuple(a.value for a in node.args if isinstance(a, nodes.Const))
            kwargs = {
                str(k.key): k.value.value for k in node.kwargs if isinstance(k.value, nodes.Const)
            }

            if not args and not kwargs:

                def no_args(row: dict[str, Any], vars: Vars, budget: Budget) -> Any:
                    value = inner(row, vars, budget)
                    read = len(value) if type(value) is str else _measure(value, budget.left)
                    if read > budget.left:
                        raise _over_budget()
                    return _built(func(value), budget, read)

                return no_args

            def constant_args(row: dict[str, Any], vars: Vars, budget: Budget) -> Any:
                value = inner(row, vars, budget)
                read = len(value) if type(value) is str else _measure(value, budget.left)
                if read > budget.left:
                    raise _over_budget()
                return _built(func(value, *args, **kwargs), budget, read)

            return constant_args
        arg_exprs = [self.expr(a) for a in node.args]
        kwarg_exprs = [(str(k.key), self.expr(k.value)) for k in node.kwargs]

        def computed_args(row: dict[str, Any], vars: Vars, budget: Budget) -> Any:
            value = inner(row, vars, budget)
            args = [a(row, vars, budget) for a in arg_exprs]
            kwargs = {key: a(row, vars, budget) for key, a in kwarg_exprs}
            read = _measure((value, args, kwargs), budget.left)
            if read > budget.left:
                raise _over_budget()
            return _built(func(value, *args, **kwargs), budget, read)

        return computed_args

    def visit_CondExpr(self, node: nodes.CondExpr) -> Evaluate:
        then, test = self.expr(node.expr1), self.expr(node.test)
        if node.expr2 is None:
            # Jinja's implicit else: the plain (not strict) Undefined with this hint.
            hint = (
                f"the inline if-expression on line {node.lineno} evaluated to false and "
                "no else section was defined."
            )
            return lambda row, vars, budget: (
                then(row, vars, budget) if test(row, vars, budget) else Undefined(hint=hint)
            )
        otherwise = self.expr(node.expr2)
        return lambda row, vars, budget: (
            then(row, vars, budget) if test(row, vars, budget) else otherwise(row, vars, budget)
        )

    def visit_And(self, node: nodes.And) -> Evaluate:
        left, right = self.expr(node.left), self.expr(node.right)
        return lambda row, vars, budget: left(row, vars, budget) and right(row, vars, budget)

    def visit_Or(self, node: nodes.Or) -> Evaluate:
        left, right = self.expr(node.left), self.expr(node.right)
        return lambda row, vars, budget: left(row, vars, budget) or right(row, vars, budget)

    def visit_Not(self, node: nodes.Not) -> Evaluate:
        inner = self.expr(node.node)
        return lambda row, vars, budget: not inner(row, vars, budget)

    def visit_Neg(self, node: nodes.Neg) -> Evaluate:
        inner = self.expr(node.node)
        return lambda row, vars, budget: _built(-inner(row, vars, budget), budget)

    def visit_Pos(self, node: nodes.Pos) -> Evaluate:
        inner = self.expr(node.node)
        return lambda row, vars, budget: _built(+inner(row, vars, budget), budget)

    def visit_Compare(self, node: nodes.Compare) -> Evaluate:
        first = self.expr(node.expr)
        ops = [(_COMPARE[op.op], self.expr(op.expr)) for op in node.ops]

        def compare(row: dict[str, Any], vars: Vars, budget: Budget) -> Any:
            # Python's chained comparison, as Jinja compiles `a < b < c`.
            left = first(row, vars, budget)
            result: Any = True
            for op, right_expr in ops:
                right = right_expr(row, vars, budget)
                budget.spend(_measure((left, right), budget.left))
                result = op(left, right)
                if not result:
                    return result
                left = right
            return result

        return compare

    def _binary(self, node: nodes.BinExpr, op: Callable[[Any, Any], Any]) -> Evaluate:
        left, right = self.expr(node.left), self.expr(node.right)

        def binary(row: dict[str, Any], vars: Vars, budget: Budget) -> Any:
            a, b = left(row, vars, budget), right(row, vars, budget)
            read = _measure((a, b), budget.left)
            if read > budget.left:
                raise _over_budget()
            return _built(op(a, b), budget, read)

        return binary

    def visit_Add(self, node: nodes.Add) -> Evaluate:
        return self._binary(node, operator.add)

    def visit_Sub(self, node: nodes.Sub) -> Evaluate:
        return self._binary(node, operator.sub)

    def visit_Div(self, node: nodes.Div) -> Evaluate:
        return self._binary(node, operator.truediv)

    def visit_FloorDiv(self, node: nodes.FloorDiv) -> Evaluate:
        return self._binary(node, operator.floordiv)

    def visit_Mul(self, node: nodes.Mul) -> Evaluate:
        return self._binary(node, _bounded_mul)

    def visit_Pow(self, node: nodes.Pow) -> Evaluate:
        return self._binary(node, _bounded_pow)

    def visit_Mod(self, node: nodes.Mod) -> Evaluate:
        return self._binary(node, _bounded_mod)

    def visit_Concat(self, node: nodes.Concat) -> Evaluate:
        parts = [self.expr(part) for part in node.nodes]

        def concat(row: dict[str, Any], vars: Vars, budget: Budget) -> str:
            texts = [str(part(row, vars, budget)) for part in parts]
            size = sum(map(len, texts))
            if size > MAX_VALUE_BYTES:
                raise _too_large(size)
            budget.spend(2 * size + 1)
            return "".join(texts)

        return concat

    def visit_List(self, node: nodes.List) -> Evaluate:
        items = [self.expr(item) for item in node.items]
        return lambda row, vars, budget: _built([i(row, vars, budget) for i in items], budget)

    def visit_Tuple(self, node: nodes.Tuple) -> Evaluate:
        items = [self.expr(item) for item in node.items]
        return lambda row, vars, budget: _built(tuple(i(row, vars, budget) for i in items), budget)

    def visit_Dict(self, node: nodes.Dict) -> Evaluate:
        pairs = [(self.expr(pair.key), self.expr(pair.value)) for pair in node.items]
        return lambda row, vars, budget: _built(
            {k(row, vars, budget): v(row, vars, budget) for k, v in pairs}, budget
        )


def _refusal(node: nodes.Node) -> str:
    """Why a construct outside the template language is refused."""
    if isinstance(node, nodes.Call):
        callee = node.node
        if isinstance(callee, nodes.Name):
            called = f"{callee.name}()"
        elif isinstance(callee, nodes.Getattr):
            called = f".{callee.attr}()"
        else:
            called = "a function"
        return (
            f"calling {called} is not allowed in add_data templates ({_allowed('filter', FILTERS)})"
        )
    return f"{type(node).__name__} expressions are not allowed in add_data templates"


def _key_first(inner: Evaluate, key: str | int, sandboxed: Callable[[Any, Any], Any]) -> Evaluate:
    """A present key of a plain dict directly, anything else through the sandbox's lookup."""

    def lookup(row: dict[str, Any], vars: Vars, budget: Budget) -> Any:
        obj = inner(row, vars, budget)
        if type(obj) in _PLAIN_DICTS:
            value = obj.get(key, _ABSENT)
            if value is not _ABSENT:
                return value
        return sandboxed(obj, key)

    return lookup


_ABSENT = object()
_SEQUENCES = (str, list, tuple)


def _bounded_mul(a: Any, b: Any) -> Any:
    """`a * b`, refusing a repeated sequence that would be over the size limit."""
    if isinstance(a, _SEQUENCES) and isinstance(b, int):
        sequence, times = a, b
    elif isinstance(b, _SEQUENCES) and isinstance(a, int):
        sequence, times = b, a
    else:
        return a * b
    each = _measure(sequence, MAX_VALUE_BYTES)
    if each * times <= MAX_VALUE_BYTES:
        return a * b
    if isinstance(sequence, str):
        raise TemplateValueError(
            f"repeating a {each:,}-character text {times:,} times builds "
            f"{each * times:,} characters, over the limit of {MAX_VALUE_BYTES:,}"
        )
    kind = type(sequence).__name__
    raise TemplateValueError(
        f"repeating a {len(sequence):,}-item {kind} {times:,} times builds a {kind} of size "
        f"{each * times:,}, over the limit of {MAX_VALUE_BYTES:,} ({ITEM_SIZE} for each item, "
        "and its characters)"
    )


def _bounded_pow(a: Any, b: Any) -> Any:
    """`a ** b`, refusing an integer power that would have too many digits to compute."""
    # |a| >= 2**(bits-1), so a**b has at least (bits-1)*b bits: refuse before computing.
    if isinstance(a, int) and isinstance(b, int) and b > 0 and (a.bit_length() - 1) * b > _INT_BITS:
        raise _too_many_digits()
    return a**b


def _bounded_mod(a: Any, b: Any) -> Any:
    """`a % b`; formatting a string with `%` is refused, as its widths are unbounded."""
    if isinstance(a, str):
        raise TemplateValueError(
            "formatting text with % is not allowed in add_data templates; join text with ~"
        )
    return a % b


# -- Values: literals and results as JSON, within the size bounds.


def _check_text(text: str, what: str) -> None:
    """Refuse text over the size limit or holding a lone surrogate (UTF-8 has no bytes for it)."""
    if len(text) > MAX_VALUE_BYTES:
        raise TemplateValueError(
            f"{what} has {len(text):,} characters, over the limit of {MAX_VALUE_BYTES:,} bytes"
        )
    if text.isascii():
        return
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise TemplateValueError(
            f"{what} contains {text[exc.start]!r}, a lone surrogate that UTF-8 cannot encode"
        ) from None
    if size > MAX_VALUE_BYTES:
        raise TemplateValueError(
            f"{what} is {size:,} bytes as UTF-8, over the limit of {MAX_VALUE_BYTES:,}"
        )


def sendable(value: Any) -> Any:
    """`value` as the JSON value sent, refused when it is not JSON or is over the limits."""
    if type(value) is str:
        if len(value) > MAX_VALUE_BYTES or not value.isascii():
            _check_text(value, "the value")
        return value
    plain = json_value(value)
    kind = type(plain)
    if kind is str:
        _check_text(plain, "the value")
    elif kind is list or kind is dict:
        try:
            size = len(json.dumps(plain, ensure_ascii=False, separators=(",", ":")).encode())
        except UnicodeEncodeError as exc:
            raise TemplateValueError(
                f"the value contains {exc.object[exc.start]!r}, a lone surrogate that UTF-8 "
                "cannot encode"
            ) from None
        if size > MAX_VALUE_BYTES:
            raise TemplateValueError(
                f"the value is {size:,} bytes as JSON, over the limit of {MAX_VALUE_BYTES:,}"
            )
    return plain


def json_value(value: Any) -> Any:
    """`value` as a JSON value, raising the undefined error or TemplateValueError if not one."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        if value.bit_length() > _INT_BITS and _over_digits(value):
            raise _too_many_digits()
        return value
    if kind is float:
        if not math.isfinite(value):
            raise TemplateValueError(f"the value {value} cannot be sent as JSON")
        return value
    if isinstance(value, Undefined):
        str(value)  # strict undefined raises its own error here
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return json_value(int(value))
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise TemplateValueError("an object with non-string keys cannot be sent as JSON")
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    raise TemplateValueError(
        f"the expression gives a {type(value).__name__}, which is not a JSON value; "
        "convert it, e.g. with | string or | list"
    )


# -- The compiled add_data of a campaign.


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

    def render(self, row: Mapping[str, Any], vars: Mapping[str, str]) -> dict[str, Any]:
        """One row's add_data; AddDataError lists every key that failed."""
        values = vars if isinstance(vars, Vars) else Vars(vars)
        return self.render_prepared(row if type(row) is dict else dict(row), values)

    def render_prepared(self, row: dict[str, Any], vars: Vars) -> dict[str, Any]:
        """`render` for callers that already hold a plain dict row and a Vars."""
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
            _check_text(text, f"the {name}")
        except TemplateValueError as exc:
            problems.append(Problem(campaign.location, name, str(exc)))
    for key, value in campaign.add_data.items():
        where = campaign.add_data_locations.get(key, campaign.location)
        try:
            _check_text(key, "the key")
        except TemplateValueError as exc:
            problems.append(Problem(where, "add_data", str(exc)))
            continue
        try:
            fields.append((key, compile_value(value)))
        except _TemplateProblem as exc:
            problems.append(Problem(where, f"add_data.{key}", str(exc)))
    return AddDataRenderer(tuple(fields)), problems


def is_template(value: object) -> bool:
    """Whether an add_data value is a template (it contains `{{` or `{%`)."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def compile_value(value: Any) -> Evaluate:
    """The evaluator for one add_data value: a literal, one expression, or a string template."""
    if not is_template(value):
        literal = _literal(value)
        return lambda _row, _vars, _budget: literal
    source = str(value)
    try:
        _check_text(source, "the template")
        parts = _parse(source)
    except TemplateValueError as exc:
        raise _TemplateProblem(str(exc)) from None
    except TemplateSyntaxError as exc:
        where = f" (template line {exc.lineno})" if exc.lineno and exc.lineno > 1 else ""
        raise _TemplateProblem(f"invalid template: {exc.message}{where}") from None
    except RecursionError:
        raise _nested_too_deeply() from None
    compiler = _Compiler()
    if len(parts) == 1 and not isinstance(parts[0], nodes.TemplateData):
        return _native(compiler.expr(parts[0]))
    return _joined([compiler.expr(part) for part in parts])


def _literal(value: Any) -> Any:
    """A literal add_data value as JSON; YAML gives unquoted dates as date objects."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    try:
        return sendable(value)
    except TemplateValueError as exc:
        raise _TemplateProblem(str(exc)) from None


def _native(evaluate: Evaluate) -> Evaluate:
    """One expression keeps its value (like `compile_expression`), checked to be JSON."""
    return lambda row, vars, budget: sendable(evaluate(row, vars, budget))


def _joined(parts: list[Evaluate]) -> Evaluate:
    """Text and expressions concatenated with `str`, as Jinja's output does."""

    def joined(row: dict[str, Any], vars: Vars, budget: Budget) -> str:
        text = "".join([str(part(row, vars, budget)) for part in parts])
        if len(text) > MAX_VALUE_BYTES or not text.isascii():
            _check_text(text, "the value")
        return text

    return joined
