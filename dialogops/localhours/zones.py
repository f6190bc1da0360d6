"""Each recipient's time zone, from the first source that knows it.

In order: the row's own column (an IANA name or a UTC offset), the number itself where
phonenumbers gives exactly one zone (Russian landlines), the numbering-plan file (mobile
ranges -> region -> zone), else unknown, which `policy.unknown_timezone` decides.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezones
from phonenumbers import tzdata

from dialogops import sources
from dialogops.errors import Problem, Rule
from dialogops.localhours.numplan import NumberingPlan
from dialogops.specs import InlineSource, PhoneSource

ZoneSource = Literal["column", "number", "numbering_plan", "platform", "unknown"]
SOURCES: tuple[ZoneSource, ...] = ("column", "number", "numbering_plan", "platform", "unknown")

# A sign is optional: YAML reads an unquoted `+10` as the number 10.
_OFFSET = re.compile(r"(?:UTC|GMT)?([+-]?)(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
# phonenumbers finds a number's zone by its type (only geographic numbers have one) and its
# longest known prefix: numbering plans decide the type by the leading digits (Russia's
# patterns end in four digits or more of any value), so numbers that differ only in their
# last four digits, past the longest zone prefix of their country, share the answer, which
# is kept (up to _CACHED prefixes).
_ANY_DIGITS = 4
_CACHED = 200_000
MAX_PROBLEMS = 20

Zone = dt.tzinfo
# What the resolver gives for one row: the zone (None: unknown) and where it came from.
Resolved = tuple[Zone | None, ZoneSource]


class ColumnValueError(ValueError):
    """A timezone column value that is neither an IANA zone nor a UTC offset."""


def parse_zone(text: str) -> Zone:
    """`Asia/Vladivostok` -> its ZoneInfo; `+10`, `10`, `+05:30`, `UTC-3` -> a fixed offset."""
    text = text.strip()
    match = _OFFSET.fullmatch(text)
    if match is not None:
        sign, hours, minutes = match.groups()
        offset = dt.timedelta(hours=int(hours), minutes=int(minutes or 0))
        if offset > dt.timedelta(hours=14) or int(minutes or 0) >= 60:
            raise ColumnValueError(f"{text!r} is not a UTC offset between -14 and +14")
        return dt.timezone(-offset if sign == "-" else offset)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ColumnValueError(
            f"{text!r} is neither an IANA time zone (Asia/Vladivostok) nor a UTC offset (+10)"
        ) from None


@functools.cache
def _decisive(head: str) -> int:
    """How many leading characters of a number starting with `head` (its first four
    characters) phonenumbers' zone data can look at: the `+` and the longest zone prefix of
    its country code."""
    for size in (1, 2, 3):
        code = head[1 : 1 + size]
        if int(code) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            keys = (len(key) for key in tzdata.TIMEZONE_DATA if key.startswith(code))
            return 1 + max(keys, default=size)
    return 1 + tzdata.TIMEZONE_LONGEST_PREFIX


def zone_of_number(e164: str) -> str | None:
    """The one zone phonenumbers gives a geographic number; None for none or several."""
    zones = phone_timezones.time_zones_for_number(phonenumbers.parse(e164))
    if len(zones) != 1 or zones[0] == phone_timezones.UNKNOWN_TIMEZONE:
        return None
    return str(zones[0])


class Resolver:
    """Resolves rows to zones; lookups are cached by column value, prefix and zone name."""

    def __init__(
        self,
        column: str | None,
        numbering_plan: NumberingPlan | None,
        assume: Zone | None,
    ) -> None:
        self._column = column
        self._plan = numbering_plan
        self._assume = assume  # the platform's zone under `assume_platform`, else None
        self._values: dict[str, Zone] = {}
        self._prefixes: dict[str, str | None] = {}
        self._names: dict[str, Zone] = {}

    def resolve(self, e164: str, row: Mapping[str, Any]) -> Resolved:
        """The zone of one recipient; ColumnValueError for a column value that is no zone."""
        if self._column is not None:
            value = row.get(self._column)
            if value is not None and str(value).strip():
                return self._value(str(value)), "column"
        prefix = e164[: max(len(e164) - _ANY_DIGITS, _decisive(e164[:4]))]
        name = self._prefixes.get(prefix, "")
        if name == "":
            if len(self._prefixes) >= _CACHED:
                self._prefixes.clear()
            name = self._prefixes[prefix] = zone_of_number(e164)
        if name is not None:
            return self._zone(name), "number"
        if self._plan is not None:
            name = self._plan.zone(e164)
            if name is not None:
                return self._zone(name), "numbering_plan"
        if self._assume is not None:
            return self._assume, "platform"
        return None, "unknown"

    def _value(self, text: str) -> Zone:
        zone = self._values.get(text)
        if zone is None:
            zone = self._values[text] = parse_zone(text)
        return zone

    def _zone(self, name: str) -> Zone:
        zone = self._names.get(name)
        if zone is None:
            zone = self._names[name] = ZoneInfo(name)
        return zone


def zone_name(zone: Zone) -> str:
    """How a zone is named to the user: its IANA key, or `UTC+10:00` for an offset."""
    return zone.key if isinstance(zone, ZoneInfo) else str(zone)


def column_problems(source: PhoneSource, column: str, field: str) -> list[Problem]:
    """Every row whose `column` holds neither an IANA zone nor a UTC offset (the first
    MAX_PROBLEMS), or one problem when no row has the column at all."""
    problems: list[Problem] = []
    checked: set[str] = set()
    found = False
    for data, _, position in sources.raw_rows(source):
        value = data.get(column)
        if value is None:
            continue
        found = True
        text = str(value)
        if not text.strip() or text in checked:
            continue
        try:
            parse_zone(text)
        except ColumnValueError as exc:
            where = sources.origin(source, position)
            problems.append(Problem(where, field, str(exc), Rule.DATA_FILE))
            if len(problems) >= MAX_PROBLEMS:
                break
            continue
        checked.add(text)
    if not found:
        where = source.locations[0] if isinstance(source, InlineSource) else source.location
        message = f"no row has a {column!r} field to read time zones from"
        problems.append(Problem(where, field, message, Rule.DATA_FILE))
    return problems
