"""add_data templates: text with `{{ expression }}` parts, each compiled once into a function.

Jinja2 parses them; statements, calls, names other than `row` and `vars`, and filters and
tests outside a bounded allow-list are refused when compiled (at validate). Evaluation
makes the calls Jinja's generated code makes, bounding every value built (64 KiB, 4,300
digits) and each row's work, so no manifest can stall a run or exhaust its memory.

    environment.py  the one sandboxed Jinja2 environment, its strict undefined, `Vars`
    compiler.py     parsing and what a template may hold; each node to its source
    codegen.py      the Python source of each node, making the calls Jinja's generated
                    code makes; a template's source compiled into one function
    filters.py      the allowed filters and tests, strict `int` and `float`
    bounds.py       the size, digit and per-row work bounds; the bounded operators
    values.py       the JSON values sent, within the bounds
    renderer.py     a campaign's add_data compiled, rendered row by row
"""

from __future__ import annotations

from dialogops.templates.bounds import (
    ITEM_SIZE,
    MAX_ROW_WORK,
    MAX_VALUE_BYTES,
    Budget,
    TemplateValueError,
)
from dialogops.templates.compiler import MAX_DEPTH, compile_value, is_template
from dialogops.templates.environment import Vars
from dialogops.templates.filters import FILTERS, MAX_ROUND_PRECISION, TESTS
from dialogops.templates.renderer import (
    AddDataError,
    AddDataRenderer,
    compile_add_data,
    compile_valid,
    describe,
)
from dialogops.templates.values import json_value

__all__ = [
    "FILTERS",
    "ITEM_SIZE",
    "MAX_DEPTH",
    "MAX_ROUND_PRECISION",
    "MAX_ROW_WORK",
    "MAX_VALUE_BYTES",
    "TESTS",
    "AddDataError",
    "AddDataRenderer",
    "Budget",
    "TemplateValueError",
    "Vars",
    "compile_add_data",
    "compile_valid",
    "compile_value",
    "describe",
    "is_template",
    "json_value",
]
