"""Safe YAML loading that keeps the line and column of every key and value.

`yamlparse` composes the node graph; this module builds plain Python data from it itself,
so no tag can construct an object, alias bombs are refused before any expansion, and
timestamps and `09:00`-style sexagesimals stay the text the user wrote. `round_trip` is the
instance `fmt` rewrites files with, once they loaded here without a problem.
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarstring import PlainScalarString

from dialogops.errors import Location, Problem, Rule
from dialogops.inputfiles import FileTooLargeError, read_capped
from dialogops.specs import MAX_INT_DIGITS
from dialogops.yamlparse import MAX_DEPTH, TooDeep, compose_all, ruamel_yaml

FieldPath = tuple[str | int, ...]

# Nodes an alias may add to a document when expanded; a billion-laughs document needs
# billions, a hand-written manifest with a few `<<: *defaults` merges needs tens.
MAX_ALIAS_EXPANSION = 10_000
# The composed node graph holds ~50 bytes per byte of YAML; long phone lists belong in
# CSV or JSONL files, which are streamed.
MAX_FILE_BYTES = 4 * 1024 * 1024

_CORE = "tag:yaml.org,2002:"
_SEQUENCE_TAGS = frozenset({_CORE + "seq"})
_MAPPING_TAGS = frozenset({_CORE + "map"})
_SCALAR_TAGS = frozenset(_CORE + k for k in ("str", "null", "bool", "int", "float", "timestamp"))
_INT_LIMIT = 10**MAX_INT_DIGITS
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$")


@dataclass(frozen=True)
class Document:
    """One YAML document as plain data, with where each value and key is written."""

    path: Path
    index: int  # 0-based position of the document in its file
    data: Any
    location: Location  # the document's first node
    marks: Mapping[FieldPath, Location] = field(default_factory=dict)  # value positions
    key_marks: Mapping[FieldPath, Location] = field(default_factory=dict)  # key positions

    def at(self, path: FieldPath) -> Location:
        """Where the value at `path` is written, else its nearest written ancestor."""
        return nearest(path, self.marks) or self.location

    def key_at(self, path: FieldPath) -> Location:
        """Where the key naming `path` is written (the value's position for list items)."""
        return self.key_marks.get(path) or self.at(path)


def nearest(path: FieldPath, *marks: Mapping[FieldPath, Location]) -> Location | None:
    """The mark of `path` or of its closest ancestor found in any of `marks`."""
    for end in range(len(path), -1, -1):
        for table in marks:
            found = table.get(path[:end])
            if found is not None:
                return found
    return None


def format_field(path: Sequence[str | int]) -> str:
    """`("spec", "columns", 0, "filter")` -> `spec.columns[0].filter`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _YamlProblem(Exception):
    def __init__(self, node: Node, message: str, path: FieldPath = ()) -> None:
        self.node = node
        self.field = format_field(path)
        super().__init__(message)


class _Timestamp(PlainScalarString):
    """A timestamp as the text written; dumped back as it came, unquoted."""


class _TextTimestamps(RoundTripConstructor):
    """ruamel's round-trip constructor, but a timestamp stays the text written, as
    `load_file` reads it: a date is not reformatted, and one that does not exist is kept."""

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        return _Timestamp(str(node.value), anchor=node.anchor)


class _TimestampsAsWritten(RoundTripRepresenter):
    def represent_timestamp_text(self, data: _Timestamp) -> Any:
        return self.represent_scalar(_CORE + "timestamp", str(data), anchor=data.yaml_anchor())


# ruamel dispatches on the functions registered, not on method names.
_TextTimestamps.add_constructor(_CORE + "timestamp", _TextTimestamps.construct_yaml_timestamp)
_TimestampsAsWritten.add_representer(_Timestamp, _TimestampsAsWritten.represent_timestamp_text)


def round_trip() -> YAML:
    """A ruamel instance that loads comments, quotes and styles and dumps them back, for
    rewriting a file only after `load_file` read it without problems (size, depth, aliases
    and tags within bounds). Each file needs its own: the instance keeps the `%YAML` version
    it last read."""
    yaml = ruamel_yaml()
    yaml.Constructor = _TextTimestamps
    yaml.Representer = _TimestampsAsWritten
    yaml.preserve_quotes = True
    return yaml


def load_file(path: Path, display: str) -> tuple[list[Document], list[Problem]]:
    """Load every document of a YAML file; unreadable files become problems too."""
    _raw, documents, problems = read_and_load(path, display)
    return documents, problems


def read_and_load(path: Path, display: str) -> tuple[bytes, list[Document], list[Problem]]:
    """`load_file`, also giving the bytes it read (none when it could not read the file), so
    that a file is rewritten from the very bytes that were checked, never read twice."""
    try:
        raw = read_capped(path, MAX_FILE_BYTES, "a YAML file")
    except FileTooLargeError as exc:
        message = f"file is {exc} (put long phone lists in a CSV or JSONL file)"
        return b"", [], [Problem(Location(display, 1, 1), "", message, Rule.UNREADABLE_FILE)]
    except OSError as exc:
        message = f"cannot read file: {exc.strerror or exc}"
        return b"", [], [Problem(Location(display, 1, 1), "", message, Rule.UNREADABLE_FILE)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        where = Location(display, line, col)
        return raw, [], [Problem(where, "", "file is not valid UTF-8", Rule.UNREADABLE_FILE)]
    return raw, *load_text(text, path, display)


def load_text(text: str, path: Path, display: str) -> tuple[list[Document], list[Problem]]:
    """Load every document of YAML `text`, collecting problems instead of raising."""
    documents: list[Document] = []
    problems: list[Problem] = []
    try:
        with warnings.catch_warnings():
            # YAML 1.2 allows redefining an anchor; ruamel warns about it, we do not.
            warnings.simplefilter("ignore", ReusedAnchorWarning)
            # Without an anchor nothing is shared, so no alias can expand or recurse.
            aliased = "&" in text
            for index, root in enumerate(compose_all(text)):
                doc, found = _build_document(root, index, path, display, aliased=aliased)
                problems.extend(found)
                if doc is not None:
                    documents.append(doc)
    except TooDeep as exc:
        problems.append(
            _marked_problem(
                exc,
                display,
                f"YAML nested deeper than {MAX_DEPTH} levels; refusing to load it",
                Rule.YAML_REFUSED,
            )
        )
    except MarkedYAMLError as exc:
        problems.append(_syntax_problem(exc, display))
    except YAMLError as exc:
        problems.append(
            Problem(Location(display, 1, 1), "", f"YAML error: {exc}", Rule.YAML_SYNTAX)
        )
    return documents, problems


def _marked_problem(exc: MarkedYAMLError, display: str, message: str, rule: Rule) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return Problem(Location(display, line, col), "", message, rule)


def _syntax_problem(exc: MarkedYAMLError, display: str) -> Problem:
    problem = exc.problem or "invalid YAML"
    if "'\\t'" in problem or "\t" in problem:
        message = "YAML syntax error: a tab character; YAML indentation must use spaces"
    else:
        context = f" ({exc.context})" if exc.context else ""
        message = f"YAML syntax error: {problem}{context}"
    return _marked_problem(exc, display, message, Rule.YAML_SYNTAX)


def _location(node: Node, display: str) -> Location:
    return Location(display, node.start_mark.line + 1, node.start_mark.column + 1)


def _build_document(
    root: Node, index: int, path: Path, display: str, *, aliased: bool
) -> tuple[Document | None, list[Problem]]:
    try:
        if aliased:
            _check_expansion(root)
    except _YamlProblem as exc:
        return None, [Problem(_location(exc.node, display), "", str(exc), Rule.YAML_REFUSED)]
    builder = _Builder(display)
    try:
        data = builder.build(root, ())
    except _YamlProblem as exc:
        refused = Problem(_location(exc.node, display), exc.field, str(exc), Rule.YAML_REFUSED)
        return None, [*builder.problems, refused]
    doc = Document(
        path=path,
        index=index,
        data=data,
        location=_location(root, display),
        marks=builder.marks,
        key_marks=builder.key_marks,
    )
    return doc, builder.problems


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: Node) -> None:
    """Refuse recursive aliases and documents that aliases would blow up, without expanding.

    Aliases share node objects in the composed graph, so sizes and depths are computed once
    per node. Chained aliases can nest deeper than any one written mapping, so the depth
    is checked here too, before anything recurses into the expanded document.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    unique = 0
    visiting: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            visiting.discard(key)
            children = _children(node)
            total = 1 + sum(size[id(c)] for c in children)
            size[key] = total
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if depth[key] > MAX_DEPTH:
                raise _YamlProblem(
                    node,
                    f"YAML nested deeper than {MAX_DEPTH} levels "
                    "once aliases are expanded; refusing to load it",
                )
            if total - unique > MAX_ALIAS_EXPANSION:
                raise _YamlProblem(
                    root,
                    f"aliases expand this document beyond {MAX_ALIAS_EXPANSION} nodes "
                    "(a YAML alias bomb?); refusing to load it",
                )
            continue
        if key in size:
            continue
        if key in visiting:
            raise _YamlProblem(node, "recursive YAML alias: an anchor refers to itself")
        visiting.add(key)
        unique += 1
        stack.append((node, True))
        for child in reversed(_children(node)):
            if id(child) in visiting:
                raise _YamlProblem(child, "recursive YAML alias: an anchor refers to itself")
            stack.append((child, False))


@functools.cache
def _scalar_constructor() -> Any:
    """ruamel's constructor, for the text of numbers only: its scalar methods keep no state,
    so one serves every document (an instance per document cost more than its scalars)."""
    return ruamel_yaml().constructor


class _Builder:
    """Builds plain dicts, lists and scalars, recording a mark for every path."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.marks: dict[FieldPath, Location] = {}
        self.key_marks: dict[FieldPath, Location] = {}
        self.problems: list[Problem] = []
        self._constructor = _scalar_constructor()

    def build(self, node: Node, path: FieldPath) -> Any:
        self.marks.setdefault(path, _location(node, self.display))
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            self._check_tag(node, _SEQUENCE_TAGS)
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self._scalar(node, path)

    def _check_tag(self, node: Node, allowed: frozenset[str]) -> str:
        """The node's tag, if one of `allowed`."""
        tag = str(node.tag)
        if tag not in allowed:
            shown = "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag
            raise _YamlProblem(node, f"YAML tag {shown!r} is not allowed here")
        return tag

    def _mapping(self, node: MappingNode, path: FieldPath) -> dict[str, Any]:
        self._check_tag(node, _MAPPING_TAGS)
        result: dict[str, Any] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if str(key_node.tag) == _CORE + "merge":
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                raise _YamlProblem(key_node, "a mapping key must be a plain value")
            key = str(self._scalar(key_node, path))
            key_path = (*path, key)
            if key in result:
                first = self.key_marks[key_path]
                self.problems.append(
                    Problem(
                        _location(key_node, self.display),
                        format_field(key_path),
                        f"duplicate key {key!r} (first defined at line {first.line})",
                        Rule.DUPLICATE_KEY,
                    )
                )
                continue
            self.key_marks.setdefault(key_path, _location(key_node, self.display))
            result[key] = self.build(value_node, key_path)
        # Merged keys come last so that keys written in this mapping win, marks included.
        for merge in merges:
            for key, value in self._merge(merge, path).items():
                result.setdefault(key, value)
        return result

    def _merge(self, node: Node, path: FieldPath) -> dict[str, Any]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in sources:
            if not isinstance(source, MappingNode):
                raise _YamlProblem(source, "a merge key '<<' needs a mapping or a list of them")
            for key, value in self._mapping(source, path).items():
                merged.setdefault(key, value)
        return merged

    def _scalar(self, node: ScalarNode, path: FieldPath) -> Any:
        """The value of a scalar written at `path` (for a key, the mapping's path)."""
        kind = self._check_tag(node, _SCALAR_TAGS)[len(_CORE) :]
        text: str = node.value
        if kind == "null":
            return None
        if kind == "bool":
            return text.lower() in ("true", "yes", "on", "y")
        # Sexagesimal numbers (YAML 1.1 `09:00` = 540) and timestamps stay as written:
        # the user meant a time or a date, and the schema checks the text.
        if kind == "timestamp" or (kind in ("int", "float") and _SEXAGESIMAL.match(text)):
            return text
        if kind == "int":
            return self._int(node, text, path)
        if kind == "float":
            value = float(self._constructor.construct_yaml_float(node))
            # No setting takes an infinite number, and NaN slips past every range check.
            if not math.isfinite(value):
                raise _YamlProblem(node, f"{text} is not a finite number", path)
            return value
        return text

    def _int(self, node: ScalarNode, text: str, path: FieldPath) -> int:
        """The integer written, refused past MAX_INT_DIGITS digits (a hexadecimal one too):
        Python turns no longer one into text, nor longer decimal text into an integer."""
        # Checked before converting: a longer decimal text makes int() raise ValueError.
        if len(text.lstrip("+-")) <= MAX_INT_DIGITS:
            try:
                value = int(self._constructor.construct_yaml_int(node))
            except ValueError:  # PYTHONINTMAXSTRDIGITS set lower than MAX_INT_DIGITS
                pass
            else:
                if abs(value) < _INT_LIMIT:
                    return value
        message = f"an integer of more than {MAX_INT_DIGITS:,} digits, longer than dialogops reads"
        raise _YamlProblem(node, message, path)


def display_path(path: Path, cwd: Path | None = None) -> str:
    """How a file is named in messages: relative to the working directory when inside it."""
    base = (cwd or Path.cwd()).resolve()
    absolute = path if path.is_absolute() else base / path
    try:
        return str(absolute.relative_to(base))
    except ValueError:
        return str(absolute)
