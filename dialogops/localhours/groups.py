"""A campaign's recipients grouped by UTC offset, each group's window on its own clock, and
the campaigns a `split_by: timezone` manifest becomes.

One pass over the phone rows (valid, not excluded, not repeated: the numbers render would
send) resolves every recipient's zone; the groups are judged against the schedule, so the
parts of a split are judged from the same pass.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dialogops import phones, sources
from dialogops.errors import Location, Problem, RenderError, Rule
from dialogops.localhours import numplan, rules
from dialogops.localhours.numplan import NumberingPlan
from dialogops.localhours.rules import LocalWindow
from dialogops.localhours.zones import (
    MAX_PROBLEMS,
    SOURCES,
    ColumnValueError,
    Resolver,
    Zone,
    ZoneSource,
    parse_zone,
    zone_name,
)
from dialogops.phones import mask
from dialogops.specs import Campaign, UnknownTimezone, ZoneRules

EXAMPLES = 3  # recipients shown per group outside its hours, and of unknown zone
COLUMN_FIELD = "spec.phones.timezone_column"


@dataclass(frozen=True, order=True)
class Example:
    """A recipient shown in the plan: where the row is written, and the number masked."""

    location: Location
    phone: str


@dataclass(frozen=True)
class Group:
    """The recipients at one UTC offset, and when the campaign rings them."""

    label: str  # `+03`
    zones: tuple[str, ...]  # the zones resolved into it, in the order first met
    recipients: int
    window: LocalWindow
    examples: tuple[Example, ...]  # the first few recipients, when outside allowed hours


@dataclass(frozen=True)
class Assessment:
    """What the plan shows of a campaign's recipients against their allowed local hours."""

    groups: tuple[Group, ...]  # by offset, west to east
    sources: tuple[tuple[ZoneSource, int], ...]  # how many zones each source gave
    unknown: int  # recipients of no known zone (not counted in any group)
    unknown_examples: tuple[Example, ...]
    unknown_timezone: UnknownTimezone
    skip_outside: bool  # `on_local_hours: skip`: recipients outside their hours are dropped
    part_of: str | None = None  # the split manifest's name, for a part

    @property
    def outside(self) -> int:
        return sum(g.recipients for g in self.groups if not g.window.inside)

    @property
    def blocking(self) -> str | None:
        """Why apply must refuse the campaign, or None."""
        reasons = []
        if self.outside and not self.skip_outside:
            reasons.append(
                f"{self.outside} recipients would be called outside their allowed local "
                "hours: set on_local_hours: skip, or split_by: timezone"
            )
        if self.unknown and self.unknown_timezone == "refuse":
            reasons.append(
                f"{self.unknown} recipients have no known time zone: add a timezone_column "
                "or a numbering plan, or set policy.unknown_timezone"
            )
        return "; ".join(reasons) or None


@dataclass
class _Tally:
    zones: dict[str, None] = field(default_factory=dict)
    recipients: int = 0
    examples: list[Example] = field(default_factory=list)
    sources: dict[ZoneSource, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))


@dataclass
class _Scan:
    """One pass over a campaign's recipients, by offset at the campaign's start."""

    groups: dict[dt.timedelta, _Tally] = field(default_factory=dict)
    unknown: _Tally = field(default_factory=_Tally)


@dataclass(frozen=True)
class Expansion:
    """The campaigns to plan (split manifests replaced by their parts) and their assessments."""

    campaigns: tuple[Campaign, ...]
    assessments: Mapping[str, Assessment]  # by campaign name
    problems: tuple[Problem, ...]
    split: Mapping[str, tuple[str, ...]]  # a split manifest's name -> its parts' names


