"""Calling hours on each recipient's own clock: their time zone (`zones`, `numplan`), the
hours allowed on their local date (`rules`), and a campaign's recipients grouped by UTC
offset, judged, and split into one campaign per group (`groups`).
"""

from __future__ import annotations

from dialogops.localhours.groups import Assessment, Expansion, Group, expand, find, row_filter

__all__ = ["Assessment", "Expansion", "Group", "expand", "find", "row_filter"]
