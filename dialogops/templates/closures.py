"""The evaluators a compiled template is made of: each makes the call Jinja's generated code
makes for its node (the sandbox's lookups, Jinja's filter and test functions, Python's
operators), charging what it reads and builds to the row's budget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dialogops.templates.bounds import (
    MAX_VALUE_BYTES,
    Budget,
    built,
    measure,
    over_budget,
    too_large,
)
from dialogops.templates.environment import ENVIRONMENT, Vars
from dialogops.templates.values import check_text, sendable

# Called with the row as a plain dict and the --var values as a Vars (the renderer
# makes sure of both), and the row's budget.
Evaluate = Callable[[dict[str, Any], Vars, Budget], Any]

_PLAIN_DICTS = (dict, Vars)
_ABSENT = object()


def constant(value: Any) -> Evaluate:
    return lambda _row, _vars, _budget: value


def the_row(row: dict[str, Any], _vars: Vars, _budget: Budget) -> dict[str, Any]:
    return row


def the_vars(_row: dict[str, Any], vars: Vars, _budget: Budget) -> Vars:
    return vars


def attribute(inner: Evaluate, attr: str) -> Evaluate:
    """`a.b`: Jinja compiles it to `environment.getattr(a, "b")`; a present key of a plain
    dict is what the sandbox returns too, unless dict has an attribute of that name."""
    getattr_ = ENVIRONMENT.getattr
    if hasattr({}, attr):
        return lambda row, vars, budget: getattr_(inner(row, vars, budget), attr)
    return _key_first(inner, attr, getattr_)


def constant_item(inner: Evaluate, key: str | int) -> Evaluate:
    """`a['b']` or `a[0]`, through the sandbox's getitem."""
    return _key_first(inner, key, ENVIRONMENT.getitem)


def item(inner: Evaluate, key: Evaluate) -> Evaluate:
    """`a[b]` with a computed key, through the sandbox's getitem."""
    getitem = ENVIRONMENT.getitem
    return lambda row, vars, budget: getitem(inner(row, vars, budget), key(row, vars, budget))


def sliced(inner: Evaluate, parts: list[Evaluate | None]) -> Evaluate:
    """`a[start:stop:step]`: Jinja slices directly, bypassing the environment's getitem."""

    def evaluate(row: dict[str, Any], vars: Vars, budget: Budget) -> Any:
        obj = inner(row, vars, budget)
        bounds = [None if p is None else p(row, vars, budget) for p in parts]
        return built(obj[slice(*bounds)], budget)

    return evaluate


def _key_first(inner: Evaluate, key: str | int, sandboxed: Callable[[Any, Any], Any]) -> Evaluate:
    """A present key of a plain dict directly, anything else through the sandbox's lookup."""
    if inner is the_row:
        # `row.x`, the most common expression of all: the row is always a plain dict.
        def row_field(row: dict[str, Any], _vars: Vars, _budget: Budget) -> Any:
            value = row.get(key, _ABSENT)  # type: ignore[arg-type]  # `row[0]` misses
            return value if value is not _ABSENT else sandboxed(row, key)

        return row_field

    def lookup(row: dict[str, Any], vars: Vars, budget: Budget) -> Any:
        obj = inner(row, vars, budget)
        if type(obj) in _PLAIN_DICTS:
            value = obj.get(key, _ABSENT)
            if value is not _ABSENT:
                return value
        return sandboxed(obj, key)

    return lookup


def applied(
    func: Callable[..., Any],
    inner: Evaluate,
    arg_exprs: list[Evaluate],
    kwarg_exprs: list[tuple[str, Evaluate]],
) -> Evaluate:
    """`func(value, *args, **kwargs)`, the call Jinja makes for a filter or a test, with
    what it reads charged before the call and what it builds checked after."""

    def computed_args(row: dict[str, Any], vars: Vars, budget: Budget) -> Any:
        value = inner(row, vars, budget)
        args = [a(row, vars, budget) for a in arg_exprs]
        kwargs = {key: a(row, vars, budget) for key, a in kwarg_exprs}
        read = measure((value, args, kwargs), budget.left)
        if read > budget.left:
            raise over_budget()
        return built(func(value, *args, **kwargs), budget, read)

    return computed_args


