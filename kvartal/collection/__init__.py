"""Collection (CONTRACT §9): who owes which figures, what arrived when, the centres' own check
and the reminders before the deadline.

Kept light at the top: `check` on a quiet inbox lists files, compares hashes with the
ledger in the review location and stops, so this package imports neither pandas nor Great
Expectations until a new file content actually has to be validated (`status.collect`).
"""

from __future__ import annotations

__all__ = ["collection_summary"]


def collection_summary(inbox: str, quarter: str) -> dict[str, int]:
    """An inbox's `summary` for the register's overview: expected, delivered, on time,
    without errors, exactly as `indsamling.json` gives it."""
    from kvartal.collection.status import collect
    from kvartal.quarters import Quarter
    from kvartal.storage import open_storage

    return collect(open_storage(inbox), Quarter.parse(quarter)).summary()
