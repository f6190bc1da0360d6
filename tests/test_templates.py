"""add_data templates: literals, native single expressions, strict undefined, the sandbox,
the refused constructs and the bounds (one test per hostile class), strict int and float,
compile errors with locations, and the compiled templates' equivalence with Jinja itself."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jinja2 import StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from dialogops.errors import Location, RenderError
from dialogops.specs import Campaign, InlineSource, PhonesSpec, Schedule
from dialogops.templates import (
    FILTERS,
    MAX_ROW_WORK,
    MAX_VALUE_BYTES,
    AddDataError,
    Budget,
    Vars,
    compile_add_data,
    compile_value,
    compiler,
)
from tests.samples import OWN_PEAK_RSS, counting_compiles

MANIFEST = "campaigns/nps.yaml"


@pytest.fixture(autouse=True)
def _fresh_compile_cache() -> Iterator[None]:
    """Each test compiles its templates itself; a refusal it forces (by patching Python's
    compile) is not left cached for the tests after it."""
    compiler._compiled.cache_clear()
    yield
    compiler._compiled.cache_clear()


def campaign(add_data: dict[str, Any]) -> Campaign:
    where = Location(MANIFEST, 1, 1)
    return Campaign(
        name="nps",
        location=where,
        project_id=1,
        title="NPS",
        description="",
        start_block_id=10,
        phone_id=5,
        schedule=Schedule(dt.date(2099, 1, 1), dt.time(9), dt.time(17)),
        phones=PhonesSpec(InlineSource(("+79991234567",), (where,))),
        add_data=add_data,
        add_data_locations={k: Location(MANIFEST, 20 + i, 11) for i, k in enumerate(add_data)},
    )


def render(
    add_data: dict[str, Any], row: dict[str, Any], vars: dict[str, str] | None = None
) -> dict[str, Any]:
    return compile_add_data(campaign(add_data)).render(row, vars or {})


def failure(template: str, row: dict[str, Any] | None = None) -> str:
    """The one message rendering `template` on `row` fails with."""
    with pytest.raises(AddDataError) as info:
        render({"value": template}, dict(ROW) if row is None else row)
    [(key, message)] = info.value.failures
    assert key == "value"
    return message


def refusal(template: Any) -> str:
    """The one problem compiling `template` reports, at its add_data key."""
    with pytest.raises(RenderError) as info:
        compile_add_data(campaign({"value": template}))
    [problem] = [str(p) for p in info.value.problems]
    prefix = f"{MANIFEST}:20:11: add_data.value: "
    assert problem.startswith(prefix)
    return problem.removeprefix(prefix)


ROW = {
    "phone": "+79991234567",
    "last_name": "Иванов",
    "first_name": "Иван",
    "contract": "123456",
    "slot": "11:00",
}


def test_documented_templates() -> None:
    add_data = {
        "name": "{{ row.last_name }} {{ row.first_name }}",
        "time": "{{ row.slot | default('10:00') }}",
        "phone": "{{ row.contract | int }}",
    }
    assert render(add_data, ROW) == {"name": "Иванов Иван", "time": "11:00", "phone": 123456}
    no_slot = {k: v for k, v in ROW.items() if k != "slot"}
    assert render(add_data, no_slot)["time"] == "10:00"


def test_literals_pass_through_with_their_type() -> None:
    add_data = {
        "greeting": "Здравствуйте!",
        "n": 5,
        "flag": True,
        "none": None,
        "braces": "{ not a template }",
        "when": dt.date(2099, 1, 2),
        "ratio": 0.5,
    }
    assert render(add_data, ROW) == {
        "greeting": "Здравствуйте!",
        "n": 5,
        "flag": True,
        "none": None,
        "braces": "{ not a template }",
        "when": "2099-01-02",
        "ratio": 0.5,
    }


def test_single_expression_keeps_its_json_type() -> None:
    row = {"n": 7, "items": None, "tags": ["a", "b"], "obj": {"k": 1}, "s": "42"}
    add_data = {
        "int": "{{ row.n }}",
        "str": "{{ row.s }}",
        "cast": "{{ row.s | int }}",
        "float": "{{ row.s | float }}",
        "list": "{{ row.tags }}",
        "obj": "{{ row.obj }}",
        "bool": "{{ row.n > 3 }}",
        "null": "{{ row['items'] }}",
        "sum": "{{ row.n + 1 }}",
        "text": "n={{ row.n }}",
        "spaced": " {{ row.n }}",
    }
    assert render(add_data, row) == {
        "int": 7,
        "str": "42",
        "cast": 42,
        "float": 42.0,
        "list": ["a", "b"],
        "obj": {"k": 1},
        "bool": True,
        "null": None,
        "sum": 8,
        "text": "n=7",
        "spaced": " 7",
    }


def test_vars_are_in_scope() -> None:
    add_data = {"who": "{{ vars.operator }}", "line": "Оператор {{ vars['operator'] }}"}
    assert render(add_data, ROW, {"operator": "Анна"}) == {"who": "Анна", "line": "Оператор Анна"}


def test_missing_column_names_the_key_and_the_available_fields() -> None:
    renderer = compile_add_data(
        campaign({"name": "{{ row.surname }}", "ok": "{{ row.slot }}", "other": "x {{ row.nope }}"})
    )
    with pytest.raises(AddDataError) as info:
        renderer.render(ROW, {})
    assert info.value.failures == [
        ("name", "no field 'surname' (available: phone, last_name, first_name, contract, slot)"),
        ("other", "no field 'nope' (available: phone, last_name, first_name, contract, slot)"),
    ]


def test_missing_var_says_how_to_pass_it() -> None:
    with pytest.raises(AddDataError) as info:
        render({"who": "{{ vars.operator }}"}, ROW)
    assert info.value.failures == [("who", "vars.operator is not set (pass --var operator=VALUE)")]


@pytest.mark.parametrize(
    "template",
    [
        "{{ row.__class__ }}",
        "{{ ''.__class__.__mro__ }}",
        "x {{ row.__class__ }}",
        "{{ row['__class__'] }}",
        "{{ row.last_name.__class__.__base__ }}",
    ],
)
def test_sandbox_escapes_fail_and_render_nothing(template: str) -> None:
    message = failure(template)
    assert message.startswith("not allowed in the template sandbox: ")
    assert "unsafe" in message


ALLOWED_FILTERS = (
    "abs, capitalize, count, d, default, first, float, int, join, last, length, list, lower, "
    "max, min, replace, reverse, round, sort, string, title, trim, truncate, upper, wordcount"
)
ALLOWED_TESTS = (
    "!=, <, <=, ==, >, >=, boolean, defined, divisibleby, eq, equalto, even, false, float, "
    "ge, greaterthan, gt, in, integer, iterable, le, lessthan, lower, lt, mapping, ne, none, "
    "number, odd, sameas, sequence, string, true, undefined, upper"
)
STATEMENT_HINT = (
    "add_data templates hold text and {{ expression }} parts only "
    "(for a choice, use an inline if: {{ 'a' if row.x else 'b' }})"
)


@pytest.mark.parametrize(
    ("template", "statement"),
    [
        ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "for"),
        ("{% if row.a %}x{% endif %}", "if"),
        ("{% set x = row.__class__ %}{{ x }}", "set"),
        ("{% macro m() %}x{% endmacro %}{{ m() }}", "macro"),
        ("{% call m() %}x{% endcall %}", "call"),
        ("{% filter upper %}x{% endfilter %}", "filter"),
        ("{% with a = 1 %}{{ a }}{% endwith %}", "with"),
        ("{% include 'x' %}", "include"),
        ("{% import 'm' as m %}hi", "import"),
        ("{% from 'm' import x %}", "from"),
        ("{% extends 'base' %}", "extends"),
        ("{% block b %}x{% endblock %}", "block"),
        ("{% print row.a %}", "print"),
        ("{%- autoescape true -%}x{% endautoescape %}", "autoescape"),
        ("{% for %}", "for"),  # a statement first, before its syntax
    ],
)
def test_statements_are_refused_at_compile_time(template: str, statement: str) -> None:
    assert refusal(template) == f"{{% {statement} %}} is a statement: {STATEMENT_HINT}"


def test_a_statement_names_its_template_line() -> None:
    assert refusal("Здравствуйте\n{{ row.a }}\n{% set x = 1 %}") == (
        f"{{% set %}} is a statement (template line 3): {STATEMENT_HINT}"
    )
    assert refusal("{% %}") == f"{{% ... %}} is a statement: {STATEMENT_HINT}"


def test_raw_text_and_comments_are_text() -> None:
    assert render(
        {"raw": "{% raw %}{{ not a template }}{% endraw %}", "c": "a{# note #}{{ row.slot }}"}, ROW
    ) == {"raw": "{{ not a template }}", "c": "a11:00"}


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ range(3) }}", "calling range() is not allowed"),
        ("{{ lipsum(100000000) }}", "calling lipsum() is not allowed"),
        ("{{ dict(a=1) }}", "calling dict() is not allowed"),
        ("{{ namespace() }}", "calling namespace() is not allowed"),
        ("{{ 'x'.ljust(3000000000) }}", "calling .ljust() is not allowed"),
        ("{{ 'x'.center(3000000000) }}", "calling .center() is not allowed"),
        ("{{ '{:>3000000000}'.format('x') }}", "calling .format() is not allowed"),
        ("{{ row.update({'a': 1}) }}", "calling .update() is not allowed"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "calling .__subclasses__() is not"),
        ("{{ row.tags[0]() }}", "calling a function is not allowed"),
    ],
)
def test_calls_are_refused_at_compile_time(template: str, message: str) -> None:
    problem = refusal(template)
    assert problem.startswith(message)
    assert problem.endswith(f"in add_data templates (allowed filters: {ALLOWED_FILTERS})")


@pytest.mark.parametrize("name", ["cycler", "joiner", "range", "lipsum", "namespace", "loop", "x"])
def test_names_other_than_row_and_vars_are_refused(name: str) -> None:
    assert refusal(f"{{{{ {name} }}}}") == (
        f"unknown name {name!r}: add_data templates see only row and vars"
    )
    assert refusal(f"{{{{ {name}.__init__ }}}}").startswith(f"unknown name {name!r}")


@pytest.mark.parametrize(
    ("template", "known"),
    [
        ("{{ 'x' | center(3000000000) }}", "not allowed"),
        ("{{ 'x\ny' | indent(3000000000, true) }}", "not allowed"),
        ("{{ '%3000000000s' | format('x') }}", "not allowed"),
        ("{{ row.a | wordwrap(1) }}", "not allowed"),
        ("{{ row.a | random }}", "not allowed"),
        ("{{ row.a | map('upper') | list }}", "not allowed"),
        ("{{ row.a | nosuchfilter }}", "unknown"),
    ],
)
def test_filters_outside_the_list_are_refused_naming_the_allowed(template: str, known: str) -> None:
    name = template.split("| ")[1].split("(")[0].split(" ")[0]
    assert refusal(template) == (
        f"the filter {name!r} is {known} in add_data templates (allowed filters: {ALLOWED_FILTERS})"
    )


def test_tests_outside_the_list_are_refused_naming_the_allowed() -> None:
    assert refusal("{{ row.a is callable }}") == (
        f"the test 'callable' is not allowed in add_data templates (allowed tests: {ALLOWED_TESTS})"
    )
    assert refusal("{{ row.a is nosuch }}").startswith("the test 'nosuch' is unknown")


def test_allowed_filters_are_documented() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "rendering.md").read_text(encoding="utf-8")
    assert ", ".join(f"`{name}`" for name in FILTERS) in docs
    assert ", ".join(f"`{name}`" for name in ALLOWED_TESTS.split(", ")) in docs


NESTING = "the template nests more than 30 levels deep (parentheses, filters, operators)"


@pytest.mark.parametrize(
    "template",
    [
        "{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}",
        "{{ " + "[" * 31 + "]" * 31 + " }}",
        "{{ row.a" + " | trim" * 1000 + " }}",
        "{{ row.a" + " | trim" * 30 + " }}",
        "{{ " + "not " * 1000 + "1 }}",
        "{{ " + " + ".join(["1"] * 1000) + " }}",
        "{{ " + "-" * 1000 + "1 }}",
    ],
)
def test_deep_nesting_is_a_located_error_not_a_crash(template: str) -> None:
    assert refusal(template) == NESTING


def test_nesting_within_the_bound_works() -> None:
    assert render({"n": "{{ " + "(" * 25 + "1" + ")" * 25 + " }}"}, ROW) == {"n": 1}
    assert render({"s": "{{ row.slot" + " | trim" * 28 + " }}"}, ROW) == {"s": "11:00"}


# A comparison chain is one node however long, so the nesting bound does not limit it.
LONG_CHAINS = {
    "{{ " + " < ".join(map(str, range(201))) + " }}": True,
    "{{ " + " <= ".join(["row.n"] * 201) + " }}": True,
    "{{ " + " < ".join([*map(str, range(200)), "0"]) + " }}": False,  # the last one fails
    # The second fails: the rest, which would fail on the undefined field, never run.
    "{{ 1 < 2 > 5" + " < row.missing" * 198 + " }}": False,
}


@pytest.mark.parametrize(("template", "expected"), LONG_CHAINS.items())
def test_a_200_comparison_chain_compiles_and_matches_jinja(template: str, expected: bool) -> None:
    for row in EQUIVALENCE_ROWS:
        assert _ours(template, dict(row)) == _jinja(template, dict(row)) == ("ok", expected)


def _spent(template: str) -> int:
    budget = Budget()
    compile_value(template)(dict(ROW), Vars(), budget)
    return MAX_ROW_WORK - budget.left


def test_a_chain_charges_only_the_comparisons_it_makes() -> None:
    assert _spent("{{ 1 < 2 > 5 }}") > _spent("{{ 1 < 2 }}") > 0
    assert _spent("{{ 1 < 2 > 5" + " < row.missing" * 198 + " }}") == _spent("{{ 1 < 2 > 5 }}")
    assert _spent("{{ " + " <= ".join(["1"] * 201) + " }}") == 200 * _spent("{{ 1 <= 1 }}")


# The longest chains the template size cap allows: the most comparisons (the first fails),
# and the longest chain that holds, so every comparison runs. The source generated for
# a chain grows with its length, not its square. A fresh interpreter measures its own
# peak RSS, under an address-space limit so that a regression fails instead of exhausting
# the machine's memory.
CHAIN_PEAK_LIMIT = 1024 * 2**20
COMPILE_CHAINS = (
    """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, resource.getrlimit(resource.RLIMIT_AS)[1]))
