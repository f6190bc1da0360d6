"""`Ledger`: the contact ledger over one SQL database, whichever store holds it.

A store (`sqlite.py`, `postgres.py`) supplies a `Database`: queries in, rows out, and
transactions. Everything the ledger does is written here once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from dialogops.ledger import sql
from dialogops.ledger.keys import HASH_BYTES
from dialogops.ledger.keyset import split
from dialogops.ledger.records import LedgerCampaign, MonthStats
from dialogops.state import State


class Database(Protocol):
    """What the ledger needs of a database connection."""

    def rows(self, query: str, params: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
        """Run `query` (named `:param` style, `:workspace` filled in) and yield its rows."""
        ...

    def run(self, query: str, params: Mapping[str, Any]) -> None: ...

    def transaction(self) -> AbstractContextManager[None]:
        """One transaction: committed when the block ends, rolled back on an error."""
        ...

    def together(self) -> AbstractContextManager[object]:
        """A block whose ledger writes share one transaction with the state's writes, where
        the ledger is in the state's database; elsewhere each commits on its own."""
        ...


# Hashes per stored run: 64 KiB rows, 245 of them for a million recipients.
CHUNK = 4096


def month_of(date: dt.date) -> int:
    return date.year * 100 + date.month


def _campaign(row: tuple[Any, ...]) -> LedgerCampaign:
    ref, name, campaign_id, day, fingerprint, recipients = row
    return LedgerCampaign(
        int(ref), name, campaign_id, dt.date.fromordinal(day), fingerprint, int(recipients)
    )


