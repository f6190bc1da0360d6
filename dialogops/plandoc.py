"""The plan document, declared once: what `plan --format json` prints and `plan --out` saves.

A saved plan is the same document with `created_at` added, the masked phones (samples and
skipped rows) and the changed fields left out, and only the campaigns it creates listed, so
it holds no phone number and no add_data template at all; `apply --plan` decodes it typed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Literal, TypeVar

import msgspec
from msgspec import UNSET, Struct, UnsetType

from dialogops import __version__
from dialogops.errors import StateError, UsageError
from dialogops.ledger.judge import LedgerFindings
from dialogops.ledger.records import Example
from dialogops.localhours.groups import Example as HoursExample
from dialogops.phones import mask
from dialogops.planner import Action, ActionStatus, Plan
from dialogops.render import RenderedCampaign
from dialogops.specs import Campaign
from dialogops.state import StateEntry, Status, TemplateSource
from dialogops.state.model import Count, Fingerprint, reason_and_path

# The layout of `plan --format json`.
PLAN_FORMAT_VERSION = 1
# The layout of `plan --out`; 1 was a separate, smaller document that is no longer read.
SAVED_PLAN_FORMAT_VERSION = 2
SAMPLE_SIZE = 3

_T = TypeVar("_T")


class StateDoc(Struct, frozen=True):
    lineage: str  # "" when there was no state yet
    serial: Count


class OptionsDoc(Struct, frozen=True):
    targets: tuple[str, ...]
    replace: tuple[str, ...]
    vars: tuple[str, ...]  # the names of the template vars; the values are never written
    environment: str | None = None  # --env; None: the top level of dialogops.yaml


class SummaryDoc(Struct, frozen=True):
    create: Count
    replace: Count
    unchanged: Count
    changed: Count
    unknown: Count
    orphaned: Count
    to_create: Count
    phones_to_call: Count
    has_changes: bool
    blocked: bool


class ScheduleDoc(Struct, frozen=True):
    date: str
    start_time: str
    end_time: str
    attempts: int
    interval_minutes: int


class ManifestDoc(Struct, frozen=True):
    source: str  # file:line of the manifest document
    title: str
    project_id: int
    start_block_id: int
    phone_id: int
    schedule: ScheduleDoc
    add_data_keys: tuple[str, ...]


class SkippedDoc(Struct, frozen=True):
    """A row left out by `on_invalid: skip`."""

    at: str  # file:line, or where an inline entry is written
    phone: str  # masked
    reason: str


class ExcludedDoc(Struct, frozen=True):
    list: str  # an exclude or policy.suppress file, as the plan names it
    rows: Count


class RenderDoc(Struct, frozen=True):
    fingerprint: Fingerprint
    phones: Count
    rows: Count
    duplicates: Count
    excluded: Count
    skipped: Count
    # Masked; UNSET (so not written at all) in a saved plan.
    sample_phones: tuple[str, ...] | UnsetType = UNSET
    # The first skipped rows (`skipped` counts them all); UNSET in a saved plan.
    skipped_rows: tuple[SkippedDoc, ...] | UnsetType = UNSET
    excluded_by: tuple[ExcludedDoc, ...] | UnsetType = UNSET  # rows per exclude list
    left_out: Count | UnsetType = UNSET  # left out by the ledger; both UNSET when saved


class CapDoc(Struct, frozen=True):  # the recipients one frequency rule puts over its cap
    rule: str  # per_day | per_week | per_month
    limit: Count
    over: Count
    examples: tuple[ExampleDoc, ...] | UnsetType = UNSET  # the first few; UNSET when saved


class LedgerDoc(Struct, frozen=True):
    """What the contact ledger found among the recipients of a campaign to create; with
    `only_new`, the campaign it replaces and who is new."""

    caps: tuple[CapDoc, ...]
    over: Count  # recipients over any cap
    on_frequency: Literal["refuse", "skip"]
    replaced_id: int | None = None
    new: Count | None = None
    already_called: Count | None = None


class EntryDoc(Struct, frozen=True):
    status: Status
    id: int | None
    fingerprint: Fingerprint
    phones: Count
    created_at: str | None
    revision: int = 1  # the metadata.revision it was created with
    date: str | None = None  # its schedule date, when state recorded what was sent


class FieldChangeDoc(Struct, frozen=True):
    field: str  # `schedule.start_time`, `add_data.name`, `data_files.data/nps.csv`
    old: TemplateSource | None  # None: the field was not there
    new: TemplateSource | None


class ChangesDoc(Struct, frozen=True):
    """How a changed (or replaced) campaign differs from what was sent for it."""

    recorded: bool  # False: the state entry predates recording what was sent
    fields: tuple[FieldChangeDoc, ...]


class ExampleDoc(Struct, frozen=True):
    """A recipient shown as an example: file:line, and the number masked."""

    at: str
    phone: str


class OffsetGroupDoc(Struct, frozen=True):
    """The recipients at one UTC offset and the window they are rung in on their clock."""

    offset: str  # `+03`
    zones: tuple[str, ...]
    recipients: Count
    local_start: str  # ISO 8601 local date-time, no offset
    local_end: str
    day: str  # `working day`, `weekend`, `holiday`
    allowed: str  # `08:00-22:00`
    inside: bool
    # The first recipients outside their hours; UNSET in a saved plan.
    examples: tuple[ExampleDoc, ...] | UnsetType = UNSET


class LocalHoursDoc(Struct, frozen=True):
    """A campaign's recipients against policy.local_hours."""

    groups: tuple[OffsetGroupDoc, ...]
    sources: dict[str, Count]  # column, number, numbering_plan, platform, unknown
    outside: Count
    unknown: Count
    on_local_hours: str  # `block` or `skip`
    unknown_timezone: str
    blocking: str | None
    part_of: str | None = None  # the split manifest, for one of its parts