from dialogops.templates import Budget, Vars, compile_value
values = []
for template in json.loads(sys.stdin.read()):
    values.append(compile_value(template)({}, Vars(), Budget()))
"""
    + OWN_PEAK_RSS
    + """print(json.dumps({"values": values, "peak": peak}))
"""
)


@pytest.mark.slow
def test_a_comparison_chain_as_long_as_the_size_cap_allows_compiles_in_bounded_memory() -> None:
    """The longest chain the size cap allows (true chains are checked at 200 comparisons)."""
    most = "{{ " + "<".join(["1"] * 32_700) + " }}"
    assert MAX_VALUE_BYTES - 200 < len(most) <= MAX_VALUE_BYTES
    measured = subprocess.run(
        [sys.executable, "-c", COMPILE_CHAINS],
        input=json.dumps([most]),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert measured.returncode == 0, measured.stderr[-2000:]
    result = json.loads(measured.stdout)
    assert result["values"] == [False]
    assert 0 < result["peak"] < CHAIN_PEAK_LIMIT, f"peak RSS {result['peak'] / 2**20:.1f} MB"


@pytest.mark.parametrize(
    ("refusal_by_python", "why"),
    [
        (IndentationError("too many levels of indentation"), "too many levels of indentation"),
        (
            RecursionError("maximum recursion depth exceeded during compilation"),
            "nested too deeply",
        ),
        (MemoryError(), "out of memory"),
    ],
)
def test_python_refusing_the_generated_source_is_a_located_error(
    refusal_by_python: Exception, why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refusing(*_args: object) -> None:
        raise refusal_by_python

    monkeypatch.setattr("dialogops.templates.codegen.compile", refusing, raising=False)
    assert refusal("{{ row.a < row.b }}") == (
        f"the template is too complex to compile ({why}); simplify it"
    )


def test_repeated_sequences_are_bounded_by_the_result_size() -> None:
    assert failure("{{ ('x' * 100000) * 20000 }}") == (
        "repeating a 1-character text 100,000 times builds 100,000 characters, "
        "over the limit of 65,536"
    )
    assert failure("{{ ('x' * 60000) * 2 }}") == (
        "repeating a 60,000-character text 2 times builds 120,000 characters, "
        "over the limit of 65,536"
    )
    assert failure("{{ 10**10 * [1] }}") == (
        "repeating a 1-item list 10,000,000,000 times builds a list of size 90,000,000,000, "
        "over the limit of 65,536 (8 for each item, and its characters)"
    )
    assert failure("{{ ('x' * 30000) | list }}") == (
        "the template builds a list of 30,000 items, over the size limit of 65,536 "
        "(8 for each item, and its characters)"
    )
    assert render({"s": "{{ ('ab' * 16384) | length }}"}, ROW) == {"s": 32768}


@pytest.mark.parametrize(
    "template",
    [
        "{{ ((10**999)**999)**999 }}",
        "{{ 2 ** 10000000 }}",
        "{{ 10**999 * 10**999 * 10**999 * 10**999 * 10**999 }}",
        "{{ (10**999 * 10**999 * 10**999 * 10**999 * 10**999) | string }}",
        "x{{ 3 ** 9999 }}",
    ],
)
def test_integers_over_4300_digits_are_refused(template: str) -> None:
    assert failure(template) == "the template builds an integer of more than 4,300 digits"


def test_integers_up_to_4300_digits_work() -> None:
    assert render({"n": "{{ (10 ** 4299) | string | length }}"}, ROW) == {"n": 4300}
    assert render({"n": "{{ 2 ** 10 }}", "s": "{{ '-' * 3 }}", "m": "{{ 6 * 7 }}"}, ROW) == {
        "n": 1024,
        "s": "---",
        "m": 42,
    }


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ '%*s' % (3000000000, 'x') }}", "formatting text with % is not allowed"),
        ("{{ 'x' ~ ('y' * 60000) ~ ('z' * 60000) }}", "the template builds a value of 120,001"),
        ("{{ ('y' * 60000) + ('z' * 60000) }}", "the template builds a value of 120,000"),
        ("{{ ('y' * 60000) | replace('y', 'yy') }}", "the template builds a value of 120,000"),
        ("{{ row.slot | replace('', 'x' * 60000) }}", "the template builds a value of 360,005"),
        ("{{ ([1] * 3000) | join('x' * 60000) }}", "the template builds a value of 120,003"),
        ("{{ 5 | round(-10**9) }}", "round precision -1000000000 is outside -100..100"),
    ],
)
def test_operators_and_filters_that_could_blow_up_are_bounded(template: str, message: str) -> None:
    assert failure(template).startswith(message)


def test_every_value_is_at_most_64_kib() -> None:
    big = "я" * 40_000  # 80,000 bytes as UTF-8
    assert failure("{{ row.big }}", {"big": big}) == (
        "the value is 80,000 bytes as UTF-8, over the limit of 65,536"
    )
    assert failure("{{ row.big }}", {"big": ["x" * 40_000, "y" * 40_000]}) == (
        "the value is 80,007 bytes as JSON, over the limit of 65,536"
    )
    assert failure("a{{ row.big }}", {"big": "x" * 70_000}) == (
        "the value has 70,001 characters, over the limit of 65,536 bytes"
    )
    assert (
        refusal("x" * 70_000) == "the value has 70,000 characters, over the limit of 65,536 bytes"
    )


def test_each_rows_work_is_bounded() -> None:
    templates = {f"k{i}": "{{ ('x' * 60000) | length }}" for i in range(10)}
    renderer = compile_add_data(campaign(templates))
    with pytest.raises(AddDataError) as info:
        renderer.render(ROW, {})
    budget = (
        f"the row's templates read and build more than {MAX_ROW_WORK:,} characters of values; "
        "keep each row's work small"
    )
    assert info.value.failures == [(f"k{i}", budget) for i in range(8, 10)]
    # What a filter, test or operator reads counts before it runs: `int` would say 'not a
    # number' had it run on the 2,000,000 digits.
    big = {"big": "9" * 2_000_000}
    for template in ("{{ row.big | int }}", "{{ row.big is string }}", "{{ row.big + '' }}"):
        with pytest.raises(AddDataError) as info:
            render({"n": template}, big)
        assert info.value.failures == [("n", budget)], template


def test_budget_is_fresh_for_each_row() -> None:
    renderer = compile_add_data(
        campaign({f"k{i}": "{{ ('x' * 60000) | length }}" for i in range(7)})
    )
    for _ in range(3):
        assert renderer.render(ROW, {}) == {f"k{i}": 60000 for i in range(7)}


@pytest.mark.parametrize(
    "template",
    ["{{ row.last_name }}\ud800", "\ud800{{ row.last_name }}", "{{ row.last_name ~ '\ud800' }}"],
)
def test_a_lone_surrogate_in_a_template_is_a_compile_error(template: str) -> None:
    assert refusal(template) == (
        "the template contains '\\ud800', a lone surrogate that UTF-8 cannot encode"
    )


def test_a_lone_surrogate_anywhere_sent_is_a_located_error() -> None:
    assert (
        refusal("a\udfffb")
        == "the value contains '\\udfff', a lone surrogate that UTF-8 cannot encode"
    )
    assert refusal(["ok", "\ud800"]) == (
        "the value contains '\\ud800', a lone surrogate that UTF-8 cannot encode"
    )
    assert failure("{{ row.name }}", {"name": "x\ud800"}) == (
        "the value contains '\\ud800', a lone surrogate that UTF-8 cannot encode"
    )
    assert failure("{{ row.tags }}", {"tags": ["\ud800"]}) == (
        "the value contains '\\ud800', a lone surrogate that UTF-8 cannot encode"
    )
    subject = campaign({"\ud800": 1, "ok": "{{ row.a"})
    subject = dataclasses.replace(subject, title="T\ud800", description="\udc00")
    with pytest.raises(RenderError) as info:
        compile_add_data(subject)
    assert [str(p) for p in info.value.problems] == [
        f"{MANIFEST}:1:1: description: the description contains '\\udc00', "
        "a lone surrogate that UTF-8 cannot encode",
        f"{MANIFEST}:1:1: title: the title contains '\\ud800', "
        "a lone surrogate that UTF-8 cannot encode",
        f"{MANIFEST}:20:11: add_data: the key contains '\\ud800', "
        "a lone surrogate that UTF-8 cannot encode",
        f"{MANIFEST}:21:11: add_data.ok: invalid template: unexpected end of template, "
        "expected 'end of print statement'.",
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("N/A", "'N/A'"),
        ("", "''"),
        ("12abc", "'12abc'"),
        ("1 000", "'1 000'"),
        (None, "None"),
        ("+7 999 123-45-67", "'+7 999 ***-**-67'"),
    ],
)
def test_int_and_float_fail_on_a_value_that_is_not_a_number(value: Any, shown: str) -> None:
    for kind in ("int", "float"):
        assert failure(f"{{{{ row.x | {kind} }}}}", {"x": value}) == (
            f"{shown} is not a number (| {kind}); give a default to use instead, "
            f"e.g. | {kind}(default=0)"
        )


def test_int_and_float_defaults_still_apply_when_given() -> None:
    row = {"x": "N/A", "n": "42", "f": "2.5", "u": "1_000", "s": " 7 "}
    assert render(
        {
            "kw": "{{ row.x | int(default=0) }}",
            "pos": "{{ row.x | int(-1) }}",
            "none": "{{ row.x | int(default=none) }}",
            "fkw": "{{ row.x | float(default=0.5) }}",
            "fpos": "{{ row.x | float(1) }}",
            "n": "{{ row.n | int }}",
            "f": "{{ row.f | int }}",  # Jinja's "42.23" | int -> 42, kept
            "ff": "{{ row.f | float }}",
            "u": "{{ row.u | int }}",  # Python's int() reads underscores, as Jinja does
            "s": "{{ row.s | int }}",
            "hex": "{{ '0x1A' | int(0, 16) }}",
        },
        row,
    ) == {
        "kw": 0,
        "pos": -1,
        "none": None,
        "fkw": 0.5,
        "fpos": 1,
        "n": 42,
        "f": 2,
        "ff": 2.5,
        "u": 1000,
        "s": 7,
        "hex": 26,
    }


def test_refused_templates_are_reported_at_their_keys() -> None:
    with pytest.raises(RenderError) as info:
        compile_add_data(campaign({"a": "{% include 'x' %}", "b": "{% import 'm' as m %}"}))
    assert [str(p) for p in info.value.problems] == [
        f"{MANIFEST}:20:11: add_data.a: {{% include %}} is a statement: {STATEMENT_HINT}",
        f"{MANIFEST}:21:11: add_data.b: {{% import %}} is a statement: {STATEMENT_HINT}",
    ]


def test_every_syntax_error_is_reported_at_its_key() -> None:
    with pytest.raises(RenderError) as info:
        compile_add_data(
            campaign(
                {"ok": "{{ row.a }}", "bad": "{{ row.a ", "filter": "{{ row.a | nosuchfilter }}"}
            )
        )
    problems = [str(p) for p in info.value.problems]
    assert len(problems) == 2
    assert problems[0].startswith(f"{MANIFEST}:21:11: add_data.bad: invalid template: ")
    assert problems[1] == (
        f"{MANIFEST}:22:11: add_data.filter: the filter 'nosuchfilter' is unknown in add_data "
        f"templates (allowed filters: {ALLOWED_FILTERS})"
    )


def test_non_json_results_are_errors() -> None:
    assert failure("{{ row.keys }}") == (
        "the expression gives a builtin_function_or_method, which is not a JSON value; "
        "convert it, e.g. with | string or | list"
    )
    assert render({"r": "{{ [3, 1, 2] | reverse | list }}"}, ROW) == {"r": [2, 1, 3]}


def test_runtime_errors_are_reported_not_raised_raw() -> None:
    assert failure("{{ 1 // (row.contract | int - 123456) }}") == (
        "template failed: ZeroDivisionError: integer division or modulo by zero"
    )


# The compiled templates must give exactly what Jinja gives (or fail the same way). The reference
# is Jinja itself with the same filter functions (strict int and float, bounded replace).
REFERENCE = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
REFERENCE.filters.update(FILTERS)
EQUIVALENCE_TEMPLATES = [
    "{{ row.name }}",
    "{{ row['name'] }}",
    "{{ row.n }}",
    "{{ row.missing }}",
    "{{ row.missing | default('x') }}",
    "{{ row.name | default('x') }}",
    "{{ row.n | int }}",
    "{{ row.s | int }}",
    "{{ row.s | int(7) }}",
    "{{ row.s | int(default=7) }}",
    "{{ row.s | float }}",
    "{{ row.s | float(default=1.5) }}",
    "{{ row.name | upper }}",
    "{{ row.name | trim | lower }}",
    "{{ row.nested.k }}",
    "{{ row.nested['k'] }}",
    "{{ row.items }}",
    "{{ row['items'] }}",
    "{{ row.keys }}",
    "{{ row.none }}",
    "Привет, {{ row.name }}!",
    "{{ row.name }} {{ row.n }}",
    "{{ row.none }}-{{ row.n }}",
    "{{ row['1'] }}",
    "{{ row[1] }}",
    "<{{ row.missing }}>",
    "{{ row.n }}{{ row.name }}{{ 'x' }}. {{ vars.v }}",
    "{% raw %}{{ row.n }}{% endraw %} and {{ row.n }}",
    "{{ row.tags }}",
    "{{ row.tags[0] }}",
    "{{ row.tags.0 }}",
    "{{ 'lit' }}",
    "{{ 5 }}",
    "{{ row.missing | default(row.name) }}",
    "{{ row.s | round }}",
    "{{ row.name | replace('a', 'b') }}",
    "{{ row.name | title }}",
    "{{ row.n | string }}",
    "{{ row.nested.missing }}",
    "{{ row.missing.deeper }}",
    "{{ vars.v }}",
    "{{ vars.nope }}",
    # The rest of the allowed filters and tests, operators, literals and inline ifs.
    "{{ row.n | abs }}",
    "{{ row.name | capitalize }}",
    "{{ row.tags | count }}",
    "{{ row.missing | d('dflt') }}",
    "{{ row.name | default('x', true) }}",
    "{{ row.tags | first }}",
    "{{ row.tags | last }}",
    "{{ row.tags | join(', ') }}",
    "{{ row.people | join('/', attribute='name') }}",
    "{{ row.name | length }}",
    "{{ row.name | list }}",
    "{{ row.tags | max }}",
    "{{ row.tags | min }}",
    "{{ row.name | replace('n', 'N', 1) }}",
    "{{ row.name | reverse }}",
    "{{ 2.567 | round(2) }}",
    "{{ 2.561 | round(1, 'ceil') }}",
    "{{ row.tags | sort | join }}",
    "{{ row.people | sort(attribute='name') | first }}",
    "{{ 'hello big world' | truncate(9, true, '..', 0) }}",
    "{{ row.name | wordcount }}",
    "{{ row.n is odd }}",
    "{{ row.n is even }}",
    "{{ row.n is divisibleby 3 }}",
    "{{ row.missing is defined }}",
    "{{ row.missing is undefined }}",
    "{{ row.none is none }}",
    "{{ row.n is number }}",
    "{{ row.name is string }}",
    "{{ row.n is in [0, 3] }}",
    "{{ row.n is eq 3 }}",
    "{{ row.n is ge 1 }}",
    "{{ row.name is lower }}",
    "{{ row.nested is mapping }}",
    "{{ row.n + 1 }}",
    "{{ row.n - 1.5 }}",
    "{{ row.n * 2 }}",
    "{{ row.n / 2 }}",
    "{{ row.n // 2 }}",
    "{{ row.n % 2 }}",
    "{{ row.n ** 3 }}",
    "{{ -row.n }}",
    "{{ +row.n }}",
    "{{ row.name ~ '/' ~ row.n }}",
    "{{ row.name + row.s }}",
    "{{ row.name * 2 }}",
    "{{ 1 < row.n < 5 }}",
    "{{ 0 < row.n == 3 }}",
    "{{ row.n != 3 }}",
    "{{ 'a' in row.tags }}",
    "{{ 'a' not in row.tags }}",
    "{{ row.n > 1 and row.name }}",
    "{{ row.n > 1 or row.name }}",
    "{{ not row.tags }}",
    "{{ 'yes' if row.n else 'no' }}",
    "{{ 'yes' if row.n }}",
    "x{{ 'yes' if row.n }}y",
    "{{ row.missing if row.n else 'no' }}",
    "{{ [row.n, row.s] }}",
    "{{ (row.n, row.s) }}",
    "{{ {'k': row.n, 'name': row.name} }}",
    "{{ row.name[1:3] }}",
    "{{ row.tags[::-1] }}",
    "{{ row[vars.v] }}",
    "{{ row.tags[row.n - 3] }}",
    "{{ row.n | string ~ row.name }}",
    "{{ (row.n * 2) | string | length }}",
]
EQUIVALENCE_ROWS = [
    {
        "name": " Anna ",
        "n": 3,
        "s": "12",
        "nested": {"k": "v"},
        "items": "col",
        "none": None,
        "tags": ["a", "b"],
        "people": [{"name": "Ян"}, {"name": "Ал"}],
        "1": "one",
    },
    {
        "name": "Иван",
        "n": 0,
        "s": "x",
        "nested": {},
        "none": None,
        "tags": [],
        "people": [],
        "1": "uno",
    },
]


def _jinja(template: str, row: dict[str, Any]) -> tuple[str, Any]:
    stripped = template.strip()
    single = stripped.startswith("{{") and stripped.endswith("}}") and template.count("{{") == 1
    try:
        if single:
            value = REFERENCE.compile_expression(stripped[2:-2], undefined_to_none=False)(
                row=row, vars={"v": "1"}
            )
            str(value)  # strict undefined fails on use
            return "ok", value
        return "ok", REFERENCE.from_string(template).render(row=row, vars={"v": "1"})
    except Exception as exc:
        return "error", type(exc).__name__


def _ours(template: str, row: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", compile_value(template)(row, Vars({"v": "1"}), Budget())
    except Exception as exc:
        return "error", type(exc).__name__


def _json_like(value: Any) -> Any:
    """What JSON carries of a reference value: tuples are lists."""
    if isinstance(value, tuple | list):
        return [_json_like(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_like(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("template", EQUIVALENCE_TEMPLATES)
def test_compiled_templates_match_jinja(template: str) -> None:
    for row in EQUIVALENCE_ROWS:
        ours, reference = _ours(template, dict(row)), _jinja(template, dict(row))
        if ours == ("error", "TemplateValueError") and reference[0] == "ok":
            # A value JSON cannot carry (a method, an iterator, the implicit else's
            # Undefined): the reference renders or returns it as it is.
            assert callable(reference[1]) or isinstance(reference[1], Iterator | Undefined)
            continue
        assert ours[0] == reference[0], (template, row, ours, reference)
        assert ours[1] == _json_like(reference[1]), (template, row)
        assert type(ours[1]) is type(_json_like(reference[1])), (template, row)


def test_a_template_text_is_compiled_once_and_its_evaluator_shared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compiled = counting_compiles(monkeypatch)
    template = "{{ row.first_name | upper }} {{ vars.city }}"
    first = compile_value(template)
    assert compile_value(template) is first
    assert compile_add_data(campaign({"a": template, "b": template})).render(
        ROW, {"city": "Omsk"}
    ) == {"a": "ИВАН Omsk", "b": "ИВАН Omsk"}
    assert compiled == [template]
    # Shared, it still renders each row by itself: nothing is kept from the row before.
    assert first({"first_name": "ann"}, Vars({"city": "Ufa"}), Budget()) == "ANN Ufa"
    assert first({"first_name": "bob"}, Vars({"city": "Tver"}), Budget()) == "BOB Tver"


def test_literals_are_not_cached_nor_confused_with_templates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compiled = counting_compiles(monkeypatch)
    # A literal list holding a template's text is a literal, not that template.
    assert compile_value(["{{ 1 }}"])({}, Vars(), Budget()) == ["{{ 1 }}"]
    assert compile_value("{{ 1 }}")({}, Vars(), Budget()) == 1
    assert compile_value(1)({}, Vars(), Budget()) == 1
    assert compiled == ["{{ 1 }}"]


def test_a_refused_template_repeated_is_refused_each_time_and_compiled_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compiled = counting_compiles(monkeypatch)
    template = "{{ row.name | attr('x') }}"
    messages = []
    for _ in range(3):
        with pytest.raises(compiler.TemplateProblem) as info:
            compile_value(template)
        messages.append(str(info.value))
    assert messages == [messages[0]] * 3
    assert "the filter 'attr' is not allowed" in messages[0]
    assert compiled == [template]
    with pytest.raises(RenderError) as failed:
        compile_add_data(campaign({f"k{i}": template for i in range(5)}))
    assert [p.message for p in failed.value.problems] == [messages[0]] * 5
    assert compiled == [template]
