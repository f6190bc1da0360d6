"""The national numbering plan: number ranges -> regions -> time zones.

The registry publishes its ranges as CSV with `;` in cp1251, columns code; from; to;
capacity; operator; region (later columns ignored). A region is turned into a zone by the
table shipped beside this module (`regions.csv`); a region it lacks stays unknown.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from dialogops import datafiles
from dialogops.datafiles import DataFileError
from dialogops.errors import Location, Problem, RenderError, Rule
from dialogops.yamlio import display_path

COLUMNS = ("code", "from", "to", "capacity", "operator", "region")
ENCODING = "cp1251"
DELIMITER = ";"
MAX_PROBLEMS = 20
# The field every problem with the file is reported on.
FIELD = "policy.numbering_plan"

_PARENTHESES = re.compile(r"\([^)]*\)")
_WORD = re.compile("[0-9a-z\u0430-\u044f]+")  # digits, Latin and Cyrillic letters
# How the registry abbreviates; a city's prefix (g.) says nothing about where it is.
_WORDS = {
    "обл": "область",
    "респ": "республика",
    "\u0433": "",
    "\u0433\u043e\u0440": "",
    "город": "",
}
_YO, _YE = "\u0451", "\u0435"


@dataclass(frozen=True, eq=False)  # one object per file read: compared (and hashed) by identity
class NumberingPlan:
    """Ranges of Russian national numbers (+7, ten digits) and the zone of each."""

    # Per three-digit code: range starts (sorted), and for each start its end and zone.
    starts: Mapping[int, tuple[int, ...]]
    ranges: Mapping[int, tuple[tuple[int, str | None], ...]]

    def zone(self, e164: str) -> str | None:
        """The zone of a +7 number in a range whose region the table knows, else None."""
        if len(e164) != 12 or not e164.startswith("+7"):
            return None
        code, number = int(e164[2:5]), int(e164[5:])
        starts = self.starts.get(code)
        if starts is None:
            return None
        at = bisect.bisect_right(starts, number) - 1
        if at < 0:
            return None
        end, zone = self.ranges[code][at]
        return zone if number <= end else None


def region_key(region: str) -> str:
    """A region name as the table matches it: lower case, yo as ye, no punctuation, no
    city prefix, `обл.` and `респ.` spelt out, anything in parentheses dropped."""
    text = _PARENTHESES.sub(" ", region.casefold().replace(_YO, _YE))
    words = (_WORDS.get(word, word) for word in _WORD.findall(text))
    return " ".join(word for word in words if word)


@functools.cache
def region_zones() -> Mapping[str, str]:
    """The shipped table: each region name (and the other names it is written by) -> zone."""
    text = resources.files(__package__).joinpath("regions.csv").read_text(encoding="utf-8")
    zones: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            zone, *names = line.split(";")
            zones.update((region_key(name), zone) for name in names)
    return zones


def zone_of_region(region: str) -> str | None:
    """The zone of a registry region: the whole text, else its `|`-separated parts from the
    last (the registry writes `district|region`)."""
    zones = region_zones()
    for part in (region, *reversed(region.split("|"))):
        zone = zones.get(region_key(part))
        if zone is not None:
            return zone
    return None


def load(path: Path, where: Location) -> NumberingPlan:
    """Read a numbering-plan file; RenderError with each bad row's file:line and column.

    `where` is where the config names the file, for a file that cannot be read at all.
    Files are read once per process for the same size and modification time.
    """
    try:
        stat = path.stat()
    except OSError as exc:
        problem = Problem(where, FIELD, f"{display_path(path)}: {exc.strerror}", Rule.DATA_FILE)
        raise RenderError([problem]) from None
    return _load(path, stat.st_size, stat.st_mtime_ns, where)


@functools.lru_cache(maxsize=4)
def _load(path: Path, _size: int, _mtime: int, where: Location) -> NumberingPlan:
    shown = display_path(path)
    rows: dict[int, list[tuple[int, int, str | None]]] = {}
    problems: list[Problem] = []
    try:
        with closing(datafiles.csv_rows(path, shown, ENCODING, DELIMITER)) as lines:
            for line, cells in lines:
                if line == 1 and not cells[0].strip().isdigit():
                    continue  # the header
                found = _row(cells, Location(shown, line, 1))
                if isinstance(found, Problem):
                    problems.append(found)
                    if len(problems) >= MAX_PROBLEMS:
                        break
                    continue
                code, start, end, region = found
                rows.setdefault(code, []).append((start, end, zone_of_region(region)))
    except DataFileError as exc:
        raise RenderError([Problem(where, FIELD, exc.problem.message, Rule.DATA_FILE)]) from None
    if problems:
        raise RenderError(problems)
    starts: dict[int, tuple[int, ...]] = {}
    ranges: dict[int, tuple[tuple[int, str | None], ...]] = {}
    for code, found_rows in rows.items():
        found_rows.sort()
        starts[code] = tuple(start for start, _, _ in found_rows)
        ranges[code] = tuple((end, zone) for _, end, zone in found_rows)
    return NumberingPlan(starts, ranges)


def _row(cells: list[str], where: Location) -> tuple[int, int, int, str] | Problem:
    """(code, from, to, region) of one registry row, or the Problem with it."""

    def problem(column: int, message: str) -> Problem:
        at = Location(where.path, where.line, column + 1)
        return Problem(at, f"{FIELD}.{COLUMNS[column]}", message, Rule.DATA_FILE)

    if len(cells) < len(COLUMNS):
        return problem(
            min(len(cells), len(COLUMNS) - 1),
            f"{len(cells)} columns; a numbering-plan row has {len(COLUMNS)}: " + "; ".join(COLUMNS),
        )
    numbers: list[int] = []
    for column, digits in ((0, 3), (1, 7), (2, 7)):
        text = cells[column].strip()
        if not (text.isascii() and text.isdigit() and len(text) <= digits):
            return problem(column, f"{text!r} is not a number of up to {digits} digits")
        numbers.append(int(text))
    code, start, end = numbers
    if end < start:
        return problem(2, f"{end} is before the range's start {start}")
    region = cells[5].strip()
    if not region:
        return problem(5, "the region is empty")
    return code, start, end, region
