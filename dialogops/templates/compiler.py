"""Compiling a template: Jinja2 parses it, what a template may hold is checked (no statements,
no calls, only `row` and `vars`, the allowed filters and tests, bounded nesting), and each
expression node becomes its Python source from `codegen.py`, and the template one function.
Refusals are `TemplateProblem`s. Each distinct template text is compiled once per process:
a manifest may repeat one template thousands of times through YAML aliases.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from jinja2 import TemplateSyntaxError, Undefined, nodes

from dialogops.templates import codegen
from dialogops.templates.bounds import TemplateValueError, bounded_mod, bounded_mul, bounded_pow
from dialogops.templates.codegen import Code, Evaluate
from dialogops.templates.environment import ENVIRONMENT
from dialogops.templates.filters import FILTERS, TESTS, bound
from dialogops.templates.values import check_text, sendable

MAX_DEPTH = 30  # nesting of parentheses, filters and operators in one template
# Distinct template texts whose outcome is kept. Compiling the largest template the size
# cap allows takes seconds; without the cache, a manifest repeating it through YAML
# aliases (or in many campaigns) would pay that once per repetition. A kept evaluator of
# the largest template holds about 5 MB, so 128 bound the cache near 640 MB; a project
# with more distinct texts recompiles some, each in well under a millisecond.
MAX_CACHED = 128


class TemplateProblem(Exception):
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


def is_template(value: object) -> bool:
    """Whether an add_data value is a template (it contains `{{` or `{%`)."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def compile_value(value: Any) -> Evaluate:
    """The evaluator for one add_data value: a literal, one expression, or a string template.

    A template's evaluator is shared by every value with the same text: it keeps no state
    between calls (each call gets the row's budget; its globals hold only constants and
    functions), so campaigns and rows can share it as rows of one campaign always have.
    """
    if not is_template(value):
        return codegen.returning(_literal(value))
    # str() gives an exact str (not a subclass), so keys compare as text only.
    compiled = _compiled(str(value))
    if isinstance(compiled, _Refusal):
        raise TemplateProblem(compiled.message)
    return compiled


class _Refusal(NamedTuple):
    """A template's cached refusal; each use raises a fresh `TemplateProblem` from it."""

    message: str


@functools.lru_cache(maxsize=MAX_CACHED)
def _compiled(source: str) -> Evaluate | _Refusal:
    """The evaluator of a template's text, or why it is refused, computed once per text."""
    try:
        return _compile_template(source)
    except TemplateProblem as exc:
        return _Refusal(str(exc))


def _compile_template(source: str) -> Evaluate:
    """Parse, check and compile one template's text."""
    try:
        check_text(source, "the template")
        parts = _parse(source)
    except TemplateValueError as exc:
        raise TemplateProblem(str(exc)) from None
    except TemplateSyntaxError as exc:
        where = f" (template line {exc.lineno})" if exc.lineno and exc.lineno > 1 else ""
        raise TemplateProblem(f"invalid template: {exc.message}{where}") from None
    except RecursionError:
        raise _nested_too_deeply() from None
    compiler = _Compiler()
    try:
        if len(parts) == 1 and not isinstance(parts[0], nodes.TemplateData):
            return codegen.native(compiler.expr(parts[0]))
        return codegen.joined(
            [p.data if isinstance(p, nodes.TemplateData) else compiler.expr(p) for p in parts]
        )
    except (SyntaxError, RecursionError, MemoryError) as exc:
        # Python's own limits on the generated source; the checks above are meant to keep
        # every template within them, and a template past them is the manifest's problem.
        raise _too_complex(exc) from None