class Ledger:
    """Who was contacted by which campaign on which date, by keyed hash."""

    def __init__(self, db: Database, location: str) -> None:
        self.db = db
        self.location = location  # for messages

    def record(
        self,
        name: str,
        date: dt.date,
        fingerprint: str,
        hashes: Iterable[bytes],
        campaign_id: int | None = None,
        left_out: Iterable[bytes] = (),
    ) -> LedgerCampaign:
        """Add a campaign, its recipients and those it left out, in one transaction;
        returns what was stored."""
        # Sorted, a campaign's contacts are appended to one run of pages in key order.
        ordered = sorted(set(hashes))
        day = date.toordinal()
        params = {
            "name": name,
            "campaign_id": campaign_id,
            "day": day,
            "month": month_of(date),
            "fingerprint": fingerprint,
            "recipients": len(ordered),
        }
        with self.db.transaction():
            ref = int(next(self.db.rows(sql.INSERT_CAMPAIGN, params))[0])
            for chunk, run in _runs(ordered):
                row: dict[str, Any] = {"day": day, "ref": ref, "chunk": chunk}
                row |= {"low_hash": run[0], "high_hash": run[-1], "hashes": b"".join(run)}
                self.db.run(sql.INSERT_CHUNK, row)
            for chunk, run in _runs(sorted(set(left_out))):
                self.db.run(
                    sql.INSERT_LEFT_OUT, {"ref": ref, "chunk": chunk, "hashes": b"".join(run)}
                )
        return LedgerCampaign(ref, name, campaign_id, date, fingerprint, len(ordered))

    def confirm(self, campaign: LedgerCampaign, campaign_id: int) -> None:
        """The platform answered with `campaign_id` for this campaign."""
        with self.db.transaction():
            self.db.run(sql.CONFIRM, {"ref": campaign.ref, "campaign_id": campaign_id})

    def discard(self, campaign: LedgerCampaign) -> None:
        """Forget a campaign that was never created (refused by the platform)."""
        with self.db.transaction():
            self._delete(campaign)

    def _delete(self, campaign: LedgerCampaign) -> None:
        day = campaign.date.toordinal()
        self.db.run(sql.DELETE_CONTACTS_OF, {"day": day, "ref": campaign.ref})
        self.db.run(sql.DELETE_LEFT_OUT_OF, {"ref": campaign.ref})
        self.db.run(sql.DELETE_CAMPAIGN, {"ref": campaign.ref})

    def campaigns(self) -> tuple[LedgerCampaign, ...]:
        return tuple(_campaign(row) for row in self.db.rows(sql.CAMPAIGNS, {}))

    def with_id(self, campaign_id: int) -> LedgerCampaign | None:
        rows = self.db.rows(sql.CAMPAIGN_WITH_ID, {"campaign_id": campaign_id})
        return next((_campaign(row) for row in rows), None)

    def reconcile(self, state: State) -> int:
        """Make the ledger agree with `state` after a crash; how many campaigns were dropped.

        A campaign recorded before its create was sent stays while state holds it pending
        or unknown (it may have been called), takes its ID once state has one, and goes
        when state has no such entry: it was refused, or never sent.
        """
        dropped = 0
        with self.db.transaction():
            for campaign in self.campaigns():
                if campaign.campaign_id is not None:
                    continue
                entry = state.get(campaign.name)
                if entry is None or entry.fingerprint != campaign.fingerprint:
                    self._delete(campaign)
                    dropped += 1
                elif entry.status == "created" and entry.id is not None:
                    self.db.run(sql.CONFIRM, {"ref": campaign.ref, "campaign_id": entry.id})
        return dropped

    def window(self, first: int, last: int) -> Iterator[tuple[int, bytes]]:
        """(day, sorted hashes joined) of each stored run dated from `first` to `last`."""
        for day, hashes in self.db.rows(sql.WINDOW, {"first": first, "last": last}):
            yield day, bytes(hashes)

    def contacts_of(self, campaign: LedgerCampaign) -> Iterator[bytes]:
        """The runs of one campaign's sorted hashes, joined."""
        params = {"day": campaign.date.toordinal(), "ref": campaign.ref}
        for (hashes,) in self.db.rows(sql.CONTACTS_OF, params):
            yield bytes(hashes)

    def left_out_of(self, campaign: LedgerCampaign) -> frozenset[bytes]:
        """The recipients the campaign's manifest listed but the ledger left out."""
        found: set[bytes] = set()
        for (hashes,) in self.db.rows(sql.LEFT_OUT_OF, {"ref": campaign.ref}):
            found.update(split(bytes(hashes)))
        return frozenset(found)

    def find(self, hash: bytes) -> tuple[LedgerCampaign, ...]:
        """The campaigns that contacted the recipient of `hash`."""
        refs = {
            ref
            for ref, hashes in self.db.rows(sql.CHUNKS_WITH, {"hash": hash})
            if _holds(bytes(hashes), hash)
        }
        return tuple(c for c in self.campaigns() if c.ref in refs)

    def stats(self) -> tuple[MonthStats, ...]:
        """Campaigns, contacts and distinct recipients per month of campaign date."""
        found = []
        for month, first, last, campaigns, contacts in self.db.rows(sql.MONTHS, {}):
            distinct: set[bytes] = set()
            for _day, hashes in self.db.rows(sql.WINDOW, {"first": first, "last": last}):
                distinct.update(split(bytes(hashes)))
            label = f"{month // 100:04d}-{month % 100:02d}"
            found.append(MonthStats(label, campaigns, contacts, len(distinct)))
        return tuple(found)

    def prune(self, before: dt.date) -> tuple[int, int]:
        """Forget campaigns dated before `before`; how many campaigns and contacts went."""
        day = before.toordinal()
        gone = [c for c in self.campaigns() if c.date < before]
        with self.db.transaction():
            self.db.run(sql.PRUNE_LEFT_OUT, {"day": day})
            self.db.run(sql.PRUNE_CONTACTS, {"day": day})
            self.db.run(sql.PRUNE_CAMPAIGNS, {"day": day})
        return len(gone), sum(c.recipients for c in gone)


def _holds(hashes: bytes, hash: bytes) -> bool:
    """Whether the sorted run `hashes` holds `hash` (a binary search over its slots)."""
    low, high = 0, len(hashes) // HASH_BYTES
    while low < high:
        middle = (low + high) // 2
        found = hashes[middle * HASH_BYTES : (middle + 1) * HASH_BYTES]
        if found == hash:
            return True
        if found < hash:
            low = middle + 1
        else:
            high = middle
    return False


def _runs(ordered: list[bytes]) -> Iterator[tuple[int, list[bytes]]]:
    for chunk, start in enumerate(range(0, len(ordered), CHUNK)):
        yield chunk, ordered[start : start + CHUNK]
