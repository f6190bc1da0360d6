"""Typed, frozen records for validated manifests and the project config.

The loader (`manifests/`) builds these from YAML documents after schema and semantic
checks pass; every later step (render, plan, apply, report) reads only these records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dialogops.errors import Location

OnInvalid = Literal["error", "skip"]

# The Dialog API's IDs (project, start block, phone line, scenario, campaign, report column)
# are signed 64-bit integers: the schemas, the state and the command line bound them to this.
MAX_ID = 2**63 - 1
# Python turns no longer decimal text into an integer (nor such an integer into text), so
# YAML and JSONL readers refuse a longer one where it is written instead of crashing.
MAX_INT_DIGITS = 4_300


@dataclass(frozen=True)
class CallingHours:
    earliest: dt.time
    latest: dt.time


@dataclass(frozen=True)
class HoursWindow:
    """A daily window of wall-clock time, `start` up to `end` (`end` after `start`)."""

    start: dt.time
    end: dt.time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class LocalHours:
    """`policy.local_hours`: when a recipient may be called, on their own clock."""

    weekdays: HoursWindow  # working days
    weekends: HoursWindow  # weekends and public holidays
    country: str = "RU"  # whose calendar of holidays and transferred working days


UnknownTimezone = Literal["assume_platform", "refuse", "skip"]


@dataclass(frozen=True)
class Frequency:
    """`policy.frequency`: the most contacts per recipient per period, over all campaigns."""

    per_day: int | None = None
    per_week: int | None = None
    per_month: int | None = None

    @property
    def rules(self) -> tuple[tuple[str, int], ...]:
        """(rule, limit) of each cap that is set."""
        limits = (
            ("per_day", self.per_day),
            ("per_week", self.per_week),
            ("per_month", self.per_month),
        )
        return tuple((rule, limit) for rule, limit in limits if limit is not None)


@dataclass(frozen=True)
class Exclude:
    path: Path
    location: Location


@dataclass(frozen=True)
class Policy:
    calling_hours: CallingHours | None = None
    max_phones_per_campaign: int | None = None
    local_hours: LocalHours | None = None
    numbering_plan: Path | None = None  # absolute, inside the project root
    numbering_plan_location: Location | None = None  # where policy.numbering_plan is written
    # What to do with a recipient whose zone cannot be found; None: refuse when local_hours
    # is set.
    unknown_timezone: UnknownTimezone | None = None
    frequency: Frequency = field(default_factory=Frequency)
    suppress: tuple[Exclude, ...] = ()  # merged before every campaign's own exclude lists


# Where each value (or key) is written, by its path in the document.
Marks = Mapping[tuple[str | int, ...], Location]


@dataclass(frozen=True)
class ConfigMarks:
    """Where dialogops.yaml writes what the manifest checks report problems on, so they
    need not read the file again."""

    document: Location  # the file's first node (line 1 of an empty file)
    manifests: tuple[tuple[str, Location], ...] = ()  # (field, where) per written entry
    defaults: Marks = field(default_factory=dict)  # values under `defaults`, keyed below it
    default_keys: Marks = field(default_factory=dict)  # keys under `defaults`, likewise


@dataclass(frozen=True)
class Config:
    """`dialogops.yaml`, with every default filled in and paths made absolute."""

    root: Path  # the project root: the folder of dialogops.yaml, else the working directory
    path: Path | None  # the config file, None when there is none
    api_url: str = "https://ai-assistant.is74.ru/api"
    timeout_seconds: float = 30.0
    retry_503: bool = False  # retry a 503 with Retry-After (risks a duplicate, see docs)
    login_format: Literal["form", "json"] | None = None  # None: the form, JSON if refused
    state_backend: Literal["local", "postgres"] = "local"
    state_path: Path = Path("dialogops.state.json")  # absolute after loading
    state_dsn_env: str = "DIALOGOPS_STATE_DSN"
    state_workspace: str = "default"  # postgres: the state's name in the database
    state_schema: str = "dialogops"  # postgres: the schema of the state's tables
    timezone: str = "Europe/Moscow"
    defaults: Mapping[str, Any] = field(default_factory=dict)
    policy: Policy = field(default_factory=Policy)
    manifests: tuple[Path, ...] = ()  # absolute; default (root / "campaigns",)
    marks: ConfigMarks | None = None  # None without a config file
    environment: str | None = None  # the `environments` entry merged in (--env)
    vars: Mapping[str, str] = field(default_factory=dict)  # template vars from the config


@dataclass(frozen=True)
class FileChecks:
    """A phone file's checks left by validation to the one read that renders it (plan and
    apply read each data file once): where validation places each problem, and the policy.
    """

    written: str  # the path as the manifest writes it, as messages name the file
    # by the manifest setting a problem belongs to (`path`, `encoding`, `phone_column`):
    # where it is written, and the field as problems name it
    places: Mapping[str, tuple[Location, str]]
    max_rows: int | None = None  # policy.max_phones_per_campaign, checked on the rows read


@dataclass(frozen=True)
class CsvSource:
    path: Path  # absolute, checked to be inside the project root
    location: Location  # where `csv.path` is written in the manifest
    phone_column: str = "phone"
    delimiter: str | None = None  # None: detect among , ; TAB
    encoding: str = "utf-8"  # utf-8 also accepts a BOM
    checks: FileChecks | None = None  # None: validation inspected the file itself


@dataclass(frozen=True)
class JsonlSource:
    path: Path
    location: Location
    phone_column: str = "phone"  # the key holding the phone in every object
    encoding: str = "utf-8"
    checks: FileChecks | None = None  # as for CsvSource


@dataclass(frozen=True)
class InlineSource:
    """Inline entries: a string is the phone; a mapping is a row with a `phone` key."""

    entries: tuple[str | Mapping[str, Any], ...]
    locations: tuple[Location, ...]  # one per entry
    phone_column: str = "phone"


PhoneSource = CsvSource | JsonlSource | InlineSource


@dataclass(frozen=True)
class PhonesSpec:
    source: PhoneSource
    default_region: str = "RU"
    dedupe: bool = True
    exclude: tuple[Exclude, ...] = ()
    on_invalid: OnInvalid = "error"
    timezone_column: str | None = None  # the row's IANA zone or UTC offset (`+10`)
    only_new: bool = False  # a replace calls only those the replaced campaign did not
    on_frequency: Literal["refuse", "skip"] = "refuse"


@dataclass(frozen=True)
class Schedule:
    date: dt.date
    start_time: dt.time
    end_time: dt.time
    attempts: int = 1
    interval_minutes: int = 0


@dataclass(frozen=True)
class Campaign:
    """A validated Campaign manifest (defaults already merged)."""

    name: str  # metadata.name, the stable identity
    location: Location  # the document's first line
    project_id: int
    title: str  # sent as campaign.name
    description: str
    start_block_id: int
    phone_id: int
    schedule: Schedule
    phones: PhonesSpec
    add_data: Mapping[str, Any]  # key -> literal value or Jinja2 template string
    add_data_locations: Mapping[str, Location]  # key -> where its value is written
    labels: Mapping[str, str] = field(default_factory=dict)
    # metadata.revision: raising it on a campaign already created makes apply create it anew.
    revision: int = 1
    date_location: Location | None = None  # where spec.schedule.date is written; None: location
    # Recipients outside their allowed local hours: `block` apply, or `skip` (drop) them.
    on_local_hours: Literal["block", "skip"] = "block"
    split_by: Literal["timezone"] | None = None  # one campaign per UTC offset group
    # The zone rules, copied from the config so rendering needs nothing else; None: off.
    zones: ZoneRules | None = None
    # A part of a split campaign: the UTC offset group it calls (`+03:00`); None: whole.
    part: str | None = None


@dataclass(frozen=True)
class ZoneRules:
    """What resolving each recipient's zone and judging their local hours needs."""

    platform: str  # the IANA zone of the platform's clock (`timezone` in dialogops.yaml)
    local_hours: LocalHours
    numbering_plan: Path | None
    numbering_plan_location: Location | None
    unknown_timezone: UnknownTimezone


