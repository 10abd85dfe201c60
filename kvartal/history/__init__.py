"""History (CONTRACT §10): what changed between two published versions of a quarter, and
every target's course over the published quarters.

Both are computed from what was published, never from today's inputs: a politician who
compares version 2 with the version 1 read last week, or the third quarter with the first,
must see the figures those reports carried. `changes` is light (json only); `trend` draws
charts and is imported where a page is rendered.
"""

from __future__ import annotations

from kvartal.history.changes import (
    CHANGES,
    Previous,
    change_lines,
    changes_doc,
    changes_json,
    previous_version,
    published_change_lines,
)
from kvartal.history.trend import (
    TREND_HTML,
    TREND_JSON,
    TREND_MANIFEST,
    anchor,
    published_quarters,
    trend_doc,
    write_trend,
)

__all__ = [
    "CHANGES",
    "TREND_HTML",
    "TREND_JSON",
    "TREND_MANIFEST",
    "Previous",
    "anchor",
    "change_lines",
    "changes_doc",
    "changes_json",
    "previous_version",
    "published_change_lines",
    "published_quarters",
    "trend_doc",
    "write_trend",
]
