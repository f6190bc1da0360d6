"""A Report manifest resolved into the body of `POST /analytics/{project_id}/report`.

`build_request` takes the campaign's manifest and the state for what the report omits
(project, start block, the whole day of the schedule date in the config's timezone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialogops.errors import StateError, UsageError
from dialogops.hints import PLAIN, Hints
from dialogops.specs import Campaign, Period, Project, Report, ReportColumn
from dialogops.state import State

# Filters that compare with a value; the others (is_empty, is_true, ...) take none.
COMPARING_FILTERS = frozenset({"equal", "contains", "starts_with", "ends_with"})


@dataclass(frozen=True)
class ReportRequest:
    """A report resolved against its campaign and the state: where and what to POST."""

    name: str
    project_id: int
    body: dict[str, Any]


def api_timestamp(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds and `Z`, as documented: `2026-12-01T04:00:00.000Z`."""
    utc = moment.astimezone(dt.UTC)
    return utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(f"unknown timezone {name!r} in the project config") from exc


def whole_day(date: dt.date, timezone: str) -> Period:
    """The calendar day `date` from midnight to midnight in `timezone` (23 or 25 h across DST)."""
    tz = zone(timezone)
    start = dt.datetime.combine(date, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return Period(start=start, end=end)


def column_body(column: ReportColumn) -> dict[str, Any]:
    """One entry of `columns`: filter and sorting keys appear only when the manifest sets them."""
    body: dict[str, Any] = {
        "id": column.id,
        "name": column.name,
        "display_name": column.display_name,
        "column_type": column.column_type,
        "data_type": column.data_type,
    }
    if column.filter_type is not None:
        body["filter_type"] = column.filter_type
        if column.filter_type in COMPARING_FILTERS and column.filter_value is not None:
            body["filter_value"] = column.filter_value
    if column.sorting is not None:
        body["sorting"] = column.sorting
    return body


def campaign_id(campaign: str, state: State, *, hints: Hints = PLAIN) -> int:
    """The ID recorded for `campaign`, or an error saying which command resolves it.

    The commands are written as `hints` says; with `hints.sandbox`, `state` is the state of
    `--sandbox` runs, which `apply --sandbox` fills.
    """
    entry = state.get(campaign)
    if entry is None and hints.sandbox:
        raise StateError(
            f"campaign {campaign!r} is not in the sandbox state: create it with "
            f"`{hints.command('apply')}`"
        )
    if entry is None:
        raise StateError(
            f"campaign {campaign!r} is not in state: create it with `{hints.command('apply')}` "
            f"(or record an existing one with `{hints.command(f'import {campaign} ID')}`)"
        )
    if entry.outcome_unknown or entry.id is None:
        raise StateError(
            f"campaign {campaign!r} has no known ID (its create outcome is {entry.status}): "
            f"check the Dialog UI, then `{hints.command(f'import {campaign} ID')}` or "
            f"`{hints.command(f'state rm {campaign}')}`"
        )
    return entry.id


def build_request(
    report: Report, project: Project, state: State, *, hints: Hints = PLAIN
) -> ReportRequest:
    """Resolve `report` into the documented analytics body (`hints`: see `campaign_id`).

    The campaign's manifest supplies `project_id`, `start_block_id` and the default period
    (its schedule date, the whole day in the config's timezone) when the report omits them.
    """
    campaign: Campaign | None = None
    if report.campaign is not None:
        outgoing_id = campaign_id(report.campaign, state, hints=hints)
        # A part of a split campaign (NAME@+03) takes its defaults from NAME's manifest.
        campaign = project.campaign(report.campaign.partition("@")[0])
    elif report.outgoing_campaign_id is not None:
        outgoing_id = report.outgoing_campaign_id
    else:
        raise UsageError(f"report {report.name!r} names neither campaign nor outgoing_campaign_id")

    project_id, start_block_id, period = report.project_id, report.start_block_id, report.period
    if campaign is not None:
        project_id = campaign.project_id if project_id is None else project_id
        start_block_id = campaign.start_block_id if start_block_id is None else start_block_id
        if period is None:
            period = whole_day(campaign.schedule.date, project.config.timezone)
    if project_id is None or start_block_id is None or period is None:
        given = {"project_id": project_id, "start_block_id": start_block_id, "period": period}
        raise UsageError(missing_from_campaign(report, [f for f, v in given.items() if v is None]))
    body = {
        "analytics_filter": {
            "scenario_id": report.scenario_id,
            "start_block_id": start_block_id,
            "outgoing_campaign_id": outgoing_id,
            "date_start": api_timestamp(aware(period.start, project.config.timezone)),
            "date_end": api_timestamp(aware(period.end, project.config.timezone)),
        },
        "columns": [column_body(c) for c in report.columns],
    }
    return ReportRequest(name=report.name, project_id=project_id, body=body)


def missing_from_campaign(report: Report, fields: Sequence[str]) -> str:
    names = " and ".join(f"spec.{f}" for f in fields)
    if report.campaign is None:
        return (
            f"report {report.name!r} ({report.location}): {names} must be given with "
            f"outgoing_campaign_id (there is no campaign manifest to take them from)"
        )
    return (
        f"report {report.name!r} ({report.location}): {names} not given and campaign "
        f"{report.campaign!r} has no manifest to take them from"
    )


def aware(moment: dt.datetime, timezone: str) -> dt.datetime:
    """A naive time is read as the platform's wall clock (the config's timezone)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone(timezone))
