"""YAML text to node graphs, nested at most MAX_DEPTH levels; `yamlio` builds the data.

libyaml (ruamel.yaml.clib) parses five times faster than ruamel's pure-Python parser; its
events become ruamel's nodes, tagged by ruamel's YAML 1.2 resolver, so the nodes are the
same. Text that libyaml, a YAML 1.1 parser, could read otherwise, and text it cannot parse,
are read by ruamel's parser and composer, which word the problem.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import Any

from _ruamel_yaml import CParser
from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from ruamel.yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

# Manifests nest a handful of levels; ruamel's composer and `yamlio`'s builder recurse per
# level, so a deliberately deep document would otherwise exhaust the Python stack.
MAX_DEPTH = 64

# What libyaml reads otherwise than ruamel's YAML 1.2 parser: a `%YAML` directive (only
# ruamel's parser passes the version to the resolver), anchors (YAML 1.2 lets `:` into
# their names), tabs (libyaml lets them into plain scalars), NEL, LS and PS (line breaks
# in YAML 1.1 only) and a BOM after the start.
_READ_OTHERWISE_BY_LIBYAML = re.compile("%YAML|[&\t\x85\u2028\u2029\ufeff]")


class TooDeep(MarkedYAMLError):
    """A document nested deeper than MAX_DEPTH; the mark is where the limit was passed."""


class _BoundedComposer(Composer):
    """The stock composer, refusing documents nested deeper than MAX_DEPTH."""

    _nesting = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._nesting += 1
        try:
            if self._nesting > MAX_DEPTH:
                mark = self.parser.peek_event().start_mark
                raise TooDeep(problem_mark=mark)
            return super().compose_node(parent, index)
        finally:
            self._nesting -= 1


def ruamel_yaml(typ: str = "rt") -> YAML:
    """A pure-Python ruamel instance with the bounded composer. Both modes read YAML 1.2 (so
    `09:00` and `no` are strings) and keep marks; safe mode's scanner skips the comments
    that only the round-trip mode of `fmt` keeps."""
    yaml = YAML(typ=typ, pure=True)
    yaml.Composer = _BoundedComposer
    return yaml


def compose_all(text: str) -> Iterator[Node]:
    """The node graph of each document of `text`; a problem raises a YAMLError."""
    if not _READ_OTHERWISE_BY_LIBYAML.search(text):
        try:
            return iter(_libyaml_documents(text))
        except YAMLError:
            pass
    nodes: Iterator[Node] = ruamel_yaml("safe").compose_all(io.StringIO(text))
    return nodes


class _Yaml12Resolver(VersionedResolver):
    """ruamel's resolver for text without a `%YAML` directive (the only text libyaml reads
    here): YAML 1.2, stated once instead of looked up on every node."""

    @property
    def processing_version(self) -> Any:
        return (1, 2)


def _libyaml_documents(text: str) -> list[Node]:
    """libyaml's events composed into ruamel's nodes, tagged by ruamel's YAML 1.2 resolver:
    the same graph, tags and marks as ruamel's parser, except that an empty value is marked
    just after its key rather than at the next token."""
    parser = CParser(io.StringIO(text))
    resolve = _Yaml12Resolver().resolve
    documents: list[Node] = []
    try:
        parser.get_event()  # the stream's start
        while not parser.check_event(StreamEndEvent):
            parser.get_event()  # the document's start
            documents.append(_document(parser, resolve))
            parser.get_event()  # the document's end
    finally:
        parser.dispose()
    return documents


def _document(parser: Any, resolve: Callable[..., Any]) -> Node:
    """One document's nodes, built from its events in one loop: ruamel's composer, which
    recursed and looked up its parser and resolver per event, was the largest part of
    loading a manifest. As deep as MAX_DEPTH; the text has no anchor, so any alias is
    undefined."""
    opened: list[CollectionNode] = []  # the collections being filled, outermost first
    keys: list[Node | None] = []  # per collection: a mapping's key still without its value
    while True:
        event = parser.get_event()
        kind = type(event)
        node: Node
        if kind is SequenceEndEvent or kind is MappingEndEvent:
            node = opened.pop()
            keys.pop()
            node.end_mark = event.end_mark
        elif len(opened) >= MAX_DEPTH:
            raise TooDeep(problem_mark=event.start_mark)
        elif kind is ScalarEvent:
            tag = event.ctag
            if tag is None or str(tag) == "!":
                tag = resolve(ScalarNode, event.value, event.implicit)
            node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        elif kind is SequenceStartEvent or kind is MappingStartEvent:
            node_class = SequenceNode if kind is SequenceStartEvent else MappingNode
            tag = event.ctag
            if tag is None or str(tag) == "!":
                tag = resolve(node_class, None, event.implicit)
            opened.append(node_class(tag, [], event.start_mark, None, flow_style=event.flow_style))
            keys.append(None)
            continue
        else:
            message = f"found undefined alias {event.anchor!r}"
            raise ComposerError(None, None, message, event.start_mark)
        if not opened:
            return node
        parent = opened[-1]
        if type(parent) is SequenceNode:
            parent.value.append(node)
        elif keys[-1] is None:
            keys[-1] = node
        else:
            parent.value.append((keys[-1], node))
            keys[-1] = None
