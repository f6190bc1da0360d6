"""The state file format, declared once as msgspec Structs that decode, check and encode it.

Reading names the failing field (`campaigns.nps.status`); writing gives the text git diffs
well (fixed key order, campaigns by name, 2-space indent) and checks what it writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, cast

import msgspec

from dialogops.errors import StateError
from dialogops.state.model import (
    CampaignId,
    CampaignName,
    Count,
    Fingerprint,
    Listing,
    Replaced,
    Sent,
    State,
    StateEntry,
    Status,
    Summary,
    Timestamp,
    reason_and_path,
)

FORMAT_VERSION = 1
# The most read from a state file: 100,000 campaigns take about 26 MB, and a file that
# never ends (/dev/zero, a link to it) must not fill memory.
MAX_STATE_BYTES = 256 * 1024 * 1024


class _Entry(
    msgspec.Struct,
    frozen=True,
    gc=False,
    kw_only=True,
    omit_defaults=True,
    forbid_unknown_fields=True,
):
    """A `StateEntry` as its block in the file: keys in this order, empty ones left out.

    Not the record itself: the name is the block's key, and a Struct encodes every field.
    """

    status: Status
    id: CampaignId | None = None
    fingerprint: Fingerprint
    phones: Count
    created_at: Timestamp | None = None
    started_at: Timestamp | None = None
    sent: Sent | None = None
    history: tuple[Replaced, ...] = ()


class _Document(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    version: Annotated[int, msgspec.Meta(ge=FORMAT_VERSION, le=FORMAT_VERSION)]
    serial: Count
    lineage: str
    campaigns: dict[CampaignName, _Entry]


class _Version(msgspec.Struct):
    """Only the version: a newer one is named as such, not as the shape it no longer fits."""

    version: object = None


class _Blocks(msgspec.Struct):
    """The campaigns left undecoded, to find which one is invalid."""

    campaigns: dict[str, msgspec.Raw]


_DOCUMENT = msgspec.json.Decoder(_Document)
_ENTRY = msgspec.json.Decoder(_Entry)
_ENCODER = msgspec.json.Encoder()


def loads(text: str, origin: str) -> State:
    """Parse a state document; `origin` (the file) names it in every error."""
    try:
        return _loads(text, origin)
    except RecursionError:  # msgspec recurses per level of nesting, even in a skipped value
        raise StateError(
            f"{origin}: not a valid dialogops state file: JSON nested too deeply to read"
        ) from None


def _loads(text: str, origin: str) -> State:
    try:
        document = _DOCUMENT.decode(text)
    except msgspec.ValidationError as exc:
        _refuse_unreadable(text, origin)
        raise StateError(
            f"{origin}: not a valid dialogops state file: {_first_problem(text, exc)}"
        ) from None
    except msgspec.DecodeError as exc:
        raise _not_json(text, origin, exc) from None
    campaigns: dict[str, StateEntry] = {}
    name = ""
    try:
        for name, block in document.campaigns.items():
            campaigns[name] = _entry(name, block)
    except ValueError as exc:  # a rule across fields, checked by the record itself
        raise StateError(
            f"{origin}: not a valid dialogops state file: campaigns.{name}: {exc}"
        ) from None
    return State(lineage=document.lineage, serial=document.serial, campaigns=campaigns)


def dumps(state: State, checked: Mapping[str, StateEntry] | None = None) -> str:
    """The state file's text: fixed key order, campaigns by name, one block each.

    Entries equal to those in `checked` (as read from or written to the file) are written
    as they are; any other is first checked to read back as written, so that nothing
    unreadable reaches the disk without checking a whole large state on every write.
    """
    known = checked or {}
    campaigns = state.campaigns
    blocks = {name: _block(campaigns[name]) for name in sorted(campaigns)}
    for name, entry in campaigns.items():
        if known.get(name) != entry:
            problem = _block_problem(name, _ENCODER.encode(blocks[name]))
            if problem is not None:
                raise StateError(f"refusing to write an invalid state entry: {problem}")
    document = _Document(
        version=FORMAT_VERSION, serial=state.serial, lineage=state.lineage, campaigns=blocks
    )
    return msgspec.json.format(_ENCODER.encode(document), indent=2).decode() + "\n"


def entry_json(entry: StateEntry) -> str:
    """One entry's block as JSON (a database row), checked to read back as written."""
    data = _ENCODER.encode(_block(entry))
    problem = _block_problem(entry.name, data)
    if problem is not None:
        raise StateError(f"refusing to write an invalid state entry: {problem}")
    return data.decode()


def loads_blocks(
    lineage: str, serial: int, blocks: Iterable[tuple[str, str]], origin: str
) -> State:
    """A state from each campaign's block as JSON text (a database's rows), checked as a
    state file is, in one decode: `origin` names the store in every error."""
    encode = _ENCODER.encode
    campaigns = b",".join(b"%s:%s" % (encode(name), block.encode()) for name, block in blocks)
    text = b'{"version":%d,"serial":%d,"lineage":%s,"campaigns":{%s}}' % (
        FORMAT_VERSION,
        serial,
        encode(lineage),
        campaigns,
    )
    return loads(text.decode(), origin)


