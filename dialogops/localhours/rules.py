"""Allowed local hours: which window applies on a local date, and whether a campaign's
window, seen on a recipient's clock, lies inside it.

Working days use `weekdays`; weekends and public holidays use `weekends`. The calendar
(public holidays and weekend days made working days by a transfer) is the `holidays`
package's for the configured country.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from dialogops.specs import HoursWindow, LocalHours, Schedule

if TYPE_CHECKING:
    import holidays

DayKind = Literal["working day", "weekend", "holiday"]


@dataclass(frozen=True)
class LocalWindow:
    """A campaign's window on a group's clock, and what the rules allow on that day."""

    start: dt.datetime  # naive, local wall clock
    end: dt.datetime
    day: DayKind  # of the local date the window starts on
    allowed: HoursWindow  # on that date
    inside: bool  # the whole window lies in the allowed hours of every date it touches

    def __str__(self) -> str:
        end = f"{self.end:%H:%M}"
        if self.end.date() > self.start.date():
            end = "24:00" if self.end.time() == dt.time(0) else f"{end} next day"
        return f"{self.start:%Y-%m-%d %a} {self.start:%H:%M}-{end}"


@functools.cache
def _calendar(country: str) -> holidays.HolidayBase:
    # Imported on first use: the library takes 0.3 s to load (its version lookup reads
    # package metadata), which every validate and plan would pay without local hours.
    import holidays

    return holidays.country_holidays(country)


def day_kind(date: dt.date, country: str) -> DayKind:
    """A working day, a weekend, or a public holiday (a transferred working day is one)."""
    calendar = _calendar(country)
    if calendar.is_working_day(date):
        return "working day"
    return "holiday" if date in calendar else "weekend"


def allowed_on(date: dt.date, rules: LocalHours) -> tuple[HoursWindow, DayKind]:
    kind = day_kind(date, rules.country)
    return (rules.weekdays if kind == "working day" else rules.weekends), kind


def platform_window(schedule: Schedule, platform: str) -> tuple[dt.datetime, dt.datetime]:
    """The campaign's window as aware datetimes on the platform's clock."""
    zone = ZoneInfo(platform)
    return (
        dt.datetime.combine(schedule.date, schedule.start_time, tzinfo=zone),
        dt.datetime.combine(schedule.date, schedule.end_time, tzinfo=zone),
    )


def offset_label(offset: dt.timedelta) -> str:
    """`+03`, `-03`, `+05:30`: how a UTC offset group is named (`NAME@+03`)."""
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}" + (f":{rest:02d}" if rest else "")


def local_window(
    start: dt.datetime, end: dt.datetime, offset: dt.timedelta, rules: LocalHours
) -> LocalWindow:
    """The aware window [`start`, `end`] on a clock at UTC `offset`, judged by `rules`."""
    local = dt.timezone(offset)
    first = start.astimezone(local).replace(tzinfo=None)
    last = end.astimezone(local).replace(tzinfo=None)
    allowed, kind = allowed_on(first.date(), rules)
    inside = True
    day = first.date()
    while day <= last.date() and inside:
        window, _ = allowed_on(day, rules)
        lower = max(first, dt.datetime.combine(day, dt.time(0)))
        upper = min(last, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0)))
        if upper > lower:  # the part of the window on this date
            inside = dt.datetime.combine(
                day, window.start
            ) <= lower and upper <= dt.datetime.combine(day, window.end)
        day += dt.timedelta(days=1)
    return LocalWindow(first, last, kind, allowed, inside)


def split_schedule(
    schedule: Schedule, offset: dt.timedelta, platform: str, rules: LocalHours
) -> Schedule | None:
    """The schedule that calls a group at UTC `offset` within its allowed hours.

    The manifest's window is read on the group's clock, clipped to the hours allowed on
    that local date, and shifted into the platform's clock; when the shifted window
    crosses the platform's midnight, the longer of its two parts is kept. None when
    nothing of it is left.
    """
    clipped = clip(schedule, rules)
    if clipped is None:
        return None
    start, end = clipped
    local = dt.timezone(offset)
    zone = ZoneInfo(platform)
    first = dt.datetime.combine(schedule.date, start, tzinfo=local).astimezone(zone)
    last = dt.datetime.combine(schedule.date, end, tzinfo=local).astimezone(zone)
    if first.date() != last.date():
        midnight = dt.datetime.combine(last.date(), dt.time(0), tzinfo=zone)
        before = midnight - dt.timedelta(minutes=1)
        first, last = (first, before) if before - first > last - midnight else (midnight, last)
        if last <= first:
            return None
    return Schedule(
        date=first.date(),
        start_time=first.time().replace(tzinfo=None, second=0, microsecond=0),
        end_time=last.time().replace(tzinfo=None, second=0, microsecond=0),
        attempts=schedule.attempts,
        interval_minutes=schedule.interval_minutes,
    )


def clip(schedule: Schedule, rules: LocalHours) -> tuple[dt.time, dt.time] | None:
    """The manifest's window, read on a local clock, within the hours allowed on its date;
    None when they do not meet (no split can satisfy the window)."""
    allowed, _ = allowed_on(schedule.date, rules)
    start = max(schedule.start_time, allowed.start)
    end = min(schedule.end_time, allowed.end)
    return (start, end) if end > start else None


def fits_somewhere(schedule: Schedule, platform: str, rules: LocalHours) -> bool:
    """Whether the window, on the platform's clock, lies inside the allowed hours of some
    UTC offset (-12:00 to +14:00, in quarter hours); if not, it can call nobody."""
    start, end = platform_window(schedule, platform)
    quarters = range(-12 * 4, 14 * 4 + 1)
    return any(
        local_window(start, end, dt.timedelta(minutes=15 * q), rules).inside for q in quarters
    )
