"""Settings, from the environment with built-in defaults.

One place that names every setting, so the README's table and the code cannot drift apart:
`SETTINGS` is what the README documents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_INBOX = REPO_ROOT / "examples" / "inbox"
EXAMPLE_QUARTER = "2009Q3"

# name -> (default, meaning); the README's settings table is written from this.
SETTINGS: dict[str, tuple[str, str]] = {
    "KVARTAL_INBOX": (str(Path("examples") / "inbox"), "inbox: a folder or s3://bucket/prefix"),
    "KVARTAL_PUBLISH_TO": (str(Path("out") / "published"), "the recipients' location"),
    "KVARTAL_REVIEW_TO": (str(Path("out") / "review"), "the operators' location (validation reports, delivery ledger); never inside the publish location"),
    "KVARTAL_AT_RISK": ("0.9", "pace at or above this is at_risk rather than off_track"),
    "KVARTAL_APPROVAL_TIMEOUT": ("259200", "seconds a scheduled run with errors waits for an operator before failing"),
    "KVARTAL_OPERATOR_EMAILS": ("", "comma-separated addresses told when a scheduled run waits for approval"),
    "KVARTAL_RECIPIENTS": ("", "who receives new versions: `Aftale=a@x.dk,b@x.dk;*=c@x.dk`"),
    "KVARTAL_LINK_EXPIRY": ("604800", "seconds a presigned S3 link in an email stays valid (at most 7 days)"),
    "KVARTAL_SCHEDULE_CRON": ("0 6 10 1,4,7,10 *", "when the quarterly deployment runs"),
    "KVARTAL_TIMEZONE": ("Europe/Copenhagen", "the schedule's time zone"),
    "KVARTAL_MAX_CELLS": ("200000", "a workbook with more real cells is refused"),
    "KVARTAL_MAX_UNCOMPRESSED": ("104857600", "bytes a workbook may unpack to before it is refused"),
}


def setting(name: str) -> str:
    return os.environ.get(name, SETTINGS[name][0])


@dataclass(frozen=True)
class RunSettings:
    """The settings that change the arithmetic, and so belong in the publication fingerprint."""

    at_risk: float = 0.9

    @classmethod
    def from_env(cls) -> RunSettings:
        return cls(at_risk=float(setting("KVARTAL_AT_RISK").replace(",", ".")))

    def as_dict(self) -> dict[str, float]:
        return {"at_risk": self.at_risk}
