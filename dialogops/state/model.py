"""The state as records: each campaign's status and platform ID, and the pure changes to them.

Every change returns a new value; how the state is stored is a backend's business, how it
is written down `codec.py`'s. The constrained types below are the rules `codec.py` checks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from dialogops.errors import StateError
from dialogops.hints import PLAIN, Hints
from dialogops.specs import MAX_ID

Status = Literal["pending", "created", "unknown"]

# The platform's IDs are positive signed 64-bit integers (client.py checks answers the same way).
CampaignId = Annotated[int, Meta(ge=1, le=MAX_ID)]
# Patterns end in \Z: msgspec searches them, and `$` would also match before a final newline.
# A part of a campaign split by timezone is named NAME@+03 (or @+05:30).
_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,99}(@[+-][0-9]{2}(:[0-9]{2})?)?\Z"
_FINGERPRINT_PATTERN = r"^sha256:[0-9a-f]{64}\Z"
# ISO 8601 to the second, UTC (`Z`) or with an offset: what `utc_now` writes. A fraction
# of up to 9 digits: no run in a timestamp is long enough to be taken for a phone number,
# so views show it as it is.
_TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})\Z"
)
CampaignName = Annotated[str, Meta(pattern=_NAME_PATTERN)]
Fingerprint = Annotated[str, Meta(pattern=_FINGERPRINT_PATTERN)]
Timestamp = Annotated[str, Meta(pattern=_TIMESTAMP_PATTERN)]
# How a message names each pattern, instead of msgspec's `matching regex '...'`.
_PATTERN_WORDS = {
    _NAME_PATTERN: "that is a campaign name (a-z 0-9 . _ -, at most 100; a part: NAME@+03)",
    _FINGERPRINT_PATTERN: "like sha256:<64 lowercase hex digits>",
    _TIMESTAMP_PATTERN: "like 2099-01-01T09:00:00Z (ISO 8601)",
}
Count = Annotated[int, Meta(ge=0, le=MAX_ID)]


def reason_and_path(error: msgspec.ValidationError) -> tuple[str, str]:
    """msgspec's `reason - at `$.a[0].b`` split in two, each pattern of this module said in
    words; the path is `$` at the top level."""
    reason, at, path = str(error).partition(" - at `")
    for pattern, words in _PATTERN_WORDS.items():
        reason = reason.replace(f"matching regex {pattern!r}", words)
    return reason, path.removesuffix("`") if at else "$"


def utc_now() -> str:
    """The current time as ISO 8601 UTC to the second, the form every state timestamp uses."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Entries are Structs rather than dataclasses because a state may hold 100,000 of them:
# they are built several times faster, and `gc=False` keeps them out of the cycle collector
# (they hold only strings, numbers and tuples, so they cannot form a cycle).
class Replaced(msgspec.Struct, frozen=True, gc=False, forbid_unknown_fields=True):
    """A campaign that `apply --replace` (or `import` with a new ID) superseded."""

    id: CampaignId
    fingerprint: str
    created_at: str
    replaced_at: str


class SentSchedule(msgspec.Struct, frozen=True, gc=False, forbid_unknown_fields=True):
    date: str  # YYYY-MM-DD
    start_time: str  # HH:MM
    end_time: str
    attempts: int
    interval_minutes: int


# An add_data value as the manifest writes it: a template's source, or a literal.
TemplateSource = str | int | float | bool


class Sent(msgspec.Struct, frozen=True, gc=False, omit_defaults=True, forbid_unknown_fields=True):
    """What a campaign's create request was made of, with nothing personal in it, so that
    plan can show which fields of a created campaign a manifest changes.

    `add_data` holds each key's template source, never a rendered value; `data_files` each
    phone or exclusion file's SHA-256, by its path from the project root.
    """

    revision: Annotated[int, Meta(ge=1, le=MAX_ID)]
    title: str
    description: str
    project_id: int
    start_block_id: int
    phone_id: int
    schedule: SentSchedule
    add_data: dict[str, TemplateSource] = {}
    data_files: dict[str, Fingerprint] = {}


class StateEntry(msgspec.Struct, frozen=True, gc=False):
    """What dialogops knows about one campaign on the platform."""

    name: CampaignName
    status: Status
    fingerprint: Fingerprint  # "sha256:<hex>" of the canonical create body
    phones: Count
    id: CampaignId | None = None
    created_at: Timestamp | None = None  # set when created
    started_at: Timestamp | None = None  # when the create was sent (pending / unknown)
    history: tuple[Replaced, ...] = ()
    sent: Sent | None = None  # None in entries written before dialogops recorded it

    @property
    def revision(self) -> int:
        """The metadata.revision it was created with (1 before revisions were recorded)."""
        return 1 if self.sent is None else self.sent.revision

    def __post_init__(self) -> None:
        # A created campaign without its ID could be neither reported on nor recognised.
        if self.status == "created" and self.id is None:
            raise ValueError("a created campaign needs its `id`")

    @property
    def outcome_unknown(self) -> bool:
        """True when nobody knows whether the platform created it.

        A `pending` entry found on disk belongs to a create whose process died mid-request,
        so it is as unknown as an `unknown` one.
        """
        return self.status in ("pending", "unknown")

    def as_created(self, campaign_id: int, created_at: str) -> StateEntry:
        """This pending create, answered with `campaign_id`."""
        return msgspec.structs.replace(
            self, status="created", id=campaign_id, created_at=created_at
        )

    def as_unknown(self) -> StateEntry:
        """This pending create, sent without a proven outcome."""
        return msgspec.structs.replace(self, status="unknown")


