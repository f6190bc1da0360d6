"""Markdown text: user text made inert inside GitHub-flavoured Markdown.

One set of rules for every Markdown dialogops writes: the plan's pull-request comment and
the report's Markdown table.
"""

from __future__ import annotations

import html
import re

# Characters that start emphasis, code, links, headings or table cells.
_MARKUP = "\\`*_[]|#"


def escape(text: str) -> str:
    """`text` as literal Markdown: safe in a table cell, a list item or bold text.

    HTML is escaped (`<b>` stays text), markup characters get a backslash, and line
    breaks become `<br>` so a value cannot end a table row.
    """
    escaped = html.escape(text, quote=False)
    for char in _MARKUP:
        escaped = escaped.replace(char, "\\" + char)
    return escaped.replace("\r\n", "<br>").replace("\n", "<br>")


def code(text: str) -> str:
    """`text` as an inline code span, literal whatever backticks or markup it holds.

    Line breaks become spaces: a code span cannot hold one inside a list item.
    """
    flat = " ".join(text.splitlines())
    fence = "`" * (max((len(run) for run in re.findall("`+", flat)), default=0) + 1)
    # Spaces keep a backtick at either end from joining the fence; one is dropped each side.
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"
