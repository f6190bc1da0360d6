"""YAML text to node graphs, nested at most MAX_DEPTH levels; `yamlio` builds the data.

libyaml (ruamel.yaml.clib) parses five times faster than ruamel's pure-Python parser, and
its events feed ruamel's composer and YAML 1.2 resolver, so the nodes are the same. Text
that libyaml, a YAML 1.1 parser, could read otherwise, and text it cannot parse, are read
by ruamel's parser, which words the problem.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

from _ruamel_yaml import CParser
from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import Node
from ruamel.yaml.resolver import VersionedResolver

# Manifests nest a handful of levels; the composer recurses per level, so a deliberately
# deep document would otherwise exhaust the Python stack.
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
            return iter(_LibyamlEvents(text).documents())
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


class _EventComposer(_BoundedComposer):
    """The bounded composer reading `_LibyamlEvents`' parser and resolver directly (ruamel
    looks them up on every event, through a YAML instance this path has none of)."""

    @property
    def parser(self) -> Any:
        return self.loader._parser

    @property
    def resolver(self) -> Any:
        return self.loader._resolver


class _LibyamlEvents:
    """libyaml parsing, the bounded composer and ruamel's YAML 1.2 resolver building the
    nodes: the same graph, tags and marks as ruamel's parser, except that an empty value
    is marked just after its key rather than at the next token."""

    max_depth = None  # ruamel's own bound, unused: `_BoundedComposer` applies MAX_DEPTH

    def __init__(self, text: str) -> None:
        self._parser = CParser(io.StringIO(text))
        self._resolver = _Yaml12Resolver(loadumper=self)
        self._composer = _EventComposer(loader=self)

    def documents(self) -> list[Node]:
        nodes: list[Node] = []
        try:
            while self._composer.check_node():
                nodes.append(self._composer.get_node())
        finally:
            self._parser.dispose()
        return nodes
