"""Campaign checks: the schema with dialogops.yaml defaults merged in, the schedule against
the calendar and policy, the phone source and its data files, and the add_data templates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dialogops import schemas
from dialogops.config import merge_defaults, parse_hhmm
from dialogops.datafiles import (
    DataFileError,
    FileProblem,
    existing_file,
    inspect,
    too_many_rows,
)
from dialogops.errors import Location, Problem, RenderError, Rule
from dialogops.manifests.run import NO_MARKS, Located, Run
from dialogops.specs import (
    Campaign,
    Config,
    CsvSource,
    Exclude,
    FileChecks,
    InlineSource,
    JsonlSource,
    Marks,
    PhoneSource,
    PhonesSpec,
    Schedule,
    ZoneRules,
)
from dialogops.templates import compile_add_data
from dialogops.yamlio import Document, FieldPath, format_field

# Required in every Campaign spec once dialogops.yaml defaults are merged in, so the
# published schema leaves them optional for manifests that rely on defaults.
MERGED_REQUIRED = ("project_id", "start_block_id", "phone_id")

PHONES: FieldPath = ("spec", "phones")


def check_campaign(run: Run, doc: Document, keep: bool) -> None:
    """Check a Campaign document; keep its record when it is valid and `keep`."""
    data = doc.data
    located = Located(doc)
    spec = data.get("spec")
    if isinstance(spec, dict):
        merged, joined = merge_defaults(run.config.defaults, spec)
        data = {**data, "spec": merged}
        doc = _past_defaults(doc, joined)
        located = Located(doc, _defaults_marks(run.config))
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
                        Rule.SCHEMA,
                    )
                )
    if found:
        run.problems.extend(found)
        _check_sound_parts(run, doc, data, located, found)
        return
    before = run.errors
    campaign = _build_campaign(run, doc, data, located)
    if campaign is not None:
        _check_templates(run, campaign)
    if campaign is not None and run.errors == before and keep:
        run.campaigns.append(campaign)


def _check_sound_parts(
    run: Run, doc: Document, data: dict[str, Any], located: Located, found: list[Problem]
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
        _schedule(run, spec["schedule"], located)
    if isinstance(spec.get("phones"), dict) and clean("spec.phones"):
        _phones(run, spec["phones"], doc, located)


def _check_templates(run: Run, campaign: Campaign) -> None:
    """Template syntax is part of the manifest: report it here, not first at plan."""
    try:
        compile_add_data(campaign)
    except RenderError as exc:
        run.problems.extend(
            Problem(p.location, f"spec.{p.field}", p.message, Rule.TEMPLATE) for p in exc.problems
        )


def _build_campaign(
    run: Run, doc: Document, data: dict[str, Any], located: Located
) -> Campaign | None:
    spec: dict[str, Any] = data["spec"]
    schedule = _schedule(run, spec["schedule"], located)
    phones = _phones(run, spec["phones"], doc, located)
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
        revision=metadata.get("revision", 1),
        date_location=located.at(("spec", "schedule", "date")),
        on_local_hours=spec.get("on_local_hours", "block"),
        split_by=spec.get("split_by"),
        zones=_zone_rules(run, spec, schedule, phones, located),
    )


def _zone_rules(
    run: Run, spec: dict[str, Any], schedule: Schedule, phones: PhonesSpec, located: Located
) -> ZoneRules | None:
    """The config's local-hour rules for this campaign; a split needs them, and a window
    that meets none of the hours allowed on its date."""
    policy = run.config.policy
    hours = policy.local_hours
    where: FieldPath = ("spec", "split_by")
    if hours is None:
        if "split_by" in spec:
            message = "splitting by timezone needs policy.local_hours in dialogops.yaml"
            run.problem(located.at(where), where, message, Rule.POLICY)
        return None
    # Imported only for a policy with local hours: a project without them never loads the
    # zone data, the numbering plan or the holidays calendar.
    from dialogops.localhours import rules

    window = f"{schedule.start_time:%H:%M}-{schedule.end_time:%H:%M} on {schedule.date}"
    where = ("spec", "schedule")
    if "split_by" in spec and rules.clip(schedule, hours) is None:
        allowed, kind = rules.allowed_on(schedule.date, hours)
        message = f"{window} (a {kind}) leaves no time inside the allowed local hours {allowed}"
        run.problem(located.at(where), where, message, Rule.POLICY)
    elif "split_by" not in spec and not rules.fits_somewhere(schedule, run.config.timezone, hours):
        message = (
            f"{window} ({run.config.timezone}) lies inside the allowed local hours of no "
            "time zone: nobody could be called; shorten the window or set split_by: timezone"
        )
        run.problem(located.at(where), where, message, Rule.POLICY)
    _check_zone_sources(run, phones, policy.numbering_plan, policy.numbering_plan_location)
    return ZoneRules(
        platform=run.config.timezone,
        local_hours=hours,
        numbering_plan=policy.numbering_plan,
        numbering_plan_location=policy.numbering_plan_location,
        unknown_timezone=policy.unknown_timezone or "refuse",
    )


def _check_zone_sources(
    run: Run,
    phones: PhonesSpec,
    plan: Path | None,
    plan_at: Location | None,
) -> None:
    """The timezone column's values and the numbering-plan file, each located."""
    from dialogops.localhours import numplan, zones

    column = phones.timezone_column
    try:
        if column is not None:
            field = "spec.phones.timezone_column"
            run.problems.extend(zones.column_problems(phones.source, column, field))
        if plan is not None and plan_at is not None:
            numplan.load(plan, plan_at)
    except RenderError as exc:  # a file that cannot be read at all, or a bad registry row
        run.problems.extend(exc.problems)


