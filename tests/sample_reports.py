"""Test material for the report modules: a campaign, a report, a state, a fake client and
a response shaped as the analytics endpoint answers."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dialogops.errors import Location
from dialogops.report.response import ReportResult, StreamedReport
from dialogops.specs import (
    Campaign,
    Config,
    InlineSource,
    PhonesSpec,
    Project,
    Report,
    ReportColumn,
    Schedule,
)
from dialogops.state import State, StateEntry, Status

FUTURE = dt.date(2099, 12, 1)
YEKT = "Asia/Yekaterinburg"  # UTC+5 all year round


def make_state(**entries: tuple[Status, int | None]) -> State:
    return State(
        campaigns={
            name: StateEntry(name=name, status=status, fingerprint="sha256:0", phones=1, id=id_)
            for name, (status, id_) in entries.items()
        }
    )


class FakeClient:
    """Answers every report with `response` encoded as JSON, as a stream."""

    def __init__(self, response: Any) -> None:
        self.response = response
        self.calls: list[tuple[int, Mapping[str, Any]]] = []

    def open_report(
        self, project_id: int, body: Mapping[str, Any]
    ) -> contextlib.nullcontext[io.BytesIO]:
        self.calls.append((project_id, body))
        return contextlib.nullcontext(io.BytesIO(json.dumps(self.response).encode("utf-8")))


def parse_response(payload: Any, requested: Sequence[ReportColumn]) -> ReportResult:
    """`payload` as the report endpoint would send it, read and checked, rows in memory."""
    encoded = io.BytesIO(json.dumps(payload).encode("utf-8"))
    with StreamedReport(encoded, requested) as streamed:
        return streamed.collect()


def make_campaign(name: str = "nps", date: dt.date = FUTURE) -> Campaign:
    return Campaign(
        name=name,
        location=Location("campaigns/nps.yaml", 1, 1),
        project_id=7,
        title="NPS",
        description="",
        start_block_id=10,
        phone_id=5,
        schedule=Schedule(date=date, start_time=dt.time(9), end_time=dt.time(17)),
        phones=PhonesSpec(source=InlineSource(entries=("+79990000001",), locations=())),
        add_data={},
        add_data_locations={},
    )


PHONE = ReportColumn(1, "phone_number", "Phone Number", "field", "number")
DURATION = ReportColumn(2, "duration", "Duration", "field", "number")


def make_report(**changes: Any) -> Report:
    base = Report(
        name="nps-results",
        location=Location("campaigns/nps.yaml", 20, 1),
        scenario_id=951,
        columns=(PHONE,),
        campaign="nps",
    )
    return dataclasses.replace(base, **changes)


def make_project(tmp_path: Path, *campaigns: Campaign, timezone: str = YEKT) -> Project:
    config = Config(root=tmp_path, path=None, timezone=timezone)
    return Project(config=config, campaigns=campaigns, reports=())


RESPONSE: dict[str, Any] = {
    "columns": [
        {"field": "phone_number", "display_name": "Phone Number", "type": "text"},
        {"field": "duration", "display_name": "Duration", "type": "number"},
        {"field": "note", "display_name": "Note", "type": "text"},
    ],
    "data": [
        {"phone_number": "+79990000001", "duration": 3600, "note": "a|b"},
        {"phone_number": "+79990000002", "duration": 125, "note": "line1\nline2"},
        {"phone_number": "+79990000003", "duration": 0, "note": None},
    ],
    "count": 3,
    "total_duration": 3725,
    "avg_duration": 3725 / 3,
}


def result() -> ReportResult:
    return parse_response(RESPONSE, (PHONE,))