FilterType = Literal[
    "equal", "contains", "starts_with", "ends_with", "is_empty", "not_empty", "is_true", "not_true"
]


@dataclass(frozen=True)
class ReportColumn:
    id: int
    name: str
    display_name: str
    column_type: str
    data_type: Literal["text", "number", "datetime", "dialog", "goal"]
    filter_type: FilterType | None = None
    filter_value: str | None = None
    sorting: Literal["asc", "desc"] | None = None


OutputFormat = Literal["table", "csv", "json", "jsonl", "markdown"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("table", "csv", "json", "jsonl", "markdown")


@dataclass(frozen=True)
class ReportOutput:
    format: OutputFormat = "table"
    path: Path | None = None  # absolute


@dataclass(frozen=True)
class Period:
    start: dt.datetime  # timezone-aware
    end: dt.datetime


@dataclass(frozen=True)
class Report:
    """A validated Report manifest."""

    name: str
    location: Location
    scenario_id: int
    columns: tuple[ReportColumn, ...]
    campaign: str | None = None  # exactly one of campaign / outgoing_campaign_id
    outgoing_campaign_id: int | None = None
    project_id: int | None = None  # None: the campaign's
    start_block_id: int | None = None  # None: the campaign's
    period: Period | None = None  # None: the campaign's schedule date, whole day
    output: ReportOutput = field(default_factory=ReportOutput)


@dataclass(frozen=True)
class Project:
    """Everything loaded for one run: config plus every valid manifest."""

    config: Config
    campaigns: tuple[Campaign, ...]
    reports: tuple[Report, ...]

    def campaign(self, name: str) -> Campaign | None:
        return next((c for c in self.campaigns if c.name == name), None)