class CampaignDoc(Struct, frozen=True):
    name: str
    status: ActionStatus
    mark: str
    will_create: bool
    resolution: str | None
    campaign: ManifestDoc | None  # None for orphaned
    render: RenderDoc | None  # None for orphaned
    state: EntryDoc | None  # None when not in state
    # For changed and replace, else None; UNSET in a saved plan (it may quote templates).
    changes: ChangesDoc | UnsetType | None = UNSET
    local_hours: LocalHoursDoc | None = None  # None without policy.local_hours
    ledger: LedgerDoc | None = None  # for a campaign to create the ledger judged


class PlanDocument(Struct, frozen=True):
    """`plan --format json`, described in docs/plan-format.md."""

    format_version: int
    dialogops_version: str
    state: StateDoc
    options: OptionsDoc
    summary: SummaryDoc
    campaigns: tuple[CampaignDoc, ...]  # sorted by name

    @property
    def targets(self) -> tuple[str, ...]:
        """The --target names, with which `apply --plan` plans again."""
        return self.options.targets

    @property
    def replace(self) -> tuple[str, ...]:
        """The --replace names, with which `apply --plan` plans again."""
        return self.options.replace


class SavedPlan(PlanDocument, frozen=True):
    """`plan --out FILE`: what was reviewed, so `apply --plan` can refuse a stale plan."""

    created_at: str


class _Version(Struct):
    """What is read of a saved plan before its layout is known."""

    format_version: int
    dialogops_version: str = "unknown"


_ENCODER = msgspec.json.Encoder()
_VERSION_DECODER = msgspec.json.Decoder(_Version)
_SAVED_DECODER = msgspec.json.Decoder(SavedPlan)


def plan_document(plan: Plan) -> PlanDocument:
    """The document `plan --format json` prints."""
    return PlanDocument(PLAN_FORMAT_VERSION, *_body(plan, for_review=True))


