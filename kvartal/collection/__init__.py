"""Collection (CONTRACT §9): who owes which figures, what arrived when, the centres' own check
and the reminders before the deadline.

Kept light at the top: `check` on a quiet inbox lists files, compares hashes with the
ledger in the review location and stops, so this package imports neither pandas nor Great
Expectations until a new file content actually has to be validated (`status.collect`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kvartal.config import CollectionSettings
    from kvartal.readers import Limits

__all__ = ["collection_summary", "recorded_summary"]


def collection_summary(
    inbox: str,
    quarter: str,
    cfg: CollectionSettings,
    limits: Limits,
    review_to: str | None = None,
) -> dict[str, int]:
    """An inbox's `summary` for the register's overview (CONTRACT §9): expected, delivered,
    on time, without errors, exactly as `indsamling.json` gives it.

    After a quarterly run (or `kvartal validate`/`collection`) the review location holds
    `<quarter>/indsamling.json`, written from that run's own validation: it is read, so the
    overview costs no second validation. Without it the inbox is collected here.
    """
    from kvartal.collection.status import collect
    from kvartal.quarters import Quarter
    from kvartal.storage import open_storage

    if review_to is not None:
        recorded = recorded_summary(review_to, quarter)
        if recorded is not None:
            return recorded
    return collect(open_storage(inbox), Quarter.parse(quarter), cfg, limits).summary()


def recorded_summary(review_to: str, quarter: str) -> dict[str, int] | None:
    """The counts the quarter's last run wrote to `<review>/<quarter>/indsamling.json`, or
    None when no run wrote any (a run that failed before validating)."""
    import json

    from kvartal.quarters import Quarter
    from kvartal.storage import open_storage

    try:
        doc = json.loads(open_storage(review_to).read(f"{Quarter.parse(quarter)}/indsamling.json"))
    except FileNotFoundError:
        return None
    if isinstance(doc, dict) and isinstance(doc.get("summary"), dict):
        return {k: int(v) for k, v in doc["summary"].items()}
    return None
