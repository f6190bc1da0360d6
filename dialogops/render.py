"""Campaign -> the documented create request body, and its fingerprint.

`render_campaign` streams the phone rows straight into a SHA-256 of the canonical body,
holding only a small batch at a time. Asked to keep the body (apply), the same pass writes
the canonical bytes to a spooled temporary file (in memory up to a few MB, then on disk):
the body apply sends is the one whose fingerprint the plan shows, rendered once.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import operator
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import IO, Any

import msgspec

from dialogops import localhours, phones, sources
from dialogops.errors import Location, Problem, RenderError
from dialogops.masking import mask_digits
from dialogops.specs import Campaign, InlineSource
from dialogops.templates import AddDataError, Vars, compile_valid
from dialogops.yamlio import display_path

PERIODS = {"id": 1, "title": "Однократно"}
INITIAL_STATE = "Создано"
MAX_PROBLEMS = 50
SAMPLE_SIZE = 5
_BATCH = 2048
# A kept body stays in memory up to this size, then moves to a temporary file.
SPOOL_BYTES = 4 * 1024 * 1024

# Asked once per recipient after dedupe, with its E.164 number and source position: whether
# to call it (the contact ledger's frequency caps and `only_new` answer).
Keep = Callable[[str, int], bool]

_ENCODER = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
)
# The same bytes as _ENCODER for every JSON value but a float (msgspec writes 1e16 where
# json writes 1e+16, and fingerprints must not change): batches whose add_data values are
# all of these types, nearly all of them, take it, ten times faster.
_FAST_ENCODER = msgspec.json.Encoder(order="sorted")
_SCALARS = frozenset({str, int, bool, type(None)})
_ADD_DATA = operator.itemgetter("add_data")


@dataclass(frozen=True)
class RenderStats:
    rows: int  # rows read from the source
    phones: int  # phones in the body (what would be called)
    duplicates: int  # repeats dropped by dedupe
    excluded: int  # numbers found in the exclude lists
    skipped: int  # invalid numbers skipped with on_invalid: skip
    # Rows excluded by each list (policy.suppress first, then exclude), by its path.
    excluded_by: tuple[tuple[str, int], ...] = ()
    dropped: int = 0  # recipients the contact ledger left out (frequency caps, only_new)


@dataclass(frozen=True)
class SkippedRow:
    """A row left out by `on_invalid: skip`, for `plan -v` and the plan document."""

    location: Location
    phone: str  # masked as every message masks it
    reason: str


@dataclass(frozen=True)
class RequestBody:
    """A rendered create body: its canonical JSON in a spooled temporary file of `size` bytes.

    The owner closes it (`RenderedCampaign.close`); the file is read from the start.
    """

    file: IO[bytes]
    size: int


@dataclass(frozen=True)
class RenderedCampaign:
    name: str
    fingerprint: str  # "sha256:<64 hex>"
    stats: RenderStats
    sample_phones: tuple[str, ...]  # the first numbers sent, in order, unmasked
    add_data_keys: tuple[str, ...]
    # The first MAX_PROBLEMS rows skipped as invalid; `stats.skipped` counts them all.
    skipped_rows: tuple[SkippedRow, ...] = ()
    # `sha256:<hex>` of the phone file and each exclude file, hashed as they were read.
    data_files: Mapping[Path, str] = field(default_factory=dict)
    body: RequestBody | None = None  # when asked to keep it: exactly what was fingerprinted

    def close(self) -> None:
        """Drop the kept body, if any."""
        if self.body is not None:
            self.body.file.close()


def canonical_json(value: Any) -> bytes:
    """The canonical serialisation: sorted keys, no spaces, UTF-8, no NaN."""
    return _ENCODER.encode(value).encode("utf-8")


def fingerprint(body: Mapping[str, Any]) -> str:
    """`sha256:` and the hex SHA-256 of the canonical body."""
    return "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()


def campaign_object(campaign: Campaign) -> dict[str, Any]:
    """The `campaign` part of the create body, in the documented key order."""
    schedule = campaign.schedule
    return {
        "project_id": campaign.project_id,
        "name": campaign.title,
        "description": campaign.description,
        "start_block_id": campaign.start_block_id,
        "schedule": {
            "date": schedule.date.isoformat(),
            "start_time": schedule.start_time.strftime("%H:%M"),
            "end_time": schedule.end_time.strftime("%H:%M"),
            "periods": dict(PERIODS),
            "attempts": {"id": schedule.attempts, "title": str(schedule.attempts)},
            "interval": str(schedule.interval_minutes),
        },
        "state": INITIAL_STATE,
        "phone_id": campaign.phone_id,
    }


def render_campaign(
    campaign: Campaign,
    vars: Mapping[str, str],
    keep: Keep | None = None,
    *,
    keep_body: bool = False,
) -> RenderedCampaign:
    """Stats, sample phones and the fingerprint of the body, without holding the phones;
    with `keep_body`, the body itself in a spooled temporary file (the caller closes it)."""
    digest = hashlib.sha256()
    # Closed here on a failure, else by the owner of the result.
    spool = tempfile.SpooledTemporaryFile(SPOOL_BYTES) if keep_body else None  # noqa: SIM115
    # The canonical body is `{"campaign":...,"phones":[...]}` ("campaign" sorts first);
    # each batch is encoded as a list and its brackets dropped. The campaign part is
    # encoded only once the rows rendered without problems: a title that cannot be
    # encoded is one of those problems.
    first = True

    def write(data: bytes) -> None:
        digest.update(data)
        if spool is not None:
            spool.write(data)

    def write_batch(batch: list[dict[str, Any]]) -> None:
        nonlocal first
        if first:
            write(_body_head(campaign))
        text = _batch_json(batch)
        write(text if first else b"," + text)
        first = False

    try:
        with _few_collections():
            stats, sample, keys, skipped, files = _render_rows(campaign, vars, write_batch, keep)
        if first:
            write(_body_head(campaign))
        write(b"]}")
    except BaseException:
        if spool is not None:
            spool.close()
        raise
    body = None
    if spool is not None:
        body = RequestBody(spool, spool.tell())
        spool.seek(0)
    return RenderedCampaign(
        name=campaign.name,
        fingerprint="sha256:" + digest.hexdigest(),
        stats=stats,
        sample_phones=sample,
        add_data_keys=keys,
        skipped_rows=skipped,
        data_files=files,
        body=body,
    )


@contextlib.contextmanager
def _few_collections() -> Iterator[None]:
    """The cycle collector at a slower pace while rows are rendered.

    Each row makes short-lived dicts and strings, none of them in a cycle; at the default
    pace (a young pass every 700 allocations, a full pass of every object of the process
    every hundred of those) the collector took a tenth of a plan's CPU.
    """
    old = gc.get_threshold()
    gc.set_threshold(20_000, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _batch_json(batch: list[dict[str, Any]]) -> bytes:
    """The batch's entries as canonical JSON, comma-separated (the list without brackets)."""
    # The types of every add_data value, collected in C: a set comprehension over the
    # entries cost each row about as much as encoding it.
    values = chain.from_iterable(map(dict.values, map(_ADD_DATA, batch)))
    if set(map(type, values)) <= _SCALARS:
        return _FAST_ENCODER.encode(batch)[1:-1]
    return canonical_json(batch)[1:-1]


