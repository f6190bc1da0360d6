"""Synthetic, deterministic call results for the sandbox's report endpoint.

Every value of a phone's row comes from a SHA-256 of the phone number, so the same phone
always gets the same outcome; the rows are then cut to the period, filtered, sorted and
projected onto the requested columns, with count and durations over the rows returned.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import zlib
from collections.abc import Iterator, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from dialogops.sandbox.checks import ColumnRequest, Invalid, ReportQuery
from dialogops.sandbox.store import StoredCampaign

FIELD_TYPES = {
    "phone_number": "text",
    "status": "text",
    "duration": "number",
    "goal": "goal",
    "attempts": "number",
    "started_at": "datetime",
}
_TRUE_WORDS = frozenset({"true", "1", "yes", "да"})


def call_result(
    phone: str, add_data: dict[str, Any], campaign: StoredCampaign, tz: ZoneInfo
) -> dict[str, Any]:
    """The one result row of a phone: its final call outcome, then its add_data keys."""
    digest = hashlib.sha256(phone.encode()).digest()
    schedule = campaign.body["campaign"]["schedule"]
    roll = digest[0] % 100
    status = (
        "answered" if roll < 60 else "no_answer" if roll < 75 else "busy" if roll < 90 else "failed"
    )
    answered = status == "answered"
    duration = 15 + int.from_bytes(digest[1:3]) % 286 if answered else 0
    attempts_allowed = int(schedule["attempts"]["id"])
    attempts = {"answered": 1 + digest[3] % attempts_allowed, "failed": 1}.get(
        status, attempts_allowed
    )
    day = dt.date.fromisoformat(schedule["date"])
    start = dt.datetime.combine(day, dt.time.fromisoformat(schedule["start_time"]), tz)
    end = dt.datetime.combine(day, dt.time.fromisoformat(schedule["end_time"]), tz)
    window = int((end - start).total_seconds())
    # Leave room for the call to finish inside the window whenever the window allows it.
    span = window - duration if window > duration else window
    started = start + dt.timedelta(seconds=int.from_bytes(digest[4:8]) % span)
    row: dict[str, Any] = dict(add_data)
    row.update(
        phone_number=phone,
        status=status,
        duration=duration,
        goal=answered and digest[8] % 100 < 45,
        attempts=attempts,
        started_at=started.isoformat(),
    )
    return row


def campaign_rows(campaign: StoredCampaign, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Every phone's result row, in the order the phones were sent."""
    return [call_result(p["phone"], p["add_data"], campaign, tz) for p in campaign.body["phones"]]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_true(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    return _text(value).strip().casefold() in _TRUE_WORDS


def matches(value: Any, column: ColumnRequest) -> bool:
    """Whether a row's value passes the column's filter (documented in docs/sandbox.md)."""
    kind = column.filter_type
    if kind is None:
        return True
    if kind == "is_empty":
        return _text(value) == ""
    if kind == "not_empty":
        return _text(value) != ""
    if kind == "is_true":
        return _is_true(value)
    if kind == "not_true":
        return not _is_true(value)
    text = _text(value).casefold()
    wanted = (column.filter_value or "").casefold()
    if column.name == "phone_number":
        # The documented example filters "+7..." numbers with "7999...": ignore the plus.
        text, wanted = text.lstrip("+"), wanted.lstrip("+")
    if kind == "equal":
        return text == wanted
    if kind == "contains":
        return wanted in text
    if kind == "starts_with":
        return text.startswith(wanted)
    return text.endswith(wanted)


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (0, value)
    return (1, _text(value).casefold())


def _column_type(name: str, rows: Sequence[dict[str, Any]]) -> str:
    if name in FIELD_TYPES:
        return FIELD_TYPES[name]
    values = [row[name] for row in rows if row.get(name) is not None]
    numeric = values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    return "number" if numeric else "text"


def build_report(request: ReportQuery, campaign: StoredCampaign, tz: ZoneInfo) -> dict[str, Any]:
    """The report response for `request` over `campaign`'s synthetic results."""
    every_row = campaign_rows(campaign, tz)
    known = set(FIELD_TYPES).union(*(row.keys() for row in every_row))
    for index, column in enumerate(request.columns):
        if column.name not in known:
            raise Invalid(
                f"columns[{index}].name: unknown field {column.name!r} "
                f"(fields: {', '.join(sorted(known))})"
            )
    rows = [
        row
        for row in every_row
        if request.date_start <= dt.datetime.fromisoformat(row["started_at"]) < request.date_end
        and all(matches(row.get(c.name), c) for c in request.columns)
    ]
    sort_by = next((c for c in request.columns if c.sorting is not None), None)
    if sort_by is not None:
        # Missing values go last in either direction, like most SQL engines' NULLS LAST.
        present = [r for r in rows if r.get(sort_by.name) is not None]
        missing = [r for r in rows if r.get(sort_by.name) is None]
        if sort_by.name == "started_at":
            present.sort(
                key=lambda r: dt.datetime.fromisoformat(r["started_at"]),
                reverse=sort_by.sorting == "desc",
            )
        else:
            present.sort(
                key=lambda r: _sort_key(r[sort_by.name]), reverse=sort_by.sorting == "desc"
            )
        rows = present + missing
    total = sum(int(row["duration"]) for row in rows)
    count = len(rows)
    return {
        "columns": [
            {
                "field": c.name,
                "display_name": c.display_name,
                "type": _column_type(c.name, every_row),
            }
            for c in request.columns
        ],
        "data": [{c.name: row.get(c.name) for c in request.columns} for row in rows],
        "count": count,
        "total_duration": total,
        "avg_duration": (2 * total + count) // (2 * count) if count else 0,
    }


_BOMB_SIZE = 1024**3  # what the bomb inflates to


@functools.cache
def gzip_bomb() -> bytes:
    """About 1 MiB of gzip that inflates to 1 GiB of spaces (built once, in half a second).

    A full flush resets the compressor, so after it every 1 MiB block of spaces deflates to
    the same bytes: one is compressed and repeated. The end is an empty final block, then
    the gzip trailer (CRC-32 and size of the inflated data).
    """
    block = b" " * (1024 * 1024)
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    blocks = _BOMB_SIZE // len(block)
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    trailer = b"\x03\x00" + crc.to_bytes(4, "little") + _BOMB_SIZE.to_bytes(4, "little")
    return head + again * (blocks - 1) + trailer


_POOL = 997  # distinct synthetic outcomes, reused round-robin: a prime, so patterns don't align


def synthetic_report(request: ReportQuery, campaign: StoredCampaign, rows: int) -> Iterator[bytes]:
    """A report of `rows` synthetic calls (phones +79990000000 on), as JSON chunks.

    For benchmarks: nothing is held, so a million rows cost the sandbox no memory, and the
    outcomes of a pool of phones are reused so that the sandbox writes fast. The totals
    come after `data`, as a server that counts while it writes would send them.
    """
    tz = ZoneInfo("UTC")
    names = [c.name for c in request.columns]
    pool = [call_result(f"+7999{i:07d}", {}, campaign, tz) for i in range(min(rows, _POOL))]
    columns = [
        {"field": c.name, "display_name": c.display_name, "type": FIELD_TYPES.get(c.name, "text")}
        for c in request.columns
    ]
    yield b'{"columns": ' + json.dumps(columns, ensure_ascii=False).encode() + b', "data": ['
    total = 0
    batch: list[str] = []
    for index in range(rows):
        row = {**pool[index % _POOL], "phone_number": f"+7999{index:07d}"}
        total += int(row["duration"])
        batch.append(json.dumps({name: row.get(name) for name in names}, ensure_ascii=False))
        if len(batch) == 1000 or index == rows - 1:
            yield (("," if index >= len(batch) else "") + ",".join(batch)).encode()
            batch = []
    average = (2 * total + rows) // (2 * rows) if rows else 0
    yield f'], "count": {rows}, "total_duration": {total}, "avg_duration": {average}}}'.encode()
