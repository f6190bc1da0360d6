"""The JSON Schemas (Draft 2020-12) of Campaign, Report and config documents.

The schema files are resources of this package (`<kind>.schema.json` beside this module),
read with importlib.resources in a checkout and in an installed wheel alike. This module
also maps jsonschema's errors to located `Problem`s with "did you mean" hints.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from dialogops.errors import Location, Problem, Rule, UsageError
from dialogops.yamlio import FieldPath, format_field

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

KINDS = ("campaign", "report", "config")


def schema_text(kind: str) -> str:
    """The schema file's text, exactly as shipped."""
    if kind not in KINDS:
        raise UsageError(f"unknown schema {kind!r}: choose one of {', '.join(KINDS)}")
    return resources.files(__name__).joinpath(f"{kind}.schema.json").read_text(encoding="utf-8")


@cache
def load_schema(kind: str) -> dict[str, Any]:
    """The schema as a dict."""
    schema: dict[str, Any] = json.loads(schema_text(kind))
    return schema


@cache
def validator(kind: str) -> Draft202012Validator:
    """A validator for `kind`, built once per process."""
    # Imported here: `dialogops schema` and `--version` print without validating, and
    # jsonschema is the slowest import dialogops has.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(kind))


Locator = Callable[[FieldPath], Location]

_PATTERN_HINTS = {
    "^[a-z0-9][a-z0-9._-]{0,99}$": (
        "is not a valid name: use lowercase letters, digits, '.', '_' and '-', "
        "starting with a letter or digit, at most 100 characters"
    ),
    "^([01][0-9]|2[0-3]):[0-5][0-9]$": "is not a time HH:MM between 00:00 and 23:59",
    "^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9])$": (
        "is not a window HH:MM-HH:MM such as 08:00-22:00"
    ),
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "is not a date YYYY-MM-DD",
    "^[A-Z]{2}$": "is not a two-letter country code such as RU",
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?"
    "([Zz]|[+-][0-9]{2}:?[0-9]{2})?$": (
        "is not an ISO 8601 date-time such as 2099-12-01T00:00:00+05:00"
    ),
    "^https?://": "is not an http:// or https:// URL",
    "^[A-Za-z_][A-Za-z0-9_]*$": "is not an environment variable name such as DIALOGOPS_STATE_DSN",
    "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$": (
        "is not a workspace name: letters, digits, `.`, `_` and `-`, starting with a letter or "
        "digit, at most 63 characters"
    ),
    "^[a-z_][a-z0-9_]{0,62}$": (
        "is not a schema name: lowercase letters, digits and `_`, not starting with a digit, "
        "at most 63 characters"
    ),
    "^[^\\u0000]*$": "holds a NUL character, which no path can",
}


def check(kind: str, data: Any, at: Locator, key_at: Locator) -> list[Problem]:
    """Every schema violation of `data` as a Problem placed on the offending node.

    `at` gives where the value at a path is written, `key_at` where its key is.
    """
    problems: list[Problem] = []
    for error in validator(kind).iter_errors(data):
        problems.extend(_explain(error, at, key_at))
    return problems


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for a near miss, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _explain(error: ValidationError, at: Locator, key_at: Locator) -> Iterator[Problem]:
    path: FieldPath = tuple(error.absolute_path)
    instance = error.instance
    rule = error.validator
    # jsonschema types these as possibly unset; a raised error always has them.
    rule_value: Any = error.validator_value
    schema: Any = error.schema
    if rule == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        for key in instance:
            if key not in allowed:
                key_path = (*path, key)
                message = f"unknown key {key!r}{did_you_mean(key, allowed)}"
                yield Problem(key_at(key_path), format_field(key_path), message, Rule.SCHEMA)
    elif rule == "required" and isinstance(instance, dict):
        for name in rule_value:
            if name not in instance:
                where = key_at(path) if path else at(path)
                yield Problem(
                    where, format_field(path), f"{name!r} is a required property", Rule.SCHEMA
                )
    elif rule == "oneOf" and isinstance(instance, dict):
        yield _one_of(rule_value, path, instance, at, key_at)
    elif rule == "not" and path and path[-1] == "filter" and isinstance(instance, dict):
        value_path = (*path, "value")
        message = f"filter type {instance.get('type')!r} takes no value"
        yield Problem(key_at(value_path), format_field(value_path), message, Rule.SCHEMA)
    elif rule == "pattern" and rule_value in _PATTERN_HINTS:
        message = f"{instance!r} {_PATTERN_HINTS[rule_value]}"
        yield Problem(at(path), format_field(path), message, Rule.SCHEMA)
    elif rule == "enum" and isinstance(instance, str):
        choices = [str(c) for c in rule_value]
        shown = ", ".join(repr(c) for c in choices)
        message = f"{instance!r} is not one of {shown}{did_you_mean(instance, choices)}"
        yield Problem(at(path), format_field(path), message, Rule.SCHEMA)
    else:
        yield Problem(at(path), format_field(path), error.message, Rule.SCHEMA)


def _one_of(
    options: list[dict[str, Any]],
    path: FieldPath,
    instance: dict[str, Any],
    at: Locator,
    key_at: Locator,
) -> Problem:
    # The schemas use oneOf only for "exactly one of these keys".
    keys = [key for option in options for key in option.get("required", ())]
    present = [key for key in keys if key in instance]
    field = format_field(path)
    if not present:
        listed = ", ".join(keys[:-1]) + f" or {keys[-1]}"
        return Problem(
            key_at(path) if path else at(path), field, f"one of {listed} is required", Rule.SCHEMA
        )
    listed = " and ".join(present)
    message = f"only one of {', '.join(keys)} may be given, found {listed}"
    return Problem(key_at((*path, present[1])), field, message, Rule.SCHEMA)