def expand(campaigns: list[Campaign]) -> Expansion:
    """Assess every campaign under local-hour rules; replace each split one by its parts."""
    planned: list[Campaign] = []
    assessments: dict[str, Assessment] = {}
    problems: list[Problem] = []
    split: dict[str, tuple[str, ...]] = {}
    for campaign in campaigns:
        zones = campaign.zones
        if zones is None:
            planned.append(campaign)
            continue
        try:
            scan = _scan(campaign, zones)
        except RenderError as exc:
            problems.extend(exc.problems)
            planned.append(campaign)  # rendering reports its other problems
            continue
        if campaign.split_by is None:
            planned.append(campaign)
            assessments[campaign.name] = _assess(campaign, zones, scan, scan.groups)
            continue
        parts, found = _split(campaign, zones, scan)
        problems.extend(found)
        for offset, part in parts:
            assessments[part.name] = _assess(part, zones, scan, {offset: scan.groups[offset]})
            planned.append(part)
        split[campaign.name] = tuple(part.name for _, part in parts)
    return Expansion(tuple(planned), assessments, tuple(problems), split)


def find(campaigns: Iterable[Campaign], name: str) -> Campaign | None:
    """The campaign named `name`, a part of a split manifest (`NAME@+03`) included; a split
    manifest itself is none (its parts are)."""
    base = name.partition("@")[0]
    found = [c for c in campaigns if c.name == base and (c.split_by is None) == (base == name)]
    if not found or base == name:
        return found[0] if found else None
    expansion = expand(found)
    if expansion.problems:
        raise RenderError(list(expansion.problems))
    return next((c for c in expansion.campaigns if c.name == name), None)


def row_filter(campaign: Campaign) -> Callable[[str, Mapping[str, Any]], bool] | None:
    """Whether render keeps a recipient: a part keeps its own group's; `skip` drops those
    outside their hours or of unknown zone. None when every recipient is kept."""
    zones = campaign.zones
    if zones is None:
        return None
    skip_outside = campaign.on_local_hours == "skip"
    if campaign.part is None and not skip_outside and zones.unknown_timezone != "skip":
        return None
    resolver = _resolver(campaign, zones)
    start, end = rules.platform_window(campaign.schedule, zones.platform)
    kept: dict[Zone | None, bool] = {}  # by zone: most rows share a few

    def keep(e164: str, row: Mapping[str, Any]) -> bool:
        try:
            zone, _ = resolver.resolve(e164, row)
        except ColumnValueError:
            return False  # planning refuses the value; nothing is sent with it
        verdict = kept.get(zone)
        if verdict is None:
            offset = None if zone is None else start.astimezone(zone).utcoffset()
            if offset is None:
                verdict = False
            elif campaign.part is not None:
                verdict = rules.offset_label(offset) == campaign.part
            else:
                verdict = (
                    not skip_outside
                    or rules.local_window(start, end, offset, zones.local_hours).inside
                )
            kept[zone] = verdict
        return verdict

    return keep


def _resolver(campaign: Campaign, zones: ZoneRules) -> Resolver:
    """The campaign's resolver: one per numbering plan (as read now) and settings, so the
    planning pass and rendering share what they looked up."""
    plan = None
    if zones.numbering_plan is not None and zones.numbering_plan_location is not None:
        plan = numplan.load(zones.numbering_plan, zones.numbering_plan_location)
    assume = zones.platform if zones.unknown_timezone == "assume_platform" else None
    return _shared_resolver(campaign.phones.timezone_column, plan, assume)


@functools.lru_cache(maxsize=8)
def _shared_resolver(
    column: str | None, plan: NumberingPlan | None, assume: str | None
) -> Resolver:
    return Resolver(column, plan, None if assume is None else parse_zone(assume))