def listing_rows(serial: int, rows: Sequence[Sequence[object]], origin: str) -> Listing:
    """A `Listing` from rows of (name, status, id, phones, created_at), each field checked as
    a state's is: `origin` names the store in the error."""
    try:
        entries = msgspec.convert(rows, tuple[Summary, ...])
    except msgspec.ValidationError as exc:
        reason, path = reason_and_path(exc)
        # `$[row][field]`: the row's campaign and the field's name.
        row, field = (int(n) for n in re.findall(r"\[(\d+)\]", path)[:2])
        name = str(rows[row][0])
        column = Summary.__struct_fields__[field]
        problem = (
            _name_problem(name, reason)
            if column == "name"
            else _field_problem(name, column, reason)
        )
        raise StateError(f"{origin}: not a valid dialogops state file: {problem}") from None
    return Listing(serial, entries)


def _entry(name: str, block: _Entry) -> StateEntry:
    return StateEntry(
        name,
        block.status,
        block.fingerprint,
        block.phones,
        block.id,
        block.created_at,
        block.started_at,
        block.history,
        block.sent,
    )


def file_fields(entry: StateEntry) -> dict[str, Any]:
    """The entry as its block in the state file holds it (empty fields left out)."""
    return cast(dict[str, Any], msgspec.to_builtins(_block(entry)))


def every_field(entry: StateEntry) -> dict[str, Any]:
    """Every field of the entry, its name first and empty ones as None."""
    return cast(dict[str, Any], msgspec.to_builtins(entry))


def _block(entry: StateEntry) -> _Entry:
    return _Entry(
        status=entry.status,
        id=entry.id,
        fingerprint=entry.fingerprint,
        phones=entry.phones,
        created_at=entry.created_at,
        started_at=entry.started_at,
        sent=entry.sent,
        history=entry.history,
    )


def _refuse_unreadable(text: str, origin: str) -> None:
    """Broken JSON or a newer format, which msgspec may meet only after a field it refused."""
    try:
        version = msgspec.json.decode(text, type=_Version).version
    except msgspec.ValidationError:  # not even an object: the shape error says so
        return
    except msgspec.DecodeError as exc:
        raise _not_json(text, origin, exc) from None
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise StateError(
            f"{origin}: state format version {version} was written by a newer "
            f"dialogops; this one reads version {FORMAT_VERSION}: upgrade dialogops"
        )


def _not_json(text: str, origin: str, error: msgspec.DecodeError) -> StateError:
    return StateError(
        f"{origin}: state file is not valid JSON ({_syntax_error(text, error)}); "
        f"the previous version may be in {Path(origin).name}.backup"
    )


def _first_problem(text: str, error: msgspec.ValidationError) -> str:
    """The error as `field.path: reason`, naming the campaign that msgspec leaves as `[...]`."""
    reason, path = reason_and_path(error)
    if path.startswith("$.campaigns[") or path.endswith("in `$.campaigns"):
        # By name: a database backend's rows come in any order, the message must not.
        for name, raw in sorted(msgspec.json.decode(text, type=_Blocks).campaigns.items()):
            problem = _block_problem(name, raw)
            if problem is not None:
                return problem
    return f"{_dotted(path) or '(top level)'}: {reason}"


def _block_problem(name: str, block: bytes | msgspec.Raw) -> str | None:
    """Why campaign `name` with its block's JSON would not read back; None when it would."""
    try:
        msgspec.convert(name, CampaignName)
    except msgspec.ValidationError as exc:
        return _name_problem(name, reason_and_path(exc)[0])
    try:
        _ENTRY.decode(block)
    except msgspec.ValidationError as exc:
        reason, path = reason_and_path(exc)
        return _field_problem(name, _dotted(path), reason)
    return None


def _name_problem(name: str, reason: str) -> str:
    return f"campaigns: {name!r} is not a campaign name: {reason}"


def _field_problem(name: str, field: str, reason: str) -> str:
    """`campaigns.NAME.FIELD: reason`; the entry itself when `field` is empty."""
    return f"{'.'.join(filter(None, ('campaigns', name, field)))}: {reason}"


def _dotted(path: str) -> str:
    """`$.history[0].id` as `history.0.id`, the way the docs and older messages name fields."""
    return re.sub(r"\[(\d+)\]", r".\1", path).removeprefix("$").removeprefix(".")


def _syntax_error(text: str, error: msgspec.DecodeError) -> str:
    """Where the JSON breaks, by line and column (msgspec only gives a byte offset)."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
    except (ValueError, RecursionError):  # an integer or a nesting json cannot read either
        pass
    return str(error)