def _literal(value: Any) -> Any:
    """A literal add_data value as JSON; YAML gives unquoted dates as date objects."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    try:
        return sendable(value)
    except TemplateValueError as exc:
        raise TemplateProblem(str(exc)) from None


def _nested_too_deeply() -> TemplateProblem:
    return TemplateProblem(
        f"the template nests more than {MAX_DEPTH} levels deep (parentheses, filters, operators)"
    )


def _too_complex(exc: SyntaxError | RecursionError | MemoryError) -> TemplateProblem:
    if isinstance(exc, SyntaxError):
        why = exc.msg
    elif isinstance(exc, RecursionError):
        why = "nested too deeply"
    else:
        why = "out of memory"
    return TemplateProblem(f"the template is too complex to compile ({why}); simplify it")


def _parse(source: str) -> list[nodes.Node]:
    """The expression and text nodes of a template, in order; statements are refused."""
    depth = 0
    tokens = iter(ENVIRONMENT.lex(source))
    for lineno, kind, _value in tokens:
        if kind == "block_begin":
            name = next((v for _, k, v in tokens if k != "whitespace"), "")
            where = f" (template line {lineno})" if lineno > 1 else ""
            statement = f"{{% {name} %}}" if name.isidentifier() else "{% ... %}"
            raise TemplateProblem(f"{statement} is a statement{where}: {_STATEMENT_HINT}")
        depth += kind in _OPENING
        depth -= kind in _CLOSING
        if depth > MAX_DEPTH:
            raise _nested_too_deeply()
    body = ENVIRONMENT.parse(source).body
    # Without `{%`, the parser gives Output nodes only; the check keeps that an invariant.
    if not all(isinstance(node, nodes.Output) for node in body):
        raise TemplateProblem(f"statements are not allowed: {_STATEMENT_HINT}")
    return [child for node in body if isinstance(node, nodes.Output) for child in node.nodes]


def _allowed(kind: str, table: Mapping[str, object]) -> str:
    return f"allowed {kind}s: {', '.join(table)}"


def _allowed_function(
    kind: str, name: str, allowed: Mapping[str, Callable[..., Any]], jinja: Mapping[str, object]
) -> Callable[..., Any]:
    """The filter or test `name` as called, refused unless it is in the `allowed` table."""
    func = allowed.get(name)
    if func is None:
        known = "not allowed" if name in jinja else "unknown"
        raise TemplateProblem(
            f"the {kind} {name!r} is {known} in add_data templates ({_allowed(kind, allowed)})"
        )
    return bound(func)


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


class _Compiler:
    """Turns one template's expression nodes into source, refusing what is not allowed."""

    def __init__(self) -> None:
        self.depth = 0

    def expr(self, node: nodes.Node) -> Code:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _nested_too_deeply()
        try:
            compile_node = getattr(self, f"visit_{type(node).__name__}", None)
            if compile_node is None:
                raise TemplateProblem(_refusal(node))
            code: Code = compile_node(node)
            return code
        finally:
            self.depth -= 1

    def visit_Const(self, node: nodes.Const) -> Code:
        return codegen.constant(node.value)

    def visit_Name(self, node: nodes.Name) -> Code:
        if node.name == "row":
            return codegen.THE_ROW
        if node.name == "vars":
            return codegen.THE_VARS
        raise TemplateProblem(
            f"unknown name {node.name!r}: add_data templates see only row and vars"
        )

    def visit_Getattr(self, node: nodes.Getattr) -> Code:
        return codegen.attribute(self.expr(node.node), node.attr)

    def visit_Getitem(self, node: nodes.Getitem) -> Code:
        inner = self.expr(node.node)
        arg = node.arg
        if isinstance(arg, nodes.Slice):
            parts = [None if p is None else self.expr(p) for p in (arg.start, arg.stop, arg.step)]
            return codegen.sliced(inner, parts)
        if isinstance(arg, nodes.Const) and type(arg.value) in (str, int):
            return codegen.constant_item(inner, arg.value)
        return codegen.item(inner, self.expr(arg))

    def visit_Filter(self, node: nodes.Filter) -> Code:
        func = _allowed_function("filter", node.name, FILTERS, ENVIRONMENT.filters)
        return self._applied(node, func)

    def visit_Test(self, node: nodes.Test) -> Code:
        return self._applied(node, _allowed_function("test", node.name, TESTS, ENVIRONMENT.tests))

    def _applied(self, node: nodes.Filter | nodes.Test, func: Callable[..., Any]) -> Code:
        if node.node is None or node.dyn_args is not None or node.dyn_kwargs is not None:
            raise TemplateProblem("filter and test arguments cannot be spread with * or **")
        inner = self.expr(node.node)
        if all(isinstance(a, nodes.Const) for a in [*node.args, *(k.value for k in node.kwargs)]):
            args = tuple(a.value for a in node.args if isinstance(a, nodes.Const))
            kwargs = {
                str(k.key): k.value.value for k in node.kwargs if isinstance(k.value, nodes.Const)
            }
            return codegen.applied_constants(func, inner, args, kwargs)
        arg_exprs = [self.expr(a) for a in node.args]
        kwarg_exprs = [(str(k.key), self.expr(k.value)) for k in node.kwargs]
        return codegen.applied(func, inner, arg_exprs, kwarg_exprs)

    def visit_CondExpr(self, node: nodes.CondExpr) -> Code:
        then, test = self.expr(node.expr1), self.expr(node.test)
        if node.expr2 is None:
            # Jinja's implicit else: the plain (not strict) Undefined with this hint.
            hint = (
                f"the inline if-expression on line {node.lineno} evaluated to false and "
                "no else section was defined."
            )
            return codegen.conditional(test, then, codegen.constant(Undefined(hint=hint)))
        return codegen.conditional(test, then, self.expr(node.expr2))

    def visit_And(self, node: nodes.And) -> Code:
        return codegen.both(self.expr(node.left), self.expr(node.right))

    def visit_Or(self, node: nodes.Or) -> Code:
        return codegen.either(self.expr(node.left), self.expr(node.right))

    def visit_Not(self, node: nodes.Not) -> Code:
        return codegen.negated(self.expr(node.node))

    def visit_Neg(self, node: nodes.Neg) -> Code:
        return codegen.unary(self.expr(node.node), operator.neg)

    def visit_Pos(self, node: nodes.Pos) -> Code:
        return codegen.unary(self.expr(node.node), operator.pos)

    def visit_Compare(self, node: nodes.Compare) -> Code:
        first = self.expr(node.expr)
        return codegen.compared(first, [(_COMPARE[op.op], self.expr(op.expr)) for op in node.ops])

    def _binary(self, node: nodes.BinExpr, op: Callable[[Any, Any], Any]) -> Code:
        return codegen.binary(self.expr(node.left), self.expr(node.right), op)

    def visit_Add(self, node: nodes.Add) -> Code:
        return self._binary(node, operator.add)

    def visit_Sub(self, node: nodes.Sub) -> Code:
        return self._binary(node, operator.sub)

    def visit_Div(self, node: nodes.Div) -> Code:
        return self._binary(node, operator.truediv)

    def visit_FloorDiv(self, node: nodes.FloorDiv) -> Code:
        return self._binary(node, operator.floordiv)

    def visit_Mul(self, node: nodes.Mul) -> Code:
        return self._binary(node, bounded_mul)

    def visit_Pow(self, node: nodes.Pow) -> Code:
        return self._binary(node, bounded_pow)

    def visit_Mod(self, node: nodes.Mod) -> Code:
        return self._binary(node, bounded_mod)

    def visit_Concat(self, node: nodes.Concat) -> Code:
        return codegen.concatenated([self.expr(part) for part in node.nodes])

    def visit_List(self, node: nodes.List) -> Code:
        return codegen.listed([self.expr(item) for item in node.items])

    def visit_Tuple(self, node: nodes.Tuple) -> Code:
        return codegen.tupled([self.expr(item) for item in node.items])

    def visit_Dict(self, node: nodes.Dict) -> Code:
        return codegen.mapped([(self.expr(pair.key), self.expr(pair.value)) for pair in node.items])