def applied_constants(
    func: Callable[..., Any], inner: Evaluate, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Evaluate:
    """`applied` with constant arguments, the common case, made without measuring them."""
    if not args and not kwargs:

        def no_args(row: dict[str, Any], vars: Vars, budget: Budget) -> Any:
            value = inner(row, vars, budget)
            read = len(value) if type(value) is str else measure(value, budget.left)
            if read > budget.left:
                raise over_budget()
            return built(func(value), budget, read)

        return no_args

    def constant_args(row: dict[str, Any], vars: Vars, budget: Budget) -> Any:
        value = inner(row, vars, budget)
        read = len(value) if type(value) is str else measure(value, budget.left)
        if read > budget.left:
            raise over_budget()
        return built(func(value, *args, **kwargs), budget, read)

    return constant_args


def conditional(test: Evaluate, then: Evaluate, otherwise: Evaluate) -> Evaluate:
    return lambda row, vars, budget: (
        then(row, vars, budget) if test(row, vars, budget) else otherwise(row, vars, budget)
    )


def both(left: Evaluate, right: Evaluate) -> Evaluate:
    return lambda row, vars, budget: left(row, vars, budget) and right(row, vars, budget)


def either(left: Evaluate, right: Evaluate) -> Evaluate:
    return lambda row, vars, budget: left(row, vars, budget) or right(row, vars, budget)


def negated(inner: Evaluate) -> Evaluate:
    return lambda row, vars, budget: not inner(row, vars, budget)


def unary(inner: Evaluate, op: Callable[[Any], Any]) -> Evaluate:
    return lambda row, vars, budget: built(op(inner(row, vars, budget)), budget)


def compared(first: Evaluate, ops: list[tuple[Callable[[Any, Any], Any], Evaluate]]) -> Evaluate:
    def compare(row: dict[str, Any], vars: Vars, budget: Budget) -> Any:
        # Python's chained comparison, as Jinja compiles `a < b < c`.
        left = first(row, vars, budget)
        result: Any = True
        for op, right_expr in ops:
            right = right_expr(row, vars, budget)
            budget.spend(measure((left, right), budget.left))
            result = op(left, right)
            if not result:
                return result
            left = right
        return result

    return compare


def binary(left: Evaluate, right: Evaluate, op: Callable[[Any, Any], Any]) -> Evaluate:
    def evaluate(row: dict[str, Any], vars: Vars, budget: Budget) -> Any:
        a, b = left(row, vars, budget), right(row, vars, budget)
        read = measure((a, b), budget.left)
        if read > budget.left:
            raise over_budget()
        return built(op(a, b), budget, read)

    return evaluate


def concatenated(parts: list[Evaluate]) -> Evaluate:
    """`a ~ b`: the parts as text, joined."""

    def concat(row: dict[str, Any], vars: Vars, budget: Budget) -> str:
        texts = [str(part(row, vars, budget)) for part in parts]
        size = sum(map(len, texts))
        if size > MAX_VALUE_BYTES:
            raise too_large(size)
        budget.spend(2 * size + 1)
        return "".join(texts)

    return concat


def listed(items: list[Evaluate]) -> Evaluate:
    return lambda row, vars, budget: built([i(row, vars, budget) for i in items], budget)


def tupled(items: list[Evaluate]) -> Evaluate:
    return lambda row, vars, budget: built(tuple(i(row, vars, budget) for i in items), budget)


def mapped(pairs: list[tuple[Evaluate, Evaluate]]) -> Evaluate:
    return lambda row, vars, budget: built(
        {k(row, vars, budget): v(row, vars, budget) for k, v in pairs}, budget
    )


def native(evaluate: Evaluate) -> Evaluate:
    """One expression keeps its value (like `compile_expression`), checked to be JSON."""
    return lambda row, vars, budget: sendable(evaluate(row, vars, budget))


def joined(parts: list[str | Evaluate]) -> Evaluate:
    """Text and expressions concatenated with `str`, as Jinja's output does; the text
    between the expressions is in place before each row."""
    texts = [part if isinstance(part, str) else "" for part in parts]
    slots = [(at, part) for at, part in enumerate(parts) if not isinstance(part, str)]

    def evaluate(row: dict[str, Any], vars: Vars, budget: Budget) -> str:
        pieces = texts.copy()
        for at, part in slots:
            pieces[at] = str(part(row, vars, budget))
        text = "".join(pieces)
        if len(text) > MAX_VALUE_BYTES or not text.isascii():
            check_text(text, "the value")
        return text

    return evaluate