def _scan(campaign: Campaign, zones: ZoneRules) -> _Scan:
    """Resolve the zone of every recipient render would send; RenderError lists the rows
    whose timezone column holds no zone (and a numbering plan that cannot be read)."""
    spec = campaign.phones
    resolver = _resolver(campaign, zones)
    excludes = sources.read_excludes(spec.exclude, spec.default_region)
    seen: set[int] = set()
    by_zone: dict[Zone | None, _Tally] = {}
    problems: list[Problem] = []
    for data, raw, position in sources.raw_rows(spec.source):
        e164 = None if raw is None else phones.fast_e164(raw, spec.default_region)
        if e164 is None and raw is not None:
            # Render reports an invalid number, or skips it with on_invalid: skip.
            with contextlib.suppress(ValueError):
                e164 = phones.normalize(raw, spec.default_region)
        if e164 is None or e164 in excludes:
            continue
        if spec.dedupe:
            number = int(e164[1:])
            if number in seen:
                continue
            seen.add(number)
        try:
            zone, source = resolver.resolve(e164, data)
        except ColumnValueError as exc:
            if len(problems) < MAX_PROBLEMS:
                where = sources.origin(spec.source, position)
                problems.append(Problem(where, COLUMN_FIELD, str(exc), Rule.DATA_FILE))
            continue
        tally = by_zone.get(zone)
        if tally is None:
            tally = by_zone[zone] = _Tally()
        tally.recipients += 1
        tally.sources[source] += 1
        if len(tally.examples) < EXAMPLES:
            tally.examples.append(Example(sources.origin(spec.source, position), mask(e164)))
    if problems:
        raise RenderError(problems)
    return _by_offset(by_zone, rules.platform_window(campaign.schedule, zones.platform)[0])


def _by_offset(by_zone: dict[Zone | None, _Tally], start: dt.datetime) -> _Scan:
    """The tallies of each zone merged by the zone's UTC offset at the campaign's start."""
    scan = _Scan(unknown=by_zone.pop(None, _Tally()))
    for zone, tally in by_zone.items():
        assert zone is not None
        offset = start.astimezone(zone).utcoffset() or dt.timedelta(0)
        group = scan.groups.setdefault(offset, _Tally())
        group.zones.setdefault(zone_name(zone))
        group.recipients += tally.recipients
        group.examples = sorted([*group.examples, *tally.examples])[:EXAMPLES]
        for source, count in tally.sources.items():
            group.sources[source] += count
    return scan


def _assess(
    campaign: Campaign, zones: ZoneRules, scan: _Scan, groups: Mapping[dt.timedelta, _Tally]
) -> Assessment:
    start, end = rules.platform_window(campaign.schedule, zones.platform)
    counted = dict(scan.unknown.sources)
    judged = []
    for offset in sorted(groups):
        tally = groups[offset]
        for source, count in tally.sources.items():
            counted[source] += count
        window = rules.local_window(start, end, offset, zones.local_hours)
        judged.append(
            Group(
                label=rules.offset_label(offset),
                zones=tuple(tally.zones),
                recipients=tally.recipients,
                window=window,
                examples=() if window.inside else tuple(tally.examples),
            )
        )
    return Assessment(
        groups=tuple(judged),
        sources=tuple((source, count) for source, count in counted.items() if count),
        unknown=scan.unknown.recipients,
        unknown_examples=tuple(scan.unknown.examples),
        unknown_timezone=zones.unknown_timezone,
        skip_outside=campaign.on_local_hours == "skip",
        part_of=None if campaign.part is None else campaign.name.rpartition("@")[0],
    )


def _split(
    campaign: Campaign, zones: ZoneRules, scan: _Scan
) -> tuple[list[tuple[dt.timedelta, Campaign]], list[Problem]]:
    """One campaign per offset group, each called within its allowed hours."""
    parts: list[tuple[dt.timedelta, Campaign]] = []
    problems: list[Problem] = []
    for offset in sorted(scan.groups):
        label = rules.offset_label(offset)
        hours = zones.local_hours
        schedule = rules.split_schedule(campaign.schedule, offset, zones.platform, hours)
        if schedule is None:
            allowed, kind = rules.allowed_on(campaign.schedule.date, hours)
            tally = scan.groups[offset]
            problems.append(
                Problem(
                    campaign.location,
                    "spec.split_by",
                    f"group {label} ({', '.join(tally.zones)}; {tally.recipients} recipients): "
                    f"the window {campaign.schedule.start_time:%H:%M}-"
                    f"{campaign.schedule.end_time:%H:%M} on its clock, within the allowed "
                    f"{allowed} of a {kind}, leaves no time on one {zones.platform} date",
                    Rule.POLICY,
                )
            )
            continue
        part = dataclasses.replace(
            campaign,
            name=f"{campaign.name}@{label}",
            title=f"{campaign.title} (UTC{label})",
            schedule=schedule,
            part=label,
        )
        parts.append((offset, part))
    return parts, problems
