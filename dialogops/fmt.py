"""`dialogops fmt`: manifests rewritten in one layout, keys in the documented order, times,
dates and phones double-quoted, two-space indents, comments kept (a ruamel round trip).

A file is rewritten only after it loads as validation loads it, and every quoted value is
the text validation reads, so formatting never changes what a manifest means.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from dialogops.errors import Location, ManifestError, Problem, Rule
from dialogops.yamlio import Document, display_path, read_and_load, round_trip

# A long template or title stays on its line: folding it would only make diffs noisy.
LINE_WIDTH = 4096
# Blank, comment and directive lines, then the `---` that starts the first document.
_PROLOG = re.compile(r"\A(?:[ \t]*(?:#[^\n]*)?\n|%[^\n]*\n)*---[ \t]*(?:#[^\n]*)?\n")


class Quoted:
    """A scalar written as a double-quoted string of the value validation reads."""


QUOTED = Quoted()


class Each(NamedTuple):
    """Every item of a list has the layout `item`."""

    item: Layout


class Either(NamedTuple):
    """A scalar item or a mapping item, each with its own layout (inline phones)."""

    scalar: Layout
    mapping: Layout


Layout = Mapping[str, "Layout | None"] | Quoted | Each | Either

METADATA: Layout = {"name": None, "labels": None}
CAMPAIGN: Layout = {
    "apiVersion": None,
    "kind": None,
    "metadata": METADATA,
    "spec": {
        "project_id": None,
        "title": None,
        "description": None,
        "start_block_id": None,
        "phone_id": None,
        "schedule": {
            "date": QUOTED,
            "start_time": QUOTED,
            "end_time": QUOTED,
            "attempts": None,
            "interval_minutes": None,
        },
        "phones": {
            "csv": {"path": None, "phone_column": None, "delimiter": None, "encoding": None},
            "jsonl": {"path": None, "phone_column": None, "encoding": None},
            "inline": Each(Either(QUOTED, {"phone": QUOTED})),
            "default_region": None,
            "dedupe": None,
            "exclude": None,
            "on_invalid": None,
        },
        "add_data": None,
    },
}
REPORT: Layout = {
    "apiVersion": None,
    "kind": None,
    "metadata": METADATA,
    "spec": {
        "campaign": None,
        "outgoing_campaign_id": None,
        "scenario_id": None,
        "project_id": None,
        "start_block_id": None,
        "period": {"start": QUOTED, "end": QUOTED},
        "columns": Each(
            {
                "id": None,
                "name": None,
                "display_name": None,
                "column_type": None,
                "data_type": None,
                "filter": {"type": None, "value": None},
                "sorting": None,
            }
        ),
        "output": {"format": None, "path": None},
    },
}
LAYOUTS: Mapping[str, Layout] = {"Campaign": CAMPAIGN, "Report": REPORT}


@dataclass(frozen=True)
class Formatted:
    """A manifest file and its text in the canonical layout."""

    path: Path
    text: str
    changed: bool


def format_file(path: Path) -> Formatted:
    """The file's canonical text; `ManifestError` when it does not load as a manifest file
    (a syntax error, a refused tag or alias, a duplicate key: nothing is rewritten then)."""
    display = display_path(path)
    raw, documents, problems = read_and_load(path, display)
    if problems:
        raise ManifestError(problems)
    # The text as a text-mode read gives it: CRLF or CR line endings are line endings, and a
    # byte order mark is kept, so that a file with one counts as changed (it is dropped).
    written = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    if not any(_layout(document) for document in documents):
        return Formatted(path, written, changed=False)  # no manifest in it: not ours to format
    text = format_text(written.removeprefix("\ufeff"), documents, display)
    return Formatted(path, text, text != written)


def _layout(document: Document) -> Layout | None:
    data = document.data
    return LAYOUTS.get(str(data.get("kind"))) if isinstance(data, dict) else None


def format_text(text: str, documents: list[Document], display: str) -> str:
    """`text` in the canonical layout; `documents` are its documents as `load_file` read them."""
    yaml = round_trip()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = LINE_WIDTH
    try:
        nodes = list(yaml.load_all(text))
        for node, document in zip(nodes, documents, strict=True):
            layout = _layout(document)
            if layout is not None:
                _arrange(node, document.data, layout, {})
        out = io.StringIO()
        yaml.dump_all(nodes, out)
    except YAMLError as exc:
        message = f"cannot be formatted: {exc}"
        raise ManifestError(
            [Problem(Location(display, 1, 1), "", message, Rule.YAML_SYNTAX)]
        ) from None
    return _keep_prolog(text, out.getvalue())


def _keep_prolog(written: str, dumped: str) -> str:
    """`dumped` with the lines before the first `---` as written: ruamel drops comments
    there (a schema modeline above `---`, say)."""
    prolog = _PROLOG.match(written)
    if prolog is None:
        return dumped
    own = _PROLOG.match(dumped)
    return prolog[0] + (dumped[own.end() :] if own else dumped)


def _arrange(node: Any, plain: Any, layout: Layout, anchored: dict[int, Any]) -> Any:
    """`node` in `layout` (reordered in place, or a quoted replacement); `plain` is the value
    validation read at the same place, `anchored` the replacements of anchored scalars, so
    that their aliases follow."""
    if isinstance(layout, Quoted):
        return _quoted(node, plain, anchored)
    if isinstance(layout, Either):
        chosen = layout.mapping if isinstance(node, CommentedMap) else layout.scalar
        return _arrange(node, plain, chosen, anchored)
    if isinstance(layout, Each):
        if isinstance(node, CommentedSeq) and isinstance(plain, list):
            for index, item in enumerate(node):
                node[index] = _arrange(item, plain[index], layout.item, anchored)
        return node
    if isinstance(node, CommentedMap) and isinstance(plain, dict):
        own = [key for key, _ in node.non_merged_items()]
        for key, inner in layout.items():
            if inner is not None and key in own:
                node[key] = _arrange(node[key], plain.get(key), inner, anchored)
        for key in [k for k in layout if k in own] + [k for k in own if k not in layout]:
            node.move_to_end(key)
    return node


def _quoted(node: Any, plain: Any, anchored: dict[int, Any]) -> Any:
    if isinstance(plain, bool) or not isinstance(plain, str | int):
        return node  # not a time, date or phone: validate says what is wrong with it
    if id(node) in anchored:
        return anchored[id(node)]
    anchor = getattr(node, "anchor", None)
    name = anchor.value if anchor is not None else None
    quoted = DoubleQuotedScalarString(str(plain), anchor=name)
    if name is not None:
        anchored[id(node)] = quoted
    return quoted
