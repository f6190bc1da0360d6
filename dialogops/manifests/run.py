"""What one validation run accumulates: the valid records, every problem, the names seen.

Each check module adds to the `Run`; `Located` finds where a value is written in a
document whose spec may hold values merged in from dialogops.yaml.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dialogops.datafiles import FileProblem, Inspection
from dialogops.errors import Location, Problem, Rule, Severity
from dialogops.specs import Campaign, Config, Marks, Report
from dialogops.yamlio import Document, FieldPath, format_field, nearest

NO_MARKS: tuple[Marks, Marks] = ({}, {})


class Located:
    """Positions in a document, falling back on where merged config values are written."""

    def __init__(self, doc: Document, extra: tuple[Marks, Marks] = NO_MARKS) -> None:
        self.doc = doc
        self.extra_marks, self.extra_keys = extra

    def at(self, path: FieldPath) -> Location:
        return nearest(path, self.doc.marks, self.extra_marks) or self.doc.location

    def key_at(self, path: FieldPath) -> Location:
        return self.doc.key_marks.get(path) or self.extra_keys.get(path) or self.at(path)


class Run:
    """Records and problems over all documents of one run."""

    def __init__(self, config: Config, today: dt.date, *, defer_data_files: bool = False) -> None:
        self.config = config
        self.today = today
        # Phone files are left to the render to read and check (see `FileChecks`).
        self.defer_data_files = defer_data_files
        self.campaigns: list[Campaign] = []
        self.reports: list[Report] = []
        self.problems: list[Problem] = []
        # (kind, metadata.name) -> where the first document of that name is
        self.names: dict[tuple[str, str], Location] = {}
        # Report campaign references, checked once every Campaign is known: the Report
        # (None when invalid), the campaign named and where
        self.report_refs: list[tuple[Report | None, str, Location]] = []
        # Phone files inspected so far, so campaigns sharing one read it once
        self.data_files: dict[tuple[Any, ...], Inspection | FileProblem] = {}

    def forget_findings(self) -> None:
        """Drop the records, problems and Report references found so far, keeping the names
        seen: the files checked until now were context for the ones to come."""
        self.campaigns.clear()
        self.reports.clear()
        self.problems.clear()
        self.report_refs.clear()

    @property
    def errors(self) -> int:
        """How many errors were found so far: a record is kept only if its checks add none."""
        return sum(1 for p in self.problems if p.is_error)

    def problem(
        self,
        where: Location,
        path: FieldPath,
        message: str,
        rule: Rule,
        severity: Severity = "error",
    ) -> None:
        self.problems.append(Problem(where, format_field(path), message, rule, severity))
