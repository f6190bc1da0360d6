"""The Python source each template node becomes: the call Jinja's generated code makes for
it (the sandbox's lookups, Jinja's filter and test functions, Python's operators), charging
what it reads and builds to the row's budget. A template becomes one function, compiled
once, so a row costs no call per node.

Nothing a manifest writes is put in the source: keys, attribute names, constants, filters
and operators are bound to generated names in the function's globals.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from dialogops.templates.bounds import (
    INT_BITS,
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

_ABSENT = object()
# The globals every generated function may use, by these names (generated names have digits).
_HELPERS: dict[str, Any] = {
    "ABSENT": _ABSENT,
    "PLAIN_DICTS": (dict, Vars),
    "MAX_VALUE_BYTES": MAX_VALUE_BYTES,
    "INT_BITS": INT_BITS,
    "built": built,
    "measure": measure,
    "over_budget": over_budget,
    "too_large": too_large,
    "check_text": check_text,
    "sendable": sendable,
    "getattr_": ENVIRONMENT.getattr,
    "getitem": ENVIRONMENT.getitem,
}
_numbers = itertools.count()


@dataclass(frozen=True)
class Code:
    """An expression as source: the statements that compute it, then the name holding its
    value; `bound` gives the objects of the generated global names the statements use."""

    lines: tuple[str, ...]
    value: str
    bound: Mapping[str, Any]


THE_ROW = Code((), "row", {})
THE_VARS = Code((), "vars", {})


def _local() -> str:
    return f"v{next(_numbers)}"


def _code(value: str, lines: Iterable[str], *parts: Code) -> Code:
    """`lines` computing `value`, with the names `parts` bound."""
    bound: dict[str, Any] = {}
    for part in parts:
        bound.update(part.bound)
    return Code(tuple(lines), value, bound)


def _in_order(*parts: Code) -> list[str]:
    """The statements of `parts`, evaluated in this order."""
    return [line for part in parts for line in part.lines]


def _nested(code: Code) -> list[str]:
    return ["    " + line for line in code.lines]


def _charged(read: str, measured: str) -> list[str]:
    """`read` set to the size of what a call reads, refused once over the row's budget."""
    return [f"{read} = {measured}", f"if {read} > budget.left:", "    raise over_budget()"]


def constant(value: Any) -> Code:
    name = f"c{next(_numbers)}"
    return Code((), name, {name: value})


def attribute(inner: Code, attr: str) -> Code:
    """`a.b`: Jinja compiles it to `environment.getattr(a, "b")`; a present key of a plain
    dict is what the sandbox returns too, unless dict has an attribute of that name."""
    if hasattr({}, attr):
        name, value = constant(attr), _local()
        line = f"{value} = getattr_({inner.value}, {name.value})"
        return _code(value, [*inner.lines, line], inner, name)
    return _key_first(inner, attr, "getattr_")


def constant_item(inner: Code, key: str | int) -> Code:
    """`a['b']` or `a[0]`, through the sandbox's getitem."""
    return _key_first(inner, key, "getitem")


def item(inner: Code, key: Code) -> Code:
    """`a[b]` with a computed key, through the sandbox's getitem."""
    value = _local()
    line = f"{value} = getitem({inner.value}, {key.value})"
    return _code(value, [*_in_order(inner, key), line], inner, key)


def sliced(inner: Code, parts: list[Code | None]) -> Code:
    """`a[start:stop:step]`: Jinja slices directly, bypassing the environment's getitem."""
    given = [part for part in parts if part is not None]
    bounds = ", ".join("None" if part is None else part.value for part in parts)
    value = _local()
    line = f"{value} = built({inner.value}[slice({bounds})], budget)"
    return _code(value, [*_in_order(inner, *given), line], inner, *given)


def _key_first(inner: Code, key: str | int, sandboxed: str) -> Code:
    """A present key of a plain dict directly, anything else through the sandbox's lookup."""
    name, value, obj = constant(key), _local(), inner.value
    if inner is THE_ROW:
        # `row.x`, the most common expression of all: the row is always a plain dict.
        first = f"{value} = row.get({name.value}, ABSENT)"
    else:
        first = (
            f"{value} = {obj}.get({name.value}, ABSENT) if type({obj}) in PLAIN_DICTS else ABSENT"
        )
    lines = [first, f"if {value} is ABSENT:", f"    {value} = {sandboxed}({obj}, {name.value})"]
    return _code(value, [*inner.lines, *lines], inner, name)


