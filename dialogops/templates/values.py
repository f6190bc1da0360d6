"""The values templates send: JSON values within the size bounds, as text UTF-8 can carry.

Literals, each expression's result and the text around expressions all pass through here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from jinja2 import Undefined

from dialogops.templates.bounds import (
    INT_BITS,
    MAX_VALUE_BYTES,
    TemplateValueError,
    over_digits,
    too_many_digits,
)


def check_text(text: str, what: str) -> None:
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
            check_text(value, "the value")
        return value
    plain = json_value(value)
    kind = type(plain)
    if kind is str:
        check_text(plain, "the value")
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
        if value.bit_length() > INT_BITS and over_digits(value):
            raise too_many_digits()
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