def _schedule(run: Run, raw: dict[str, Any], located: Located) -> Schedule | None:
    base: FieldPath = ("spec", "schedule")
    ok = True
    try:
        date = dt.date.fromisoformat(raw["date"])
    except ValueError as exc:
        run.problem(
            located.at((*base, "date")),
            (*base, "date"),
            f"{raw['date']!r} is not a valid date: {exc}",
            Rule.INVALID_DATE,
        )
        ok = False
    else:
        past = in_the_past(date, run.today, run.config.timezone)
        if past is not None:
            # Only plan knows whether the campaign is still to be created (an error) or was
            # created before its date went by (fine): validate reads no state.
            run.problem(
                located.at((*base, "date")),
                (*base, "date"),
                f"{past}: fine for a campaign already created; plan refuses it for one to create",
                Rule.DATE_IN_PAST,
                "warning",
            )
    start, end = parse_hhmm(raw["start_time"]), parse_hhmm(raw["end_time"])
    if end <= start:
        run.problem(
            located.at((*base, "end_time")),
            (*base, "end_time"),
            f"end_time {raw['end_time']} must be after start_time {raw['start_time']}",
            Rule.TIME_ORDER,
        )
        ok = False
    hours = run.config.policy.calling_hours
    if hours is not None and start < hours.earliest:
        run.problem(
            located.at((*base, "start_time")),
            (*base, "start_time"),
            f"{raw['start_time']} is before the earliest calling hour "
            f"{hours.earliest:%H:%M} allowed by policy",
            Rule.POLICY,
        )
        ok = False
    if hours is not None and end > hours.latest:
        run.problem(
            located.at((*base, "end_time")),
            (*base, "end_time"),
            f"{raw['end_time']} is after the latest calling hour "
            f"{hours.latest:%H:%M} allowed by policy",
            Rule.POLICY,
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


def in_the_past(date: dt.date, today: dt.date, timezone: str) -> str | None:
    """`DATE is in the past in ZONE` when `date` is before `today` there, else None."""
    if date >= today:
        return None
    return f"{date.isoformat()} is in the past in {timezone}"


def _phones(run: Run, raw: dict[str, Any], doc: Document, located: Located) -> PhonesSpec | None:
    base_dir = doc.path.parent
    source: PhoneSource | None
    if "csv" in raw:
        source = _phone_file(run, "csv", raw["csv"], base_dir, located)
    elif "jsonl" in raw:
        source = _phone_file(run, "jsonl", raw["jsonl"], base_dir, located)
    else:
        source = _inline(run, raw["inline"], located)
    excludes: list[Exclude] = []
    for index, rel in enumerate(raw.get("exclude", ())):
        where: FieldPath = (*PHONES, "exclude", index)
        path = _data_path(run, rel, base_dir, where, located)
        if path is not None:
            excludes.append(Exclude(path, located.at(where)))
    if source is None or len(excludes) != len(raw.get("exclude", ())):
        return None
    return PhonesSpec(
        source=source,
        default_region=raw.get("default_region", "RU"),
        dedupe=raw.get("dedupe", True),
        # The config's suppression lists apply to every campaign, before its own lists.
        exclude=(*run.config.policy.suppress, *excludes),
        on_invalid=raw.get("on_invalid", "error"),
        timezone_column=raw.get("timezone_column"),
        only_new=raw.get("only_new", False),
        on_frequency=raw.get("on_frequency", "refuse"),
    )


def _phone_file(
    run: Run, kind: str, raw: dict[str, Any], base_dir: Path, located: Located
) -> CsvSource | JsonlSource | None:
    """The `csv` or `jsonl` phone source: its path inside the project, its file inspected."""
    base: FieldPath = (*PHONES, kind)
    path = _data_path(run, raw["path"], base_dir, (*base, "path"), located)
    if path is None:
        return None
    where = located.at((*base, "path"))
    column, encoding = raw.get("phone_column", "phone"), raw.get("encoding", "utf-8")
    source: CsvSource | JsonlSource
    if kind == "csv":
        delimiter = raw.get("delimiter")
        source = CsvSource(path, where, column, delimiter=delimiter, encoding=encoding)
    else:
        source = JsonlSource(path, where, column, encoding=encoding)
    return _check_file(run, source, raw, base, located)


def _inline(run: Run, raw: list[Any], located: Located) -> InlineSource | None:
    entries: list[str | Mapping[str, Any]] = []
    for entry in raw:
        if isinstance(entry, dict):
            entries.append({**entry, "phone": str(entry["phone"])})
        else:
            entries.append(str(entry))
    limit = run.config.policy.max_phones_per_campaign
    if limit is not None and len(entries) > limit:
        where: FieldPath = (*PHONES, "inline")
        run.problem(
            located.at(where),
            where,
            f"{len(entries)} phones, more than the {limit} allowed by policy",
            Rule.POLICY,
        )
        return None
    locations = tuple(located.at((*PHONES, "inline", i)) for i in range(len(entries)))
    return InlineSource(entries=tuple(entries), locations=locations)


def _data_path(
    run: Run, written: str, base_dir: Path, where: FieldPath, located: Located
) -> Path | None:
    try:
        return existing_file(run.config.root, base_dir, written)
    except DataFileError as exc:
        run.problem(located.at(where), where, exc.problem.message, Rule.DATA_FILE)
        return None


def _check_file(
    run: Run,
    source: CsvSource | JsonlSource,
    raw: dict[str, Any],
    base: FieldPath,
    located: Located,
) -> CsvSource | JsonlSource | None:
    """Inspect a phone file once per run, however many campaigns share it, and place its
    problem on the manifest field it belongs to; or, when the run leaves reading the file
    to the render, hand the render those places."""
    limit = run.config.policy.max_phones_per_campaign
    if run.defer_data_files:
        places = {
            field: (located.at(path), format_field(path))
            for field in ("path", "encoding", "phone_column")
            for path in [_field_of(field, raw, base)]
        }
        return dataclasses.replace(source, checks=FileChecks(raw["path"], places, limit))
    key = (
        type(source),
        source.path,
        source.encoding,
        source.phone_column,
        getattr(source, "delimiter", None),
    )
    if key not in run.data_files:
        run.data_files[key] = inspect(source, raw["path"], count_rows=limit is not None)
    found = run.data_files[key]
    if isinstance(found, FileProblem):
        where = _field_of(found.kind.field, raw, base)
        run.problem(located.at(where), where, found.message, Rule.DATA_FILE)
        return None
    if limit is not None and found.rows is not None and found.rows > limit:
        where = (*base, "path")
        message = too_many_rows(raw["path"], found.rows, limit)
        run.problem(located.at(where), where, message, Rule.POLICY)
        return None
    return source


def _field_of(field: str, raw: dict[str, Any], base: FieldPath) -> FieldPath:
    """The manifest field a data file problem is placed on."""
    if field == "phone_column" and field not in raw:
        field = "path"  # the manifest relies on the default column: the file lacks it
    return (*base, field)


def _defaults_marks(config: Config) -> tuple[Marks, Marks]:
    """Where each default is written in dialogops.yaml, keyed as its path under `spec`."""
    if config.marks is None:
        return NO_MARKS
    values, keys = config.marks.defaults, config.marks.default_keys
    return (
        {("spec", *path): loc for path, loc in values.items()},
        {("spec", *path): loc for path, loc in keys.items()},
    )


def _past_defaults(doc: Document, joined: Mapping[FieldPath, int]) -> Document:
    """`doc` with the marks of its list items moved past the items joined from defaults."""
    if not joined:
        return doc

    def shifted(marks: Marks) -> dict[FieldPath, Location]:
        moved: dict[FieldPath, Location] = {}
        for path, where in marks.items():
            for at, count in joined.items():
                size = len(at) + 1
                index = path[size] if path[1:size] == at and len(path) > size else None
                if path[:1] == ("spec",) and isinstance(index, int):
                    path = (*path[:size], index + count, *path[size + 1 :])
                    break
            moved[path] = where
        return moved

    return dataclasses.replace(doc, marks=shifted(doc.marks), key_marks=shifted(doc.key_marks))