class Summary(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """An entry as `state list` shows it: what a database backend can read without the rest."""

    name: CampaignName
    status: Status
    id: CampaignId | None
    phones: Count
    created_at: Timestamp | None

    @classmethod
    def of(cls, entry: StateEntry) -> Summary:
        return cls(entry.name, entry.status, entry.id, entry.phones, entry.created_at)


@dataclass(frozen=True)
class Listing:
    """Every entry's summary, in no particular order, and the serial of the state."""

    serial: int
    entries: tuple[Summary, ...]

    @classmethod
    def of(cls, state: State) -> Listing:
        return cls(state.serial, tuple(map(Summary.of, state.campaigns.values())))


@dataclass(frozen=True)
class State:
    """The whole state; every change returns a new value."""

    lineage: str = ""  # "" until the first write, which sets a uuid4
    serial: int = 0  # incremented by every write
    campaigns: Mapping[str, StateEntry] = field(default_factory=dict)

    def get(self, name: str) -> StateEntry | None:
        return self.campaigns.get(name)

    def put(self, entry: StateEntry) -> State:
        return dataclasses.replace(self, campaigns={**self.campaigns, entry.name: entry})

    def remove(self, name: str) -> State:
        return dataclasses.replace(
            self, campaigns={k: v for k, v in self.campaigns.items() if k != name}
        )

    def owner_of(self, campaign_id: int, *, besides: str) -> str | None:
        """The campaign other than `besides` that has (or had) `campaign_id`, if any (the
        first by name: a backend may read the entries in any order)."""
        owners = (
            entry.name
            for entry in self.campaigns.values()
            if entry.name != besides
            and (entry.id == campaign_id or any(r.id == campaign_id for r in entry.history))
        )
        return min(owners, default=None)


def superseded(entry: StateEntry, now: str) -> tuple[Replaced, ...]:
    """The history for the entry that takes `entry`'s place: `entry`'s campaign joins it.

    An entry without an ID (never created) leaves nothing to remember.
    """
    if entry.id is None:
        return entry.history
    gone = Replaced(
        id=entry.id,
        fingerprint=entry.fingerprint,
        created_at=entry.created_at or "",
        replaced_at=now,
    )
    return (*entry.history, gone)


def require(state: State, name: str) -> StateEntry:
    """The entry of `name`; a clear error listing the known names when there is none."""
    entry = state.get(name)
    if entry is None:
        known = ", ".join(sorted(state.campaigns)) or "none"
        raise StateError(f"no campaign named {name!r} in state (known: {known})")
    return entry


def forget(state: State, name: str) -> tuple[State, StateEntry]:
    """Remove `name` from the state; returns the new state and the entry that was dropped."""
    entry = require(state, name)
    return state.remove(name), entry


def record_import(
    state: State,
    name: str,
    campaign_id: int,
    fingerprint: str,
    phones: int,
    *,
    sent: Sent | None = None,
    now: str | None = None,
    hints: Hints = PLAIN,
) -> tuple[State, StateEntry]:
    """Record campaign `name` as created with `campaign_id` (made elsewhere or resolved by hand).

    A different ID recorded earlier for `name` moves to the entry's history; an unknown
    entry keeps the time its create was sent as the creation time.
    """
    now = now or utc_now()
    owner = state.owner_of(campaign_id, besides=name)
    if owner is not None:
        raise StateError(
            f"campaign id {campaign_id} is already recorded for {owner!r}; "
            f"run `{hints.command(f'state rm {owner}')}` first if that was a mistake"
        )
    previous = state.get(name)
    history: tuple[Replaced, ...] = ()
    created_at = now
    if previous is not None:
        history = previous.history
        if previous.status == "created" and previous.id == campaign_id:
            created_at = previous.created_at or now
        elif previous.status == "created":
            history = superseded(previous, now)
        elif previous.started_at is not None:
            created_at = previous.started_at
    entry = StateEntry(
        name=name,
        status="created",
        fingerprint=fingerprint,
        phones=phones,
        id=campaign_id,
        created_at=created_at,
        history=history,
        sent=sent,
    )
    return state.put(entry), entry
