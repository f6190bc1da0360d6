"""`dialogops report`: run Report manifests and write their rows where the options say.

Every request is resolved against the state before the first is sent; rows stream from
the answer to the output, whose file is replaced only once the whole answer checked out.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from dialogops.commands.project import ProjectFiles
from dialogops.commands.wiring import open_client, state_backend
from dialogops.errors import UsageError
from dialogops.localhours.reports import per_part
from dialogops.manifests import load_project
from dialogops.report.outputs import check_excel, write_file, write_report
from dialogops.report.request import ReportRequest, build_request
from dialogops.report.response import AnalyticsClient, ReportTotals, StreamedReport
from dialogops.specs import OutputFormat, Project, Report, ReportOutput
from dialogops.views import report as view

# `--out -` means standard output.
STDOUT = Path("-")
SUFFIX_OUTPUT_FORMATS: Mapping[str, OutputFormat] = {
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".md": "markdown",
    ".markdown": "markdown",
}


@dataclass(frozen=True)
class ReportCommand:
    """`dialogops report` as parsed from the command line."""

    files: ProjectFiles = field(default_factory=ProjectFiles)
    names: tuple[str, ...] = ()
    all: bool = False
    format: OutputFormat | None = None
    out: Path | None = None
    excel: bool = False
    no_color: bool = False


@dataclass(frozen=True)
class ReportOutcome:
    """What a finished report wrote, for the command to tell the user."""

    name: str
    format: OutputFormat
    path: Path | None
    totals: ReportTotals

    @property
    def totals_shown(self) -> bool:
        """The table and Markdown end with the totals; on stdout the user has seen them."""
        return self.path is None and self.format in ("table", "markdown")


def run(command: ReportCommand) -> int:
    """Run each report named (or all of them) and write its output."""
    if command.out not in (None, STDOUT) and (command.all or len(command.names) > 1):
        raise UsageError("--out takes one report; with several, use each manifest's output.path")
    files = command.files
    config = files.load_config()
    project = load_project(list(config.manifests), config)
    state = state_backend(config, sandbox=files.sandbox).read()
    reports = per_part(select_reports(project, command.names, command.all), state)
    requests = [build_request(r, project, state, hints=files.hints) for r in reports]
    with open_client(config, sandbox=files.sandbox) as client:
        for report, request in zip(reports, requests, strict=True):
            outcome = run_report(
                report,
                request,
                client,
                fmt=command.format,
                out=command.out,
                excel=command.excel,
                no_color=command.no_color,
                stdout=sys.stdout,
            )
            if not outcome.totals_shown:
                view.finished(outcome.name, outcome.totals, outcome.path)
    return 0


def select_reports(project: Project, names: Sequence[str], every: bool) -> tuple[Report, ...]:
    if every and names:
        raise UsageError("give report names or --all, not both")
    if every:
        if not project.reports:
            raise UsageError("--all: no Report manifests were found")
        return project.reports
    if not names:
        raise UsageError("name the report to run (or pass --all)")
    known = {r.name: r for r in project.reports}
    missing = [n for n in names if n not in known]
    if missing:
        available = ", ".join(sorted(known)) or "none"
        raise UsageError(
            f"no Report manifest named {', '.join(map(repr, missing))} (available: {available})"
        )
    return tuple(known[n] for n in dict.fromkeys(names))


def pick_output(
    option: OutputFormat | None, out: Path | None, manifest: ReportOutput
) -> tuple[OutputFormat, Path | None]:
    """Where and how to write; a `None` path is stdout.

    Without options the manifest's `output` decides. `--format` alone prints to stdout;
    `--out` alone takes its format from its suffix, else the manifest's; `--out -` is stdout.
    """
    if out == STDOUT:
        return option or manifest.format, None
    if out is not None:
        return option or SUFFIX_OUTPUT_FORMATS.get(out.suffix.lower(), manifest.format), out
    if option is not None:
        return option, None
    return manifest.format, manifest.path


def run_report(
    report: Report,
    request: ReportRequest,
    client: AnalyticsClient,
    *,
    fmt: OutputFormat | None = None,
    out: Path | None = None,
    excel: bool = False,
    no_color: bool = False,
    stdout: TextIO,
) -> ReportOutcome:
    """Send `request` and write the rows to `out` (else the manifest's path) or `stdout`."""
    chosen, path = pick_output(fmt, out, report.output)
    check_excel(chosen, excel)
    with (
        client.open_report(request.project_id, request.body) as answer,
        StreamedReport(answer, report.columns) as streamed,
    ):

        def write(stream: TextIO, no_color: bool) -> None:
            if chosen == "table":
                view.table(streamed.collect(), stream, title=report.name, no_color=no_color)
            else:
                write_report(streamed, chosen, stream, excel=excel)

        if path is None:
            write(stdout, no_color)
        else:
            write_file(path, chosen, lambda handle: write(handle, True))
    return ReportOutcome(name=report.name, format=chosen, path=path, totals=streamed.totals)
