"""Quarters as values.

Quarters are compared, stepped and ranged over constantly (target windows, history,
schedules), so they get a small ordered value type instead of strings. Parsing accepts
every spelling CONTRACT.md allows in cells; paths and the command line use `2009Q3`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_PATTERNS = [
    re.compile(r"^(?P<y>\d{4})\s*[-_ ]?\s*[QK](?P<q>[1-4])$", re.IGNORECASE),
    re.compile(r"^[QK](?P<q>[1-4])\s*[-_ ]?\s*(?P<y>\d{4})$", re.IGNORECASE),
    re.compile(r"^(?P<q>[1-4])\s*\.\s*kvartal\s+(?P<y>\d{4})$", re.IGNORECASE),
]


class QuarterError(ValueError):
    """A text that is not a quarter in any accepted spelling."""


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    q: int

    def __post_init__(self) -> None:
        if not 1 <= self.q <= 4:
            raise QuarterError(f"kvartal skal være 1-4, ikke {self.q}")

    @classmethod
    def parse(cls, text: object) -> Quarter:
        if isinstance(text, Quarter):
            return text
        if not isinstance(text, str):
            raise QuarterError(f"{text!r} er ikke et kvartal")
        cleaned = " ".join(text.strip().split())
        for pattern in _PATTERNS:
            m = pattern.match(cleaned)
            if m:
                return cls(int(m["y"]), int(m["q"]))
        raise QuarterError(f"{text!r} er ikke et kvartal (skriv fx 2009Q3)")

    @classmethod
    def containing(cls, day: date | datetime) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def before(cls, moment: date | datetime) -> Quarter:
        """The last quarter that has ended by `moment`: what a run at that time reports."""
        return cls.containing(moment) - 1

    @property
    def ordinal(self) -> int:
        return self.year * 4 + self.q - 1

    @classmethod
    def from_ordinal(cls, n: int) -> Quarter:
        return cls(n // 4, n % 4 + 1)

    def __add__(self, n: int) -> Quarter:
        return Quarter.from_ordinal(self.ordinal + n)

    def __sub__(self, n: int) -> Quarter:
        return Quarter.from_ordinal(self.ordinal - n)

    def until(self, last: Quarter) -> list[Quarter]:
        """Every quarter from this one to `last`, both included (empty if last is earlier)."""
        return [Quarter.from_ordinal(i) for i in range(self.ordinal, last.ordinal + 1)]

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.q - 2, 1)

    @property
    def last_day(self) -> date:
        return (self + 1).first_day - timedelta(days=1)

    @property
    def label_da(self) -> str:
        return f"{self.q}. kvartal {self.year}"

    def __str__(self) -> str:
        return f"{self.year}Q{self.q}"
