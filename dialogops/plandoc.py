"""The plan document, declared once: what `plan --format json` prints and `plan --out` saves.

A saved plan is the same document with `created_at` added and the masked sample phones left
out, so it holds no phone number at all; `apply --plan` decodes it typed.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, TypeVar

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from dialogops import __version__
from dialogops.errors import StateError, UsageError
from dialogops.phones import mask
from dialogops.planner import Action, ActionStatus, Plan
from dialogops.render import RenderedCampaign
from dialogops.specs import Campaign
from dialogops.state import StateEntry, Status

# The layout of `plan --format json`.
PLAN_FORMAT_VERSION = 1
# The layout of `plan --out`; 1 was a separate, smaller document that is no longer read.
SAVED_PLAN_FORMAT_VERSION = 2
SAMPLE_SIZE = 3

_T = TypeVar("_T")

Count = Annotated[int, Meta(ge=0)]
Fingerprint = Annotated[str, Meta(pattern=r"^sha256:[0-9a-f]{64}$")]


class StateDoc(Struct, frozen=True):
    lineage: str  # "" when there was no state yet
    serial: Count


class OptionsDoc(Struct, frozen=True):
    targets: tuple[str, ...]
    replace: tuple[str, ...]
    vars: tuple[str, ...]  # the names of the --var values; the values are never written


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


class RenderDoc(Struct, frozen=True):
    fingerprint: Fingerprint
    phones: Count
    rows: Count
    duplicates: Count
    excluded: Count
    skipped: Count
    # Masked; UNSET (so not written at all) in a saved plan.
    sample_phones: tuple[str, ...] | UnsetType = UNSET


class EntryDoc(Struct, frozen=True):
    status: Status
    id: int | None
    fingerprint: Fingerprint
    phones: Count
    created_at: str | None


class CampaignDoc(Struct, frozen=True):
    name: str
    status: ActionStatus
    mark: str
    will_create: bool
    resolution: str | None
    campaign: ManifestDoc | None  # None for orphaned
    render: RenderDoc | None  # None for orphaned
    state: EntryDoc | None  # None when not in state


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
    return PlanDocument(PLAN_FORMAT_VERSION, *_body(plan, samples=True))


def saved_plan(plan: Plan) -> SavedPlan:
    """The document `plan --out` writes: the plan document without any phone, and its time."""
    return SavedPlan(
        SAVED_PLAN_FORMAT_VERSION,
        *_body(plan, samples=False),
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


def encode(document: PlanDocument) -> str:
    """The document as indented JSON text, non-ASCII kept as is, ending in a newline."""
    return msgspec.json.format(_ENCODER.encode(document), indent=2).decode("utf-8") + "\n"


def decode_saved(raw: bytes, origin: str) -> SavedPlan:
    """Read a saved plan; a malformed one is a `UsageError` naming the failing field's path.

    A plan written by a newer dialogops (a higher format_version) is a `StateError`.
    """
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
        # msgspec ends its message with " - at `$.path`" unless the top level is wrong.
        message, _, at = str(exc).partition(" - at `")
        raise UsageError(
            f"plan file {origin} is not a dialogops saved plan ({at.rstrip('`') or '$'}: {message})"
        ) from exc
    except msgspec.DecodeError as exc:
        raise UsageError(f"plan file {origin} is not a dialogops saved plan ({exc})") from exc


def _body(
    plan: Plan, *, samples: bool
) -> tuple[str, StateDoc, OptionsDoc, SummaryDoc, tuple[CampaignDoc, ...]]:
    """Every field after format_version, in the order the document declares them."""
    return (
        __version__,
        StateDoc(plan.lineage, plan.serial),
        OptionsDoc(plan.targets, plan.replace, plan.var_names),
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
        tuple(_campaign(action, samples) for action in plan.actions),
    )


def _campaign(action: Action, samples: bool) -> CampaignDoc:
    campaign, rendered, entry = action.campaign, action.rendered, action.entry
    return CampaignDoc(
        name=action.name,
        status=action.status,
        mark=action.mark,
        will_create=action.will_create,
        resolution=action.resolution,
        campaign=None if campaign is None else _manifest(campaign),
        render=None if rendered is None else _render(rendered, samples),
        state=None if entry is None else _entry(entry),
    )


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


def _render(rendered: RenderedCampaign, samples: bool) -> RenderDoc:
    stats = rendered.stats
    return RenderDoc(
        fingerprint=rendered.fingerprint,
        phones=stats.phones,
        rows=stats.rows,
        duplicates=stats.duplicates,
        excluded=stats.excluded,
        skipped=stats.skipped,
        sample_phones=masked_sample(rendered) if samples else UNSET,
    )


def _entry(entry: StateEntry) -> EntryDoc:
    return EntryDoc(
        status=entry.status,
        id=entry.id,
        fingerprint=entry.fingerprint,
        phones=entry.phones,
        created_at=entry.created_at,
    )
