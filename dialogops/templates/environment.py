"""The one Jinja2 environment templates are parsed and evaluated with: the sandbox's lookups
(no `_` attributes, no mutating methods), a strict undefined that names the missing field,
and `Vars`, the type of the `--var` values. No loader: nothing can be read from files.
"""

from __future__ import annotations

from collections.abc import Mapping

from jinja2 import StrictUndefined, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing

_SHOWN_FIELDS = 12


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


# The parser, the sandboxed attribute and item lookups, the undefined type, and Jinja's own
# filter and test functions.
ENVIRONMENT = ImmutableSandboxedEnvironment(undefined=_Undefined, autoescape=False)
EVAL_CONTEXT = nodes.EvalContext(ENVIRONMENT)