def saved_plan(plan: Plan) -> SavedPlan:
    """The document `plan --out` writes: the plan document without any phone, and its time."""
    return SavedPlan(
        SAVED_PLAN_FORMAT_VERSION,
        *_body(plan, for_review=False),
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


def encode(document: PlanDocument) -> str:
    """The document as indented JSON text, non-ASCII kept as is, ending in a newline."""
    return msgspec.json.format(_ENCODER.encode(document), indent=2).decode("utf-8") + "\n"


def decode_saved(raw: bytes, origin: str) -> SavedPlan:
    """Read a saved plan; a malformed one is a `UsageError` naming the failing field's path,
    one written by a newer dialogops (a higher format_version) a `StateError`."""
    version = _decode(_VERSION_DECODER, raw, origin)
    if version.format_version > SAVED_PLAN_FORMAT_VERSION:
        raise StateError(
            f"plan file {origin} has format_version {version.format_version}, written by "
            f"dialogops {version.dialogops_version}; this dialogops reads up to "
            f"{SAVED_PLAN_FORMAT_VERSION}: upgrade dialogops or run plan again"
        )
    if version.format_version < SAVED_PLAN_FORMAT_VERSION:
        raise UsageError(
            f"plan file {origin} has format_version {version.format_version}: it is the output "
            "of `plan --format json` or a plan saved by an older dialogops; "
            "save the plan again with `dialogops plan --out FILE`"
        )
    return _decode(_SAVED_DECODER, raw, origin)


def masked_sample(rendered: RenderedCampaign) -> tuple[str, ...]:
    """The first phones a campaign would call, masked (`+7999***4567`), as every view shows."""
    return tuple(mask(phone) for phone in rendered.sample_phones[:SAMPLE_SIZE])


def _decode(decoder: msgspec.json.Decoder[_T], raw: bytes, origin: str) -> _T:
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        message, at = reason_and_path(exc)
        raise UsageError(
            f"plan file {origin} is not a dialogops saved plan ({at}: {message})"
        ) from exc
    except msgspec.DecodeError as exc:
        raise UsageError(f"plan file {origin} is not a dialogops saved plan ({exc})") from exc
    except RecursionError:  # msgspec recurses per level of nesting, even in a skipped value
        raise UsageError(
            f"plan file {origin} is not a dialogops saved plan (JSON nested too deeply to read)"
        ) from None


def _body(
    plan: Plan, *, for_review: bool
) -> tuple[str, StateDoc, OptionsDoc, SummaryDoc, tuple[CampaignDoc, ...]]:
    """Every field after format_version, in the order the document declares them.

    `for_review`: the plan document, with masked phones and changed fields; else the saved
    plan, without them, and listing only the campaigns it creates (a blocked plan is not
    saved; the summary still counts every one: years of unchanged and orphaned entries
    would make it megabytes).
    """
    listed = plan.actions if for_review else [a for a in plan.actions if a.will_create]
    return (
        __version__,
        StateDoc(plan.lineage, plan.serial),
        OptionsDoc(plan.targets, plan.replace, plan.var_names, plan.environment),
        SummaryDoc(
            create=plan.count("create"),
            replace=plan.count("replace"),
            unchanged=plan.count("unchanged"),
            changed=plan.count("changed"),
            unknown=plan.count("unknown"),
            orphaned=plan.count("orphaned"),
            to_create=len(plan.creates),
            phones_to_call=plan.phones_to_call,
            has_changes=plan.has_changes,
            blocked=bool(plan.blockers),
        ),
        tuple(_campaign(action, for_review) for action in listed),
    )


def _campaign(action: Action, for_review: bool) -> CampaignDoc:
    campaign, rendered, entry = action.campaign, action.rendered, action.entry
    return CampaignDoc(
        name=action.name,
        status=action.status,
        mark=action.mark,
        will_create=action.will_create,
        resolution=action.resolution,
        campaign=None if campaign is None else _manifest(campaign),
        render=None if rendered is None else _render(rendered, for_review),
        state=None if entry is None else entry_doc(entry),
        changes=_changes(action) if for_review else UNSET,
        local_hours=None if action.local_hours is None else _hours(action, for_review),
        ledger=None if action.ledger is None else _ledger(action.ledger, for_review),
    )


def _hours(action: Action, for_review: bool) -> LocalHoursDoc:
    hours = action.local_hours
    assert hours is not None
    groups = tuple(
        OffsetGroupDoc(
            offset=g.label,
            zones=g.zones,
            recipients=g.recipients,
            local_start=g.window.start.isoformat(timespec="minutes"),
            local_end=g.window.end.isoformat(timespec="minutes"),
            day=g.window.day,
            allowed=str(g.window.allowed),
            inside=g.window.inside,
            examples=_examples(g.examples) if for_review else UNSET,
        )
        for g in hours.groups
    )
    return LocalHoursDoc(
        groups=groups,
        sources=dict(hours.sources),
        outside=hours.outside,
        unknown=hours.unknown,
        on_local_hours="skip" if hours.skip_outside else "block",
        unknown_timezone=hours.unknown_timezone,
        blocking=action.hours_blocked,
        part_of=hours.part_of,
    )


def _ledger(found: LedgerFindings, for_review: bool) -> LedgerDoc:
    caps = tuple(
        CapDoc(c.rule, c.limit, c.count, _examples(c.examples) if for_review else UNSET)
        for c in found.caps
    )
    new = found.only_new
    only_new = () if new is None else (new.replaced_id, new.new, new.already)
    return LedgerDoc(caps, found.over, "skip" if found.skip else "refuse", *only_new)


def _examples(examples: Iterable[Example | HoursExample]) -> tuple[ExampleDoc, ...]:
    return tuple(ExampleDoc(f"{e.location.path}:{e.location.line}", e.phone) for e in examples)


def _changes(action: Action) -> ChangesDoc | None:
    if action.status not in ("changed", "replace"):
        return None
    fields = tuple(FieldChangeDoc(c.field, c.old, c.new) for c in action.changes or ())
    return ChangesDoc(recorded=action.changes is not None, fields=fields)


def _manifest(campaign: Campaign) -> ManifestDoc:
    schedule = campaign.schedule
    return ManifestDoc(
        source=f"{campaign.location.path}:{campaign.location.line}",
        title=campaign.title,
        project_id=campaign.project_id,
        start_block_id=campaign.start_block_id,
        phone_id=campaign.phone_id,
        schedule=ScheduleDoc(
            date=schedule.date.isoformat(),
            start_time=f"{schedule.start_time:%H:%M}",
            end_time=f"{schedule.end_time:%H:%M}",
            attempts=schedule.attempts,
            interval_minutes=schedule.interval_minutes,
        ),
        add_data_keys=tuple(campaign.add_data),
    )


def _render(rendered: RenderedCampaign, for_review: bool) -> RenderDoc:
    stats = rendered.stats
    return RenderDoc(
        fingerprint=rendered.fingerprint,
        phones=stats.phones,
        rows=stats.rows,
        duplicates=stats.duplicates,
        excluded=stats.excluded,
        skipped=stats.skipped,
        sample_phones=masked_sample(rendered) if for_review else UNSET,
        skipped_rows=tuple(
            SkippedDoc(f"{r.location.path}:{r.location.line}", r.phone, r.reason)
            for r in rendered.skipped_rows
        )
        if for_review
        else UNSET,
        excluded_by=tuple(ExcludedDoc(path, rows) for path, rows in stats.excluded_by)
        if for_review
        else UNSET,
        left_out=stats.dropped if for_review else UNSET,
    )


def entry_doc(entry: StateEntry) -> EntryDoc:
    """A state entry as the plan documents show it."""
    return EntryDoc(
        status=entry.status,
        id=entry.id,
        fingerprint=entry.fingerprint,
        phones=entry.phones,
        created_at=entry.created_at,
        revision=entry.revision,
        date=None if entry.sent is None else entry.sent.schedule.date,
    )
