"""Report checks: the period, the output path, and the Campaign a Report names."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from dialogops import schemas
from dialogops.datafiles import DataFileError, Kind, resolve_inside
from dialogops.errors import Rule
from dialogops.manifests.run import Located, Run
from dialogops.specs import Period, Report, ReportColumn, ReportOutput
from dialogops.yamlio import Document, FieldPath


def check_report(run: Run, doc: Document, keep: bool) -> None:
    """Check a Report document; keep its record when it is valid and `keep` (a Report
    naming a campaign is kept by `cross_check`, once every Campaign is known)."""
    located = Located(doc)
    found = schemas.check("report", doc.data, located.at, located.key_at)
    if found:
        run.problems.extend(found)
        return
    spec: dict[str, Any] = doc.data["spec"]
    before = run.errors
    report = Report(
        name=doc.data["metadata"]["name"],
        location=doc.location,
        scenario_id=spec["scenario_id"],
        columns=tuple(_column(c) for c in spec["columns"]),
        campaign=spec.get("campaign"),
        outgoing_campaign_id=spec.get("outgoing_campaign_id"),
        project_id=spec.get("project_id"),
        start_block_id=spec.get("start_block_id"),
        period=_period(run, spec.get("period"), located),
        output=_output(run, spec.get("output", {}), located),
    )
    if report.outgoing_campaign_id is not None:
        missing = [f for f in ("project_id", "start_block_id", "period") if f not in spec]
        if missing:
            run.problem(
                located.key_at(("spec", "outgoing_campaign_id")),
                ("spec",),
                f"{' and '.join(missing)} must be given with outgoing_campaign_id "
                "(there is no campaign manifest to take them from)",
                Rule.SCHEMA,
            )
    valid = run.errors == before and keep
    if report.campaign is not None:
        where = located.at(("spec", "campaign"))
        run.report_refs.append((report if valid else None, report.campaign, where))
    elif valid:
        run.reports.append(report)


def _period(run: Run, raw: dict[str, Any] | None, located: Located) -> Period | None:
    if raw is None:
        return None
    zone = ZoneInfo(run.config.timezone)
    moments: dict[str, dt.datetime] = {}
    for key in ("start", "end"):
        where: FieldPath = ("spec", "period", key)
        try:
            moment = dt.datetime.fromisoformat(raw[key])
        except ValueError as exc:
            message = f"{raw[key]!r} is not a valid date-time: {exc}"
            run.problem(located.at(where), where, message, Rule.INVALID_DATE)
            continue
        moments[key] = moment if moment.tzinfo else moment.replace(tzinfo=zone)
    if len(moments) < 2:
        return None
    if moments["end"] <= moments["start"]:
        where = ("spec", "period", "end")
        message = f"end {raw['end']} must be after start {raw['start']}"
        run.problem(located.at(where), where, message, Rule.TIME_ORDER)
        return None
    return Period(moments["start"], moments["end"])


def _output(run: Run, raw: dict[str, Any], located: Located) -> ReportOutput:
    where: FieldPath = ("spec", "output", "path")
    written = raw.get("path")
    path = None
    if written is not None:
        # A merged manifest must not make CI overwrite files outside the checkout.
        root = run.config.root
        try:
            path = resolve_inside(root, root, written, absolute_ok=True)
        except DataFileError as exc:
            message = exc.problem.message
            if exc.problem.kind is Kind.OUTSIDE:
                message += " (use `report --out` to write elsewhere)"
            run.problem(located.at(where), where, message, Rule.DATA_FILE)
    return ReportOutput(format=raw.get("format", "table"), path=path)


def cross_check(run: Run) -> None:
    """Checks that need every document: Report campaigns must exist."""
    campaigns = [name for kind, name in run.names if kind == "Campaign"]
    for report, name, where in run.report_refs:
        if name not in campaigns:
            hint = schemas.did_you_mean(name, campaigns)
            run.problem(
                where,
                ("spec", "campaign"),
                f"no Campaign named {name!r} in the manifests{hint}",
                Rule.UNKNOWN_CAMPAIGN,
            )
        elif report is not None:
            run.reports.append(report)


def _column(raw: dict[str, Any]) -> ReportColumn:
    filt = raw.get("filter") or {}
    value = filt.get("value")
    return ReportColumn(
        id=raw["id"],
        name=raw["name"],
        display_name=raw["display_name"],
        column_type=raw["column_type"],
        data_type=raw["data_type"],
        filter_type=filt.get("type"),
        filter_value=None if value is None else str(value),
        sorting=raw.get("sorting"),
    )
