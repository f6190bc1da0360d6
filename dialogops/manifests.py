"""Loading Campaign and Report manifests into a validated `Project`.

Finds the YAML files, checks every document against its JSON Schema and the rules a schema
cannot express (dates, policy, unique names, data files), and collects every problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dialogops import schemas
from dialogops.config import CONFIG_NAME, parse_hhmm
from dialogops.datafiles import (
    DataFileError,
    FileProblem,
    Inspection,
    Kind,
    existing_file,
    inspect,
    resolve_inside,
)
from dialogops.errors import Location, ManifestError, Problem, RenderError, UsageError
from dialogops.specs import (
    Campaign,
    Config,
    CsvSource,
    Exclude,
    InlineSource,
    JsonlSource,
    Marks,
    Period,
    PhoneSource,
    PhonesSpec,
    Project,
    Report,
    ReportColumn,
    ReportOutput,
    Schedule,
)
from dialogops.templates import compile_add_data
from dialogops.yamlio import Document, FieldPath, display_path, format_field, load_file, nearest

API_VERSION = "dialogops/v1"
KINDS = ("Campaign", "Report")
SUFFIXES = (".yaml", ".yml")
# Required in every Campaign spec once dialogops.yaml defaults are merged in, so the
# published schema leaves them optional for manifests that rely on defaults.
MERGED_REQUIRED = ("project_id", "start_block_id", "phone_id")

PHONES: FieldPath = ("spec", "phones")
NO_MARKS: tuple[Marks, Marks] = ({}, {})


def discover(paths: Sequence[Path], config: Config) -> list[Path]:
    """Every manifest file under `paths` (default: the config's), sorted, without duplicates.

    Hidden folders (.git, .venv, .dialogops) and dialogops.yaml itself are skipped. A
    given path that does not exist is a UsageError; a configured one, a problem (see
    `missing_manifest_folders`).
    """
    roots = [p if p.is_absolute() else Path.cwd() / p for p in paths] or list(config.manifests)
    found: dict[Path, None] = {}
    for root in roots:
        if root.is_file():
            found[root.resolve()] = None
        elif root.is_dir():
            for candidate in sorted(root.rglob("*")):
                relative = candidate.relative_to(root).parts
                if (
                    candidate.suffix in SUFFIXES
                    and candidate.name != CONFIG_NAME
                    and not any(part.startswith(".") for part in relative)
                    and candidate.is_file()
                ):
                    found[candidate.resolve()] = None
        elif paths:
            raise UsageError(f"{display_path(root)}: no such file or folder")
    return list(found)


def missing_manifest_folders(config: Config) -> list[Problem]:
    """The config's `manifests` entries that do not exist, placed in dialogops.yaml.

    Without a config file the default `campaigns/` is meant; its absence is a UsageError
    saying how to start.
    """
    missing = [(i, root) for i, root in enumerate(config.manifests) if not root.exists()]
    if not missing:
        return []
    marks = config.marks
    if marks is None:
        raise UsageError(
            f"{display_path(missing[0][1])}: no such folder and no {CONFIG_NAME} "
            "here; run `dialogops init`, or name the manifests to check"
        )
    if not marks.manifests:
        return [
            Problem(
                marks.document, "manifests", f"{display_path(root)} does not exist (the default)"
            )
            for _, root in missing
        ]
    problems = []
    for index, root in missing:
        field, where = marks.manifests[index]
        problems.append(Problem(where, field, f"{display_path(root)} does not exist"))
    return problems


def today_in(timezone: str) -> dt.date:
    """Today on the platform's wall clock."""
    return dt.datetime.now(ZoneInfo(timezone)).date()


def check_project(
    paths: Sequence[Path], config: Config, today: dt.date | None = None
) -> tuple[Project, list[Problem]]:
    """Load every manifest under `paths`; return the valid records and every problem."""
    checker = _Checker(config, today or today_in(config.timezone))
    if not paths:
        checker.problems.extend(missing_manifest_folders(config))
    for path in discover(paths, config):
        docs, problems = load_file(path, display_path(path))
        checker.problems.extend(problems)
        for doc in docs:
            checker.document(doc)
    checker.cross_check()
    project = Project(config, tuple(checker.campaigns), tuple(checker.reports))
    return project, sorted(set(checker.problems))


def load_project(paths: Sequence[Path], config: Config) -> Project:
    """The Project, or `ManifestError` carrying every problem found."""
    project, problems = check_project(paths, config)
    if problems:
        raise ManifestError(problems)
    return project


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` on top of `base`, merging nested mappings; lists and scalars replace."""
    merged = dict(base)
    for key, value in override.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[key] = deep_merge(below, value)
        else:
            merged[key] = value
    return merged


def _defaults_marks(config: Config) -> tuple[Marks, Marks]:
    """Where each default is written in dialogops.yaml, keyed as its path under `spec`."""
    if config.marks is None:
        return NO_MARKS
    values, keys = config.marks.defaults, config.marks.default_keys
    return (
        {("spec", *path): loc for path, loc in values.items()},
        {("spec", *path): loc for path, loc in keys.items()},
    )


class _Located:
    """Finds positions in a document whose spec may hold values merged from the config."""

    def __init__(self, doc: Document, extra: tuple[Marks, Marks] = NO_MARKS) -> None:
        self.doc = doc
        self.extra_marks, self.extra_keys = extra

    def at(self, path: FieldPath) -> Location:
        return nearest(path, self.doc.marks, self.extra_marks) or self.doc.location

    def key_at(self, path: FieldPath) -> Location:
        return self.doc.key_marks.get(path) or self.extra_keys.get(path) or self.at(path)


class _Checker:
    """Accumulates records and problems over all documents of one run."""

    def __init__(self, config: Config, today: dt.date) -> None:
        self.config = config
        self.today = today
        self.defaults_marks = _defaults_marks(config)
        self.campaigns: list[Campaign] = []
        self.reports: list[Report] = []
        self.problems: list[Problem] = []
        self._names: dict[tuple[str, str], Location] = {}
        self._duplicates: set[tuple[str, Location]] = set()
        self._report_refs: list[tuple[Report | None, str, Location]] = []
        self._data_checked: dict[tuple[Any, ...], Inspection | FileProblem] = {}

    def problem(self, where: Location, path: FieldPath, message: str) -> None:
        self.problems.append(Problem(where, format_field(path), message))

    # Documents

    def document(self, doc: Document) -> None:
        data = doc.data
        if data is None:
            return
        if not isinstance(data, dict):
            self.problem(
                doc.location,
                (),
                "a manifest must be a mapping with apiVersion, kind, metadata and spec",
            )
            return
        api = data.get("apiVersion")
        if api != API_VERSION:
            if api is None:
                self.problem(doc.location, (), "'apiVersion' is a required property")
            else:
                self.problem(
                    doc.at(("apiVersion",)),
                    ("apiVersion",),
                    f"{api!r} is not supported: use {API_VERSION!r}",
                )
            return
        kind = data.get("kind")
        if kind not in KINDS:
            if kind is None:
                self.problem(doc.location, (), "'kind' is a required property")
            else:
                hint = schemas.did_you_mean(str(kind), KINDS)
                self.problem(
                    doc.at(("kind",)),
                    ("kind",),
                    f"unknown kind {kind!r}: use 'Campaign' or 'Report'{hint}",
                )
            return
        # A duplicate is still checked in full, but only the first of a name is kept.
        unique = self._register_name(doc, kind)
        if kind == "Campaign":
            self._campaign(doc, unique)
        else:
            self._report(doc, unique)

    def _register_name(self, doc: Document, kind: str) -> bool:
        """Record metadata.name; False when another document of this kind already has it."""
        metadata = doc.data.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not isinstance(name, str):
            return True
        where = doc.at(("metadata", "name"))
        first = self._names.setdefault((kind, name), where)
        if first == where:
            return True
        self.problem(
            where, ("metadata", "name"), f"{kind} name {name!r} is already used at {first}"
        )
        return False

    def cross_check(self) -> None:
        """Checks that need every document: Report campaigns must exist."""
        campaigns = [name for kind, name in self._names if kind == "Campaign"]
        for report, name, where in self._report_refs:
            if name not in campaigns:
                hint = schemas.did_you_mean(name, campaigns)
                self.problem(
                    where,
                    ("spec", "campaign"),
                    f"no Campaign named {name!r} in the manifests{hint}",
                )
            elif report is not None:
                self.reports.append(report)

    # Campaigns

    def _campaign(self, doc: Document, keep: bool) -> None:
        data = doc.data
        located = _Located(doc)
        spec = data.get("spec")
        if isinstance(spec, dict):
            data = {**data, "spec": deep_merge(self.config.defaults, spec)}
            located = _Located(doc, self.defaults_marks)
        found = schemas.check("campaign", data, located.at, located.key_at)
        if isinstance(data.get("spec"), dict):
            for key in MERGED_REQUIRED:
                if key not in data["spec"]:
                    found.append(
                        Problem(
                            located.key_at(("spec",)),
                            "spec",
                            f"{key!r} is a required property "
                            "(set it here or in dialogops.yaml defaults)",
                        )
                    )
        if found:
            self.problems.extend(found)
            self._check_sound_parts(doc, data, located, found)
            return
        before = len(self.problems)
        campaign = self._build_campaign(doc, data, located)
        if campaign is not None:
            self._check_templates(campaign)
        if campaign is not None and len(self.problems) == before and keep:
            self.campaigns.append(campaign)

    def _check_sound_parts(
        self, doc: Document, data: dict[str, Any], located: _Located, found: list[Problem]
    ) -> None:
        """Run the schedule and data-file checks of a Campaign whose schema problems lie
        elsewhere, so one run reports them all."""
        spec = data.get("spec")
        if not isinstance(spec, dict):
            return
        broken = {problem.field for problem in found}

        def clean(field: str) -> bool:
            return not any(f == field or f.startswith((f"{field}.", f"{field}[")) for f in broken)

        schedule_fields = ("date", "start_time", "end_time")
        if (
            isinstance(spec.get("schedule"), dict)
            and "spec.schedule" not in broken
            and all(clean(f"spec.schedule.{key}") for key in schedule_fields)
        ):
            self._schedule(spec["schedule"], located)
        if isinstance(spec.get("phones"), dict) and clean("spec.phones"):
            self._phones(spec["phones"], doc, located)

    def _check_templates(self, campaign: Campaign) -> None:
        """Template syntax is part of the manifest: report it here, not first at plan."""
        try:
            compile_add_data(campaign)
        except RenderError as exc:
            self.problems.extend(
                Problem(p.location, f"spec.{p.field}", p.message) for p in exc.problems
            )

    def _build_campaign(
        self, doc: Document, data: dict[str, Any], located: _Located
    ) -> Campaign | None:
        spec: dict[str, Any] = data["spec"]
        schedule = self._schedule(spec["schedule"], located)
        phones = self._phones(spec["phones"], doc, located)
        if schedule is None or phones is None:
            return None
        add_data = spec.get("add_data", {})
        metadata = data["metadata"]
        return Campaign(
            name=metadata["name"],
            location=doc.location,
            project_id=spec["project_id"],
            title=spec.get("title", metadata["name"]),
            description=spec.get("description", ""),
            start_block_id=spec["start_block_id"],
            phone_id=spec["phone_id"],
            schedule=schedule,
            phones=phones,
            add_data=dict(add_data),
            add_data_locations={key: located.at(("spec", "add_data", key)) for key in add_data},
            labels=dict(metadata.get("labels", {})),
        )

    def _schedule(self, raw: dict[str, Any], located: _Located) -> Schedule | None:
        base: FieldPath = ("spec", "schedule")
        ok = True
        try:
            date = dt.date.fromisoformat(raw["date"])
        except ValueError as exc:
            self.problem(
                located.at((*base, "date")),
                (*base, "date"),
                f"{raw['date']!r} is not a valid date: {exc}",
            )
            ok = False
        else:
            if date < self.today:
                self.problem(
                    located.at((*base, "date")),
                    (*base, "date"),
                    f"{raw['date']} is in the past in {self.config.timezone}",
                )
                ok = False
        start, end = parse_hhmm(raw["start_time"]), parse_hhmm(raw["end_time"])
        if end <= start:
            self.problem(
                located.at((*base, "end_time")),
                (*base, "end_time"),
                f"end_time {raw['end_time']} must be after start_time {raw['start_time']}",
            )
            ok = False
        hours = self.config.policy.calling_hours
        if hours is not None and start < hours.earliest:
            self.problem(
                located.at((*base, "start_time")),
                (*base, "start_time"),
                f"{raw['start_time']} is before the earliest calling hour "
                f"{hours.earliest:%H:%M} allowed by policy",
            )
            ok = False
        if hours is not None and end > hours.latest:
            self.problem(
                located.at((*base, "end_time")),
                (*base, "end_time"),
                f"{raw['end_time']} is after the latest calling hour "
                f"{hours.latest:%H:%M} allowed by policy",
            )
            ok = False
        if not ok:
            return None
        return Schedule(
            date=date,
            start_time=start,
            end_time=end,
            attempts=raw.get("attempts", 1),
            interval_minutes=raw.get("interval_minutes", 0),
        )

    def _phones(self, raw: dict[str, Any], doc: Document, located: _Located) -> PhonesSpec | None:
        base_dir = doc.path.parent
        source: PhoneSource | None
        if "csv" in raw:
            source = self._csv(raw["csv"], base_dir, located)
        elif "jsonl" in raw:
            source = self._jsonl(raw["jsonl"], base_dir, located)
        else:
            source = self._inline(raw["inline"], located)
        excludes: list[Exclude] = []
        for index, rel in enumerate(raw.get("exclude", ())):
            where: FieldPath = (*PHONES, "exclude", index)
            path = self._data_path(rel, base_dir, where, located)
            if path is not None:
                excludes.append(Exclude(path, located.at(where)))
        if source is None or len(excludes) != len(raw.get("exclude", ())):
            return None
        return PhonesSpec(
            source=source,
            default_region=raw.get("default_region", "RU"),
            dedupe=raw.get("dedupe", True),
            exclude=tuple(excludes),
            on_invalid=raw.get("on_invalid", "error"),
        )

    def _csv(self, raw: dict[str, Any], base_dir: Path, located: _Located) -> CsvSource | None:
        base: FieldPath = (*PHONES, "csv")
        path = self._data_path(raw["path"], base_dir, (*base, "path"), located)
        if path is None:
            return None
        source = CsvSource(
            path=path,
            location=located.at((*base, "path")),
            phone_column=raw.get("phone_column", "phone"),
            delimiter=raw.get("delimiter"),
            encoding=raw.get("encoding", "utf-8"),
        )
        return source if self._check_file(source, raw, base, located) else None

    def _jsonl(self, raw: dict[str, Any], base_dir: Path, located: _Located) -> JsonlSource | None:
        base: FieldPath = (*PHONES, "jsonl")
        path = self._data_path(raw["path"], base_dir, (*base, "path"), located)
        if path is None:
            return None
        source = JsonlSource(
            path=path,
            location=located.at((*base, "path")),
            phone_column=raw.get("phone_column", "phone"),
            encoding=raw.get("encoding", "utf-8"),
        )
        return source if self._check_file(source, raw, base, located) else None

    def _inline(self, raw: list[Any], located: _Located) -> InlineSource | None:
        entries: list[str | Mapping[str, Any]] = []
        for entry in raw:
            if isinstance(entry, dict):
                entries.append({**entry, "phone": str(entry["phone"])})
            else:
                entries.append(str(entry))
        limit = self.config.policy.max_phones_per_campaign
        if limit is not None and len(entries) > limit:
            where: FieldPath = (*PHONES, "inline")
            self.problem(
                located.at(where),
                where,
                f"{len(entries)} phones, more than the {limit} allowed by policy",
            )
            return None
        locations = tuple(located.at((*PHONES, "inline", i)) for i in range(len(entries)))
        return InlineSource(entries=tuple(entries), locations=locations)

    # Data files

    def _data_path(
        self, written: str, base_dir: Path, where: FieldPath, located: _Located
    ) -> Path | None:
        try:
            return existing_file(self.config.root, base_dir, written)
        except DataFileError as exc:
            self.problem(located.at(where), where, exc.problem.message)
            return None

    def _check_file(
        self,
        source: CsvSource | JsonlSource,
        raw: dict[str, Any],
        base: FieldPath,
        located: _Located,
    ) -> bool:
        """Inspect a phone file once per run, however many campaigns share it, and place its
        problem on the manifest field it belongs to."""
        limit = self.config.policy.max_phones_per_campaign
        key = (
            type(source),
            source.path,
            source.encoding,
            source.phone_column,
            getattr(source, "delimiter", None),
        )
        if key not in self._data_checked:
            self._data_checked[key] = inspect(source, raw["path"], count_rows=limit is not None)
        found = self._data_checked[key]
        if isinstance(found, FileProblem):
            field = found.kind.field
            if field == "phone_column" and field not in raw:
                field = "path"  # the manifest relies on the default column: the file lacks it
            where: FieldPath = (*base, field)
            self.problem(located.at(where), where, found.message)
            return False
        if limit is not None and found.rows is not None and found.rows > limit:
            where = (*base, "path")
            message = (
                f"{raw['path']} has {found.rows} rows, "
                f"more than the {limit} phones allowed by policy"
            )
            self.problem(located.at(where), where, message)
            return False
        return True

    # Reports

    def _report(self, doc: Document, keep: bool) -> None:
        located = _Located(doc)
        found = schemas.check("report", doc.data, located.at, located.key_at)
        if found:
            self.problems.extend(found)
            return
        spec: dict[str, Any] = doc.data["spec"]
        before = len(self.problems)
        report = Report(
            name=doc.data["metadata"]["name"],
            location=doc.location,
            scenario_id=spec["scenario_id"],
            columns=tuple(_column(c) for c in spec["columns"]),
            campaign=spec.get("campaign"),
            outgoing_campaign_id=spec.get("outgoing_campaign_id"),
            project_id=spec.get("project_id"),
            start_block_id=spec.get("start_block_id"),
            period=self._period(spec.get("period"), located),
            output=self._output(spec.get("output", {}), located),
        )
        if report.outgoing_campaign_id is not None:
            missing = [f for f in ("project_id", "start_block_id", "period") if f not in spec]
            if missing:
                self.problem(
                    located.key_at(("spec", "outgoing_campaign_id")),
                    ("spec",),
                    f"{' and '.join(missing)} must be given with outgoing_campaign_id "
                    "(there is no campaign manifest to take them from)",
                )
        valid = len(self.problems) == before and keep
        if report.campaign is not None:
            where = located.at(("spec", "campaign"))
            self._report_refs.append((report if valid else None, report.campaign, where))
        elif valid:
            self.reports.append(report)

    def _period(self, raw: dict[str, Any] | None, located: _Located) -> Period | None:
        if raw is None:
            return None
        zone = ZoneInfo(self.config.timezone)
        moments: dict[str, dt.datetime] = {}
        for key in ("start", "end"):
            where: FieldPath = ("spec", "period", key)
            try:
                moment = dt.datetime.fromisoformat(raw[key])
            except ValueError as exc:
                message = f"{raw[key]!r} is not a valid date-time: {exc}"
                self.problem(located.at(where), where, message)
                continue
            moments[key] = moment if moment.tzinfo else moment.replace(tzinfo=zone)
        if len(moments) < 2:
            return None
        if moments["end"] <= moments["start"]:
            where = ("spec", "period", "end")
            self.problem(
                located.at(where), where, f"end {raw['end']} must be after start {raw['start']}"
            )
            return None
        return Period(moments["start"], moments["end"])

    def _output(self, raw: dict[str, Any], located: _Located) -> ReportOutput:
        where: FieldPath = ("spec", "output", "path")
        written = raw.get("path")
        path = None
        if written is not None:
            # A merged manifest must not make CI overwrite files outside the checkout.
            root = self.config.root
            try:
                path = resolve_inside(root, root, written, absolute_ok=True)
            except DataFileError as exc:
                message = exc.problem.message
                if exc.problem.kind is Kind.OUTSIDE:
                    message += " (use `report --out` to write elsewhere)"
                self.problem(located.at(where), where, message)
        return ReportOutput(format=raw.get("format", "table"), path=path)


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


def summary(project: Project, problems: Sequence[Problem]) -> str:
    """The last line of `validate`: what was checked, or how much is wrong."""
    if problems:
        files = len({p.location.path for p in problems})
        noun = "problem" if len(problems) == 1 else "problems"
        return f"{len(problems)} {noun} in {files} file{'s' if files != 1 else ''}"
    campaigns, reports = len(project.campaigns), len(project.reports)
    if not campaigns + reports:
        return "ok: no manifests found"
    return f"ok: {campaigns} Campaign and {reports} Report manifests valid"


def as_json(project: Project, problems: Sequence[Problem]) -> dict[str, Any]:
    """The `validate --format json` document (format_version 1, see docs/manifests.md)."""
    return {
        "format_version": 1,
        "valid": not problems,
        "problems": [
            {
                "path": p.location.path,
                "line": p.location.line,
                "col": p.location.col,
                "field": p.field,
                "message": p.message,
            }
            for p in problems
        ],
        "summary": {
            "campaigns": len(project.campaigns),
            "reports": len(project.reports),
            "problems": len(problems),
            "files_with_problems": len({p.location.path for p in problems}),
            "text": summary(project, problems),
        },
    }
