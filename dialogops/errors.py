"""The exception tree and the collected-problem records.

    DialogOpsError            anything a user can fix; the CLI prints it and exits 1
    ├── ManifestError         manifests or config could not be loaded or are invalid
    │                         (carries every Problem found, not just the first)
    ├── RenderError           phones or add_data could not be rendered (carries Problems)
    ├── StateError            state file missing pieces, corrupt, locked, stale plan
    ├── ApiError              the Dialog API answered with an error (carries status)
    └── UsageError            a command was called in a way that cannot work

Validation problems are *collected* as `Problem` records and raised together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Location:
    """Where something is written: a file and a 1-based line and column."""

    path: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the user's input, printed as `path:line:col: field: message`."""

    location: Location
    field: str
    message: str

    def __str__(self) -> str:
        field = f" {self.field}:" if self.field else ""
        return f"{self.location}:{field} {self.message}"


class DialogOpsError(Exception):
    """Base of every error a user can act on; the message is shown as is."""


class ProblemsError(DialogOpsError):
    """Several problems found in one pass, reported together, sorted by file and line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


class ManifestError(ProblemsError):
    """Manifests, data files or the project config are invalid."""


class RenderError(ProblemsError):
    """Phone numbers or add_data templates could not be rendered."""


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
