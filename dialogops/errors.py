"""The exception tree and the collected-problem records.

    DialogOpsError            anything a user can fix; the CLI prints it and exits 1
    ├── ManifestError         manifests or config could not be loaded or are invalid
    │                         (carries every Problem found, not just the first)
    ├── RenderError           campaigns could not be planned: rendering, policy, past dates
    ├── StateError            state file missing pieces, corrupt, locked, stale plan
    ├── ApiError              the Dialog API answered with an error (carries status)
    └── UsageError            a command was called in a way that cannot work

Validation problems are *collected* as `Problem` records and raised together; each names
the `Rule` it breaks, a stable id for annotations and SARIF. A `Problem` may be only a
warning, which `validate` shows and passes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

# How much a problem matters: an error fails the command; a warning is shown and passes.
Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Location:
    """Where something is written: a file and a 1-based line and column."""

    path: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


class Rule(StrEnum):
    """The kind of rule a problem breaks; the values are ids that tools keep (never rename)."""

    UNREADABLE_FILE = "unreadable-file"
    YAML_SYNTAX = "yaml-syntax"
    YAML_REFUSED = "yaml-refused"
    DUPLICATE_KEY = "duplicate-key"
    DOCUMENT = "document"
    SCHEMA = "schema"
    CONFIG = "config"
    INVALID_DATE = "invalid-date"
    DATE_IN_PAST = "date-in-past"
    TIME_ORDER = "time-order"
    POLICY = "policy"
    DUPLICATE_NAME = "duplicate-name"
    UNKNOWN_CAMPAIGN = "unknown-campaign"
    DATA_FILE = "data-file"
    TEMPLATE = "template"
    RENDER = "render"
    INVALID = "invalid"

    @property
    def description(self) -> str:
        return RULE_DESCRIPTIONS[self]


RULE_DESCRIPTIONS: Mapping[Rule, str] = {
    Rule.UNREADABLE_FILE: (
        "The file cannot be read: no permission, not a regular file (a FIFO, a device), "
        "not UTF-8, or over 4 MiB."
    ),
    Rule.YAML_SYNTAX: "The file is not valid YAML.",
    Rule.YAML_REFUSED: (
        "YAML that dialogops refuses to load: object tags, alias bombs, recursive aliases, "
        "nesting deeper than 64 levels, keys that are not plain values, .nan and .inf, "
        "integers of more than 4,300 digits."
    ),
    Rule.DUPLICATE_KEY: "A key written twice in one mapping.",
    Rule.DOCUMENT: (
        "A document that is not a dialogops manifest: not a mapping, a missing or "
        "unsupported apiVersion, an unknown kind."
    ),
    Rule.SCHEMA: "A value the JSON Schema of its kind does not allow, or a missing one.",
    Rule.CONFIG: (
        "A setting of dialogops.yaml that cannot work: a `manifests` folder missing, outside "
        "the project root, or too large to search."
    ),
    Rule.INVALID_DATE: "A date or date-time that does not exist.",
    Rule.DATE_IN_PAST: "A schedule date before today in the project's timezone.",
    Rule.TIME_ORDER: "An end that is not after its start (calling hours, report period).",
    Rule.POLICY: "A campaign outside the project's policy (calling hours, phones per campaign).",
    Rule.DUPLICATE_NAME: "Two manifests of one kind with the same metadata.name.",
    Rule.UNKNOWN_CAMPAIGN: "A Report naming a Campaign that no manifest defines.",
    Rule.DATA_FILE: (
        "A data file or output path: missing, not a regular file, outside the project root, "
        "not in its encoding (or not a text encoding), without the phone column, or with a "
        "row that is too long or too deeply nested."
    ),
    Rule.TEMPLATE: "An add_data template that does not compile.",
    Rule.RENDER: "A phone number or add_data value that cannot be rendered from its row.",
    Rule.INVALID: "Any other invalid input.",
}


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the user's input, printed as `path:line:col: field: message`.

    `rule` is the kind of problem; it takes no part in ordering or equality. A warning
    reads `path:line:col: warning: field: message`, as compilers print theirs.
    """

    location: Location
    field: str
    message: str
    rule: Rule = dataclasses.field(default=Rule.INVALID, compare=False)
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        field = f" {self.field}:" if self.field else ""
        marker = "" if self.is_error else f" {self.severity}:"
        return f"{self.location}:{marker}{field} {self.message}"


class DialogOpsError(Exception):
    """Base of every error a user can act on; the message is shown as is."""


class ProblemsError(DialogOpsError):
    """Several problems found in one pass, reported together, sorted by file and line.

    A problem created without a rule takes the error's `rule`.
    """

    rule = Rule.INVALID

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(
            sorted(
                dataclasses.replace(p, rule=self.rule) if p.rule is Rule.INVALID else p
                for p in problems
            )
        )
        super().__init__("\n".join(str(p) for p in self.problems))


class ManifestError(ProblemsError):
    """Manifests, data files or the project config are invalid."""


class RenderError(ProblemsError):
    """Campaigns could not be planned: phone numbers or add_data templates that do not
    render, more phones than the policy allows, a past date for a campaign to create."""

    rule = Rule.RENDER


class StateError(DialogOpsError):
    """The state is unreadable, locked, or does not allow the operation."""


class UsageError(DialogOpsError):
    """The command line asks for something that cannot work."""


class ApiError(DialogOpsError):
    """The Dialog API answered with an error, or could not be reached.

    `status` is the HTTP status (None when no response arrived); `server_message` is
    what the server said, already stripped of any credential.
    """

    def __init__(
        self, message: str, *, status: int | None = None, server_message: str = ""
    ) -> None:
        self.status = status
        self.server_message = server_message
        super().__init__(message)