def _body_head(campaign: Campaign) -> bytes:
    return b'{"campaign":' + canonical_json(campaign_object(campaign)) + b',"phones":['


@dataclass
class _FieldProblems:
    """One field's row problems: the first MAX_PROBLEMS kept, all counted."""

    kept: list[tuple[int, int, str]] = field(default_factory=list)  # (position, order, message)
    count: int = 0
    last_position: int = 0
    same: str | None = None  # the message, while every row gave the same one


class _Problems:
    """Rendering problems of one campaign, kept in bounded memory.

    Problems found before the rows (templates, exclude files) are always kept in full.
    An add_data key that fails with the same message on every row rendered does not
    depend on the row (an unset --var, a template that cannot work): it is reported once,
    at the template, with the count of rows. Row problems are kept for the first
    MAX_PROBLEMS rows in order, and the rest counted.
    """

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self.upfront: list[Problem] = []
        self.fields: dict[str, _FieldProblems] = {}
        self.total = 0

    def add(self, position: int, field: str, message: str) -> None:
        problems = self.fields.get(field)
        if problems is None:
            problems = self.fields[field] = _FieldProblems(same=message)
        elif problems.same != message:
            problems.same = None
        problems.count += 1
        problems.last_position = position
        if len(problems.kept) < MAX_PROBLEMS:
            problems.kept.append((position, self.total, message))
        self.total += 1

    def raise_if_any(self, rendered: int) -> None:
        """Raise every problem; `rendered` is how many rows had their add_data rendered."""
        if not self.total and not self.upfront:
            return
        problems = list(self.upfront)
        by_row: list[tuple[int, int, str, str]] = []
        more = last = 0
        for name, found in self.fields.items():
            key = name.removeprefix("add_data.")
            if key != name and found.same is not None and found.count == rendered > 1:
                where = self.campaign.add_data_locations.get(key, self.campaign.location)
                problems.append(Problem(where, name, f"{found.same} (on all {rendered} rows)"))
                continue
            by_row.extend((position, order, name, msg) for position, order, msg in found.kept)
            more += found.count
            last = max(last, found.last_position)
        by_row.sort()
        source = self.campaign.phones.source
        shown = by_row[:MAX_PROBLEMS]
        problems.extend(Problem(sources.origin(source, p), f, m) for p, _, f, m in shown)
        if more > len(shown):
            # At the last problem's location, so it sorts after every problem shown.
            problems.append(
                Problem(
                    sources.origin(source, last),
                    "",
                    f"... and {more - len(shown)} more rendering problems "
                    f"(the first {MAX_PROBLEMS} are shown)",
                )
            )
        raise RenderError(problems)


