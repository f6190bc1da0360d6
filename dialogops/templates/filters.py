"""The filters and tests templates may use: Jinja's own, with `int` and `float` strict and
`replace`, `join` and `round` refused when their result would be over the bounds; and how
each is called, with the argument Jinja's generated code passes it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, cast

from jinja2 import nodes, pass_eval_context
from jinja2.filters import do_float, do_int, do_join, do_replace, do_round, make_attrgetter

from dialogops.masking import mask_numbers
from dialogops.templates.bounds import MAX_VALUE_BYTES, TemplateValueError, too_large
from dialogops.templates.environment import ENVIRONMENT, EVAL_CONTEXT

MAX_ROUND_PRECISION = 100
_SHOWN_CHARS = 40
_NOT_GIVEN: Any = object()


def _shown(value: Any) -> str:
    """A value for a message: short, and with phone-like digits masked."""
    text = repr(value)
    if len(text) > _SHOWN_CHARS:
        text = text[: _SHOWN_CHARS - 3] + "..."
    return mask_numbers(text)


def _not_a_number(value: Any, kind: str) -> TemplateValueError:
    return TemplateValueError(
        f"{_shown(value)} is not a number (| {kind}); "
        f"give a default to use instead, e.g. | {kind}(default=0)"
    )


def _strict_int(value: Any, default: Any = _NOT_GIVEN, base: int = 10) -> Any:
    """Jinja's `int`, failing on a value that is not a number unless a default is given."""
    if type(value) is str:
        # do_int's own first step, taken here so that the text of an integer (nearly every
        # value given) costs no further call; any other goes through do_int, which repeats it.
        try:
            return int(value, base)
        except (TypeError, ValueError):
            pass
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
        raise too_large(size)
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
            raise too_large(size)
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
_PASSED = {"environment": ENVIRONMENT, "eval_context": EVAL_CONTEXT}


def bound(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` with the leading argument Jinja's generated code passes it (if any)."""
    pass_arg = getattr(func, "jinja_pass_arg", None)
    if pass_arg is None:
        return func
    return partial(func, _PASSED[pass_arg.name])
