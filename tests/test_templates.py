"""add_data templates: literals, native single expressions, strict undefined, the sandbox,
compile errors with locations, and the fast path's equivalence with Jinja itself."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from jinja2 import StrictUndefined, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from dialogops.errors import Location, RenderError
from dialogops.specs import Campaign, InlineSource, PhonesSpec, Schedule
from dialogops.templates import (
    ENVIRONMENT,
    AddDataError,
    Vars,
    _fast,
    compile_add_data,
    compile_value,
)

MANIFEST = "campaigns/nps.yaml"


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
        "{{ cycler.__init__ }}",
        "x {{ row.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{% set x = row.__class__ %}{{ x }}",
        "{{ row.update({'a': 1}) }}",
    ],
)
def test_sandbox_escapes_fail_and_render_nothing(template: str) -> None:
    renderer = compile_add_data(campaign({"value": template}))
    with pytest.raises(AddDataError) as info:
        renderer.render(dict(ROW), {})
    [(key, message)] = info.value.failures
    assert key == "value"
    assert message.startswith("not allowed in the template sandbox: ")
    assert "unsafe" in message


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ 2 ** 10000000 }}", "exponent 10000000 is larger than 1000"),
        ("{{ 'x' * 10**10 }}", "repeating a sequence 10000000000 times exceeds 100000"),
        ("{{ 10**10 * [1] }}", "repeating a sequence 10000000000 times exceeds 100000"),
    ],
)
def test_runaway_arithmetic_is_refused_quickly(template: str, reason: str) -> None:
    renderer = compile_add_data(campaign({"value": template}))
    with pytest.raises(AddDataError) as info:
        renderer.render(dict(ROW), {})
    assert info.value.failures == [("value", f"not allowed in the template sandbox: {reason}")]


def test_bounded_arithmetic_still_works() -> None:
    assert render({"n": "{{ 2 ** 10 }}", "s": "{{ '-' * 3 }}", "m": "{{ 6 * 7 }}"}, ROW) == {
        "n": 1024,
        "s": "---",
        "m": 42,
    }


def test_loading_other_templates_is_refused_at_compile_time() -> None:
    with pytest.raises(RenderError) as info:
        compile_add_data(campaign({"a": "{% include 'x' %}", "b": "{% import 'm' as m %}"}))
    assert [str(p) for p in info.value.problems] == [
        f"{MANIFEST}:20:11: add_data.a: templates cannot include, import or extend other templates",
        f"{MANIFEST}:21:11: add_data.b: templates cannot include, import or extend other templates",
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
        f"{MANIFEST}:22:11: add_data.filter: invalid template: No filter named 'nosuchfilter'."
    )


def test_non_json_results_are_errors() -> None:
    with pytest.raises(AddDataError) as info:
        render({"r": "{{ range(3) }}"}, ROW)
    assert "is not a JSON value" in info.value.failures[0][1]


def test_runtime_errors_are_reported_not_raised_raw() -> None:
    with pytest.raises(AddDataError) as info:
        render({"d": "{{ 1 // (row.contract | int - 123456) }}"}, ROW)
    assert info.value.failures == [
        ("d", "template failed: ZeroDivisionError: integer division or modulo by zero")
    ]


# The fast path must give exactly what Jinja gives (or fail the same way).
REFERENCE = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
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
    "{{ row.s | float }}",
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
    },
    {"name": "Иван", "n": 0, "s": "x", "nested": {}, "none": None, "tags": []},
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
        return "ok", compile_value(template)(row, Vars({"v": "1"}))
    except Exception as exc:
        return "error", type(exc).__name__


@pytest.mark.parametrize("template", EQUIVALENCE_TEMPLATES)
def test_fast_path_matches_jinja(template: str) -> None:
    for row in EQUIVALENCE_ROWS:
        ours, reference = _ours(template, dict(row)), _jinja(template, dict(row))
        if ours[0] == "ok" and reference[0] == "ok" and callable(reference[1]):
            # A dict method (row.keys): both give the bound method of the same row dict.
            assert callable(ours[1])
            continue
        if ours == ("error", "_NotJson"):
            # A value JSON cannot carry (a method): the reference renders its repr.
            assert reference[0] == "ok"
            continue
        assert ours == reference, (template, row)


@pytest.mark.parametrize(
    ("template", "fast"),
    [
        ("{{ row.name }}", True),
        ("{{ row['name'] | default('x') }}", True),
        ("{{ row.n | int }}", True),
        ("{{ vars.v | upper }}", True),
        ("{{ row.name | replace('a', 'b') }}", False),  # takes the eval context
        ("{{ row.n + 1 }}", False),
        ("{{ cycler.__init__ }}", False),
    ],
)
def test_which_expressions_take_the_fast_path(template: str, fast: bool) -> None:
    [output] = ENVIRONMENT.parse(template).body
    assert isinstance(output, nodes.Output)
    assert (_fast(output.nodes[0]) is not None) is fast