def _render_rows(
    campaign: Campaign,
    vars: Mapping[str, str],
    emit: Callable[[list[dict[str, Any]]], None],
    ledger_keep: Keep | None = None,
) -> tuple[RenderStats, tuple[str, ...], tuple[str, ...], tuple[SkippedRow, ...], dict[Path, str]]:
    """Run every row through phones and templates, passing batches of phone entries to `emit`.

    Order per row: invalid phone (error, or skipped), excluded, duplicate, then add_data.
    Returns the stats, the first phones sent, the add_data keys, the first rows skipped and
    the digests of the data files (the phone file first), taken as they were read.
    """
    spec = campaign.phones
    problems = _Problems(campaign)
    # Broken templates or exclude files do not stop the rows from being checked (with the
    # templates that do compile), so one run reports every problem.
    renderer, template_problems = compile_valid(campaign)
    problems.upfront.extend(template_problems)
    excludes: dict[str, int] = {}
    read: dict[Path, str] = {}
    try:
        excludes = sources.read_excludes(spec.exclude, spec.default_region, read)
    except RenderError as exc:
        problems.upfront.extend(exc.problems)
    # Everything the loop below uses, looked up once: it runs once per row.
    region = spec.default_region
    skip_invalid = spec.on_invalid == "skip"
    column = spec.source.phone_column
    render = renderer.render_prepared
    values = Vars(vars)
    fast_e164 = phones.fast_e164
    excluded_at = excludes.get
    seen: set[int] | None = set() if spec.dedupe else None
    keep = localhours.row_filter(campaign)  # a part's own group; skipped local hours
    batch: list[dict[str, Any]] = []
    batch_size = _BATCH
    sample: list[str] = []
    skipped_rows: list[SkippedRow] = []
    rows = rendered = sent = duplicates = excluded = skipped = dropped = 0
    excluded_by = [0] * len(spec.exclude)

    def flush(entries: list[dict[str, Any]]) -> None:
        # Once there is a problem the body will not be used: the rows are only checked.
        nonlocal sample
        if not (problems.total or problems.upfront):
            sample = sample or [entry["phone"] for entry in entries[:SAMPLE_SIZE]]
            emit(entries)

    try:
        for data, raw, position in sources.raw_rows(spec.source, read):
            rows += 1
            if raw is None:
                problems.add(position, column, f"the row has no {column!r} field")
                continue
            e164 = fast_e164(raw, region)
            if e164 is None:
                try:
                    e164 = phones.normalize(raw, region)
                except ValueError as exc:
                    if skip_invalid:
                        skipped += 1
                        if len(skipped_rows) < MAX_PROBLEMS:
                            where = sources.origin(spec.source, position)
                            skipped_rows.append(SkippedRow(where, mask_digits(raw), str(exc)))
                    else:
                        problems.add(position, column, str(exc))
                    continue
            listed = excluded_at(e164)
            if listed is not None:
                excluded += 1
                excluded_by[listed] += 1
                continue
            if seen is not None:
                # Integers take half the memory of the strings for a million numbers
                # (int() reads the leading `+` as a sign).
                number = int(e164)
                if number in seen:
                    duplicates += 1
                    continue
                seen.add(number)
            if keep is not None and not keep(e164, data):
                continue
            if ledger_keep is not None and not ledger_keep(e164, position):
                dropped += 1
                continue
            rendered += 1
            try:
                add_data = render(data, values)
            except AddDataError as exc:
                for key, message in exc.failures:
                    problems.add(position, f"add_data.{key}", message)
                continue
            sent += 1
            batch.append({"add_data": add_data, "phone": e164})
            if len(batch) >= batch_size:
                flush(batch)
                batch = []
    except RenderError as exc:  # the source cannot be read (from the start or part way)
        problems.upfront.extend(exc.problems)

    problems.raise_if_any(rendered)
    if batch:
        flush(batch)
    by_list = tuple(
        (display_path(e.path), count) for e, count in zip(spec.exclude, excluded_by, strict=True)
    )
    stats = RenderStats(rows, sent, duplicates, excluded, skipped, by_list, dropped)
    files = {path: read[path] for path in _data_paths(campaign)}
    return stats, tuple(sample), renderer.keys, tuple(skipped_rows), files


def _data_paths(campaign: Campaign) -> list[Path]:
    """The phone file (if any), then each exclude file."""
    source = campaign.phones.source
    paths = [] if isinstance(source, InlineSource) else [source.path]
    return paths + [exclude.path for exclude in campaign.phones.exclude]
