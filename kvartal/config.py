"""Settings, from the environment with built-in defaults.

One place that names every kvartal setting and its default, so no module invents its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_INBOX = REPO_ROOT / "examples" / "inbox"
EXAMPLE_QUARTER = "2009Q3"

# Every setting with its default; the README's settings table explains each one.
DEFAULTS: dict[str, str] = {
    "KVARTAL_INBOX": str(Path("examples") / "inbox"),
    "KVARTAL_PUBLISH_TO": str(Path("out") / "published"),
    "KVARTAL_REVIEW_TO": str(Path("out") / "review"),
    "KVARTAL_AT_RISK": "0.9",
    "KVARTAL_APPROVAL_TIMEOUT": "259200",
    "KVARTAL_OPERATOR_EMAILS": "",
    "KVARTAL_RECIPIENTS": "",
    "KVARTAL_LINK_EXPIRY": "604800",
    "KVARTAL_SCHEDULE_CRON": "0 6 10 1,4,7,10 *",
    "KVARTAL_TIMEZONE": "Europe/Copenhagen",
    "KVARTAL_MAX_CELLS": "200000",
    "KVARTAL_MAX_UNCOMPRESSED": "104857600",
    "KVARTAL_PUBLISH_LEASE": "600",
}


def setting(name: str) -> str:
    return os.environ.get(name, DEFAULTS[name])


@dataclass(frozen=True)
class RunSettings:
    """The settings that change the arithmetic, and so belong in the publication fingerprint."""

    at_risk: float = 0.9

    @classmethod
    def from_env(cls) -> RunSettings:
        return cls(at_risk=float(setting("KVARTAL_AT_RISK").replace(",", ".")))

    def as_dict(self) -> dict[str, float]:
        return {"at_risk": self.at_risk}