def applied(
    func: Callable[..., Any], inner: Code, args: list[Code], kwargs: list[tuple[str, Code]]
) -> Code:
    """`func(value, *args, **kwargs)`, the call Jinja makes for a filter or a test, with
    what it reads charged before the call and what it builds checked after."""
    called, keys = constant(func), [constant(key) for key, _ in kwargs]
    values = [code for _, code in kwargs]
    listed, named, read, value = _local(), _local(), _local(), _local()
    pairs = ", ".join(f"{key.value}: {code.value}" for key, code in zip(keys, values, strict=True))
    lines = [
        *_in_order(inner, *args, *values),
        f"{listed} = [{', '.join(arg.value for arg in args)}]",
        f"{named} = {{{pairs}}}",
        *_charged(read, f"measure(({inner.value}, {listed}, {named}), budget.left)"),
        f"{value} = built({called.value}({inner.value}, *{listed}, **{named}), budget, {read})",
    ]
    return _code(value, lines, inner, *args, *values, called, *keys)


def applied_constants(
    func: Callable[..., Any], inner: Code, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Code:
    """`applied` with constant arguments, the common case, made without measuring them."""
    called, given = constant(func), [constant(arg) for arg in args]
    passed = [inner.value, *(arg.value for arg in given)]
    if kwargs:
        given.append(constant(kwargs))
        passed.append(f"**{given[-1].value}")
    read, value, obj = _local(), _local(), inner.value
    lines = [
        *inner.lines,
        *_charged(read, f"len({obj}) if type({obj}) is str else measure({obj}, budget.left)"),
        f"{value} = built({called.value}({', '.join(passed)}), budget, {read})",
    ]
    return _code(value, lines, inner, called, *given)


def conditional(test: Code, then: Code, otherwise: Code) -> Code:
    value = _local()
    lines = [
        *test.lines,
        f"if {test.value}:",
        *_nested(then),
        f"    {value} = {then.value}",
        "else:",
        *_nested(otherwise),
        f"    {value} = {otherwise.value}",
    ]
    return _code(value, lines, test, then, otherwise)


def both(left: Code, right: Code) -> Code:
    return _short_circuit(left, right, "if {}:")


def either(left: Code, right: Code) -> Code:
    return _short_circuit(left, right, "if not {}:")


def _short_circuit(left: Code, right: Code, test: str) -> Code:
    """Python's `and` / `or`: `right` evaluated only when `left` does not decide."""
    value = _local()
    lines = [
        *left.lines,
        f"{value} = {left.value}",
        test.format(value),
        *_nested(right),
        f"    {value} = {right.value}",
    ]
    return _code(value, lines, left, right)


def negated(inner: Code) -> Code:
    value = _local()
    return _code(value, [*inner.lines, f"{value} = not {inner.value}"], inner)


def unary(inner: Code, op: Callable[[Any], Any]) -> Code:
    called, value = constant(op), _local()
    line = f"{value} = built({called.value}({inner.value}), budget)"
    return _code(value, [*inner.lines, line], inner, called)


def compared(first: Code, ops: list[tuple[Callable[[Any, Any], Any], Code]]) -> Code:
    """Python's chained comparison, as Jinja compiles `a < b < c`: each next operand is
    evaluated only while the comparisons so far hold, and the first false result is the value.

    A chain is one node however long, so each further comparison is guarded by its own `if`
    at the same level: nesting them would indent the source once per comparison."""
    result, left = _local(), first.value
    lines, parts = list(first.lines), [first]
    for index, (op, right) in enumerate(ops):
        called = constant(op)
        parts += [right, called]
        compared = [
            *right.lines,
            f"budget.spend(measure(({left}, {right.value}), budget.left))",
            f"{result} = {called.value}({left}, {right.value})",
        ]
        lines += [f"if {result}:", *("    " + line for line in compared)] if index else compared
        left = right.value
    return _code(result, lines, *parts)


def binary(left: Code, right: Code, op: Callable[[Any, Any], Any]) -> Code:
    called, read, value = constant(op), _local(), _local()
    lines = [
        *_in_order(left, right),
        *_charged(read, f"measure(({left.value}, {right.value}), budget.left)"),
        f"{value} = built({called.value}({left.value}, {right.value}), budget, {read})",
    ]
    return _code(value, lines, left, right, called)


def concatenated(parts: list[Code]) -> Code:
    """`a ~ b`: the parts as text, joined."""
    texts = [_local() for _ in parts]
    listed, size, value = _local(), _local(), _local()
    lines = [line for part, text in zip(parts, texts, strict=True) for line in _as_text(part, text)]
    lines += [
        f"{listed} = [{', '.join(texts)}]",
        f"{size} = sum(map(len, {listed}))",
        f"if {size} > MAX_VALUE_BYTES:",
        f"    raise too_large({size})",
        f"budget.spend(2 * {size} + 1)",
        f"{value} = ''.join({listed})",
    ]
    return _code(value, lines, *parts)


def _as_text(part: Code, text: str) -> list[str]:
    """The statements of `part`, then `text` set to it as text (Jinja's `str`)."""
    return [*part.lines, f"{text} = str({part.value})"]


def listed(items: list[Code]) -> Code:
    value = _local()
    line = f"{value} = built([{', '.join(i.value for i in items)}], budget)"
    return _code(value, [*_in_order(*items), line], *items)


def tupled(items: list[Code]) -> Code:
    value = _local()
    line = f"{value} = built(({''.join(f'{i.value}, ' for i in items)}), budget)"
    return _code(value, [*_in_order(*items), line], *items)


def mapped(pairs: list[tuple[Code, Code]]) -> Code:
    """A dict literal: each key, then its value, then the entry, in order."""
    value = _local()
    lines = [f"{value} = {{}}"]
    for key, item in pairs:
        lines += [*_in_order(key, item), f"{value}[{key.value}] = {item.value}"]
    lines.append(f"{value} = built({value}, budget)")
    return _code(value, lines, *(code for pair in pairs for code in pair))


def returning(value: Any) -> Evaluate:
    """A literal add_data value, the same on every row."""
    return lambda _row, _vars, _budget: value


def native(code: Code) -> Evaluate:
    """One expression keeps its value (like `compile_expression`), checked to be JSON.

    `sendable` returns a short ASCII text or an integer within the digits bound as it is:
    those common values skip the call."""
    obj = code.value
    lines = [
        *code.lines,
        f"if type({obj}) is str:",
        f"    if len({obj}) <= MAX_VALUE_BYTES and {obj}.isascii():",
        f"        return {obj}",
        f"elif type({obj}) is int and {obj}.bit_length() <= INT_BITS:",
        f"    return {obj}",
        f"return sendable({obj})",
    ]
    return _function(lines, code)


def joined(parts: list[str | Code]) -> Evaluate:
    """Text and expressions concatenated with `str`, as Jinja's output does."""
    pieces: list[str] = []
    lines: list[str] = []
    codes: list[Code] = []
    for part in parts:
        code = constant(part) if isinstance(part, str) else part
        codes.append(code)
        if isinstance(part, str):
            pieces.append(code.value)
        else:
            pieces.append(_local())
            lines += _as_text(code, pieces[-1])
    lines += [
        f"text = ''.join(({''.join(f'{piece}, ' for piece in pieces)}))",
        "if len(text) > MAX_VALUE_BYTES or not text.isascii():",
        "    check_text(text, 'the value')",
        "return text",
    ]
    return _function(lines, *codes)


def _function(lines: list[str], *parts: Code) -> Evaluate:
    """The statements as the body of one function, compiled."""
    source = "\n    ".join(["def evaluate(row, vars, budget):", *lines])
    namespace = dict(_HELPERS)
    for part in parts:
        namespace.update(part.bound)
    exec(compile(source, "<add_data template>", "exec"), namespace)
    return cast(Evaluate, namespace["evaluate"])
