"""The ledger's records: the campaigns it knows, monthly figures, the periods caps count in.

Dates are kept as proleptic ordinals (`date.toordinal()`): one integer column compares and
indexes the same way in SQLite and PostgreSQL.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from dialogops.errors import Location


@dataclass(frozen=True)
class LedgerCampaign:
    """One campaign whose recipients the ledger holds."""

    ref: int  # the ledger's own key
    name: str
    campaign_id: int | None  # None until the platform answered (or never, when unknown)
    date: dt.date
    fingerprint: str
    recipients: int


@dataclass(frozen=True)
class MonthStats:
    month: str  # YYYY-MM
    campaigns: int
    contacts: int  # ledger entries: one per recipient per campaign
    recipients: int  # distinct recipients


@dataclass(frozen=True)
class Window:
    """The day, ISO week and calendar month a campaign date falls in, as ordinals."""

    day: int
    week_start: int
    week_end: int
    month_start: int
    month_end: int

    @classmethod
    def of(cls, date: dt.date) -> Window:
        monday = date - dt.timedelta(days=date.weekday())
        last = calendar.monthrange(date.year, date.month)[1]
        return cls(
            day=date.toordinal(),
            week_start=monday.toordinal(),
            week_end=monday.toordinal() + 6,
            month_start=date.replace(day=1).toordinal(),
            month_end=date.replace(day=last).toordinal(),
        )

    @property
    def first(self) -> int:
        return min(self.week_start, self.month_start)

    @property
    def last(self) -> int:
        return max(self.week_end, self.month_end)


@dataclass(frozen=True)
class Example:
    """A recipient shown in the plan: where the row is written, and the number masked."""

    location: Location
    phone: str
