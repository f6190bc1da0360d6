"""Judging the recipients of the campaigns a plan would create against the ledger.

`LedgerCheck` holds the ledger's contacts around each planned date. Rendering asks the
check of each campaign to create whether to keep a recipient (`keep`), once per row, so
frequency caps and `only_new` cost no second pass over the rows. Campaigns in one plan
count against each other in plan order: the recipients one keeps are contacts for the
next.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dialogops.errors import StateError
from dialogops.hints import PLAIN, Hints
from dialogops.ledger.keys import HASH_BYTES, LedgerKey
from dialogops.ledger.keyset import Filter, KeySet, split
from dialogops.ledger.records import Example, Window
from dialogops.ledger.store import Ledger
from dialogops.phones import mask
from dialogops.render import Keep, RenderedCampaign, render_campaign
from dialogops.sources import origin
from dialogops.specs import Campaign, Frequency, Project
from dialogops.state import StateEntry

EXAMPLES = 5


@dataclass(frozen=True)
class CapCount:
    """The recipients of one campaign that one frequency rule would put over its cap."""

    rule: str  # per_day | per_week | per_month
    limit: int
    count: int
    examples: tuple[Example, ...]  # the first few, masked, with their file:line


@dataclass(frozen=True)
class OnlyNew:
    """`only_new`: recipients left out because the campaign being replaced called them."""

    replaced_id: int
    new: int
    already: int


@dataclass(frozen=True)
class LedgerFindings:
    """What the ledger says about one campaign to create."""

    caps: tuple[CapCount, ...] = ()  # rules with recipients over them
    over: int = 0  # recipients over any cap
    skip: bool = False  # `on_frequency: skip`: those are left out
    only_new: OnlyNew | None = None
    # The hashes left out of the create body (never shown).
    dropped: frozenset[bytes] = field(default=frozenset(), repr=False)

    @property
    def blocks(self) -> bool:
        return self.over > 0 and not self.skip


def needed_by(project: Project) -> str | None:
    """What in `project` needs the contact ledger to plan, if anything."""
    if project.config.policy.frequency.rules:
        return "policy.frequency"
    for campaign in project.campaigns:
        if campaign.phones.only_new:
            return f"spec.phones.only_new of {campaign.name}"
        if campaign.phones.on_frequency == "skip":
            return f"spec.phones.on_frequency of {campaign.name}"
    return None


def will_create(campaign: Campaign, entry: StateEntry | None, replacing: bool) -> bool:
    """Whether plan will find `campaign` to create, known before it is rendered."""
    if entry is None:
        return True
    if entry.outcome_unknown:
        return False
    return campaign.revision > entry.revision or replacing


class _Counts:
    """The contacts one campaign date is judged against, by period."""

    def __init__(self, caps: Frequency, runs: Iterable[tuple[int, bytes]], window: Window) -> None:
        """`runs`: (day, sorted hashes joined) of the contacts around `window`."""
        ranges = {
            "per_day": (window.day, window.day),
            "per_week": (window.week_start, window.week_end),
            "per_month": (window.month_start, window.month_end),
        }
        periods: dict[str, list[bytes]] = {rule: [] for rule, _ in caps.rules}
        counted: list[bytes] = []
        for day, run in runs:
            inside = [found for rule, found in periods.items() if _within(day, ranges[rule])]
            if inside:
                counted.append(run)
                hashes = split(run)  # one bytes object per hash, shared by the periods
                for found in inside:
                    found.extend(hashes)
        # One filter over every period first: most recipients were contacted in none.
        self.filter = Filter(counted, sum(len(run) for run in counted) // HASH_BYTES)
        self.rules = [(rule, limit, KeySet(periods.pop(rule))) for rule, limit in caps.rules]


def _within(day: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= day <= bounds[1]


class CampaignCheck:
    """The ledger's judgement of one campaign's recipients, row by row."""

    def __init__(
        self,
        campaign: Campaign,
        key: LedgerKey,
        counts: _Counts | None,
        replaced: tuple[int, Filter, KeySet] | None,
    ) -> None:
        self.campaign = campaign
        self._hash = key.hash
        self._counts = counts
        self._table = None if counts is None else counts.filter.table
        self._shift = 0 if counts is None else counts.filter.shift
        self._replaced = replaced
        self._skip = campaign.phones.on_frequency == "skip"
        self._limits = {rule: limit for rule, limit, _ in counts.rules} if counts else {}
        self.over = dict.fromkeys(self._limits, 0)
        self.examples: dict[str, list[Example]] = {rule: [] for rule in self.over}
        self.over_any = self.new = self.already = 0
        self.dropped: set[bytes] = set()
        self.kept = bytearray()  # the hashes kept, joined, for the campaigns after this one

    def keep(self, e164: str, position: int) -> bool:
        hash = self._hash(e164)
        if self._replaced is not None:
            _, maybe, called = self._replaced
            if maybe.may_hold(hash) and called.count(hash):
                self.already += 1
                self.dropped.add(hash)
                return False
            self.new += 1
        table = self._table
        # The filter inline: this runs once per recipient.
        if (
            table is not None
            and table[int.from_bytes(hash[:4], "big") >> self._shift]
            and self._over(hash, e164, position)
        ):
            self.over_any += 1
            if self._skip:
                self.dropped.add(hash)
                return False
        self.kept += hash
        return True

    def _over(self, hash: bytes, e164: str, position: int) -> bool:
        assert self._counts is not None
        over = False
        for rule, limit, keys in self._counts.rules:
            if keys.count(hash) >= limit:
                over = True
                self.over[rule] += 1
                examples = self.examples[rule]
                if len(examples) < EXAMPLES:
                    where = origin(self.campaign.phones.source, position)
                    examples.append(Example(where, mask(e164)))
        return over

    def findings(self) -> LedgerFindings:
        caps = tuple(
            CapCount(rule, self._limits[rule], count, tuple(self.examples[rule]))
            for rule, count in self.over.items()
            if count
        )
        only_new = None
        if self._replaced is not None:
            only_new = OnlyNew(self._replaced[0], self.new, self.already)
        return LedgerFindings(caps, self.over_any, self._skip, only_new, frozenset(self.dropped))


class LedgerCheck:
    """Frequency caps and `only_new` for every campaign of one plan, in plan order."""

    def __init__(
        self,
        ledger: Ledger,
        key: LedgerKey,
        caps: Frequency,
        hints: Hints = PLAIN,
        *,
        keep_sent: bool = False,
    ) -> None:
        """With `keep_sent` (apply), the hashes each campaign to create keeps are held for
        `sent`, also for a campaign the ledger has nothing to judge."""
        self.ledger = ledger
        self.key = key
        self.caps = caps
        self.hints = hints
        self._keep_sent = keep_sent
        self._planned: list[tuple[int, bytes]] = []  # (day, kept hashes) per campaign checked
        self._checks: dict[str, CampaignCheck] = {}
        self._judged: set[str] = set()
        self._sent: dict[str, bytes] = {}
        self._open: CampaignCheck | None = None

    def start(self, campaign: Campaign, entry: StateEntry | None, replacing: bool) -> Keep | None:
        """The row filter for `campaign`, or None when the ledger has nothing to judge.

        Campaigns are started in plan order, each once its predecessor is rendered: the
        recipients the previous one kept count as its contacts from now on.
        """
        self._close_previous()
        if not will_create(campaign, entry, replacing):
            return None
        replaced = self._replaced(campaign, entry)
        counts = self._counts(campaign.schedule.date) if self.caps.rules else None
        if counts is None and replaced is None:
            if not self._keep_sent:
                return None
        else:
            self._judged.add(campaign.name)
        check = CampaignCheck(campaign, self.key, counts, replaced)
        self._checks[campaign.name] = self._open = check
        return check.keep

    def _close_previous(self) -> None:
        if self._open is not None:
            day = self._open.campaign.schedule.date.toordinal()
            kept = bytes(self._open.kept)
            self._planned.append((day, kept))
            if self._keep_sent:
                self._sent[self._open.campaign.name] = kept
            self._open.kept = bytearray()
            self._open = None

    def as_created(
        self, campaign: Campaign, entry: StateEntry, vars: Mapping[str, str]
    ) -> RenderedCampaign | None:
        """`campaign` rendered without the recipients the ledger left out when it was
        created, when that is what was created; None otherwise."""
        if entry.id is None:
            return None
        recorded = self.ledger.with_id(entry.id)
        left_out = frozenset() if recorded is None else self.ledger.left_out_of(recorded)
        if not left_out:
            return None
        hash = self.key.hash
        rendered = render_campaign(campaign, vars, lambda e164, _: hash(e164) not in left_out)
        return rendered if rendered.fingerprint == entry.fingerprint else None

    def findings(self, name: str) -> LedgerFindings | None:
        check = self._checks.get(name)
        return None if check is None or name not in self._judged else check.findings()

    def sent(self, name: str) -> bytes | None:
        """The hashes, joined, of the recipients `name` keeps (with `keep_sent`)."""
        if name in self._sent:
            return self._sent[name]
        check = self._checks.get(name)
        return None if check is None else bytes(check.kept)

    def _counts(self, date: dt.date) -> _Counts:
        window = Window.of(date)
        stored = self.ledger.window(window.first, window.last)
        return _Counts(self.caps, itertools.chain(stored, self._planned), window)

    def _replaced(
        self, campaign: Campaign, entry: StateEntry | None
    ) -> tuple[int, Filter, KeySet] | None:
        if not campaign.phones.only_new or entry is None or entry.id is None:
            return None
        old = self.ledger.with_id(entry.id)
        if old is None:
            raise StateError(
                f"{campaign.name}: only_new needs the recipients of campaign {entry.id}, and the "
                f"contact ledger has none; run `{self.hints.command('ledger rebuild')}` first"
            )
        runs = list(self.ledger.contacts_of(old))
        called = KeySet(hash for run in runs for hash in split(run))
        return entry.id, Filter(runs, len(called)), called
