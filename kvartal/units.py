"""The words of the domain as types, and one table of what each unit means.

Every value here is the exact string the catalogue, `fulfilment.json`, `validation.json`
and the report already use (a `StrEnum` is its string: it compares equal to it, hashes like
it and `json.dumps` writes it), so typing a value changes no byte anyone reads.

What a unit means is decided once, in `unit_spec`: its default `Opgørelse`, how it is
shown, whether it counts whole things, whether it may be negative, whether `Tæller`/`Nævner`
make it. The function matches every `Unit` and ends in `assert_never`, so adding a unit makes
mypy name this table first, and every other `match` over `Unit` after it (docs/design.md,
"How to add a unit").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import assert_never

__all__ = [
    "Aggregation",
    "Direction",
    "Severity",
    "Status",
    "TargetKind",
    "Unit",
    "UnitSpec",
    "exact",
    "percentage",
    "unit_spec",
]


class Unit(StrEnum):
    """`Enhed` (CONTRACT §2)."""

    COUNT = "antal"
    PERCENT = "pct."
    AMOUNT = "kr."
    MILESTONE = "milepæl"

    @classmethod
    def of(cls, text: object) -> Unit | None:
        """The unit a (normalised) word names; None for anything else, which validation
        reports as `ukendt_enhed` rather than guessing."""
        try:
            return cls(text) if isinstance(text, str) else None
        except ValueError:
            return None


class Direction(StrEnum):  # `Retning`
    AT_LEAST = "mindst"
    AT_MOST = "højst"
    RANGE = "interval"


# `Opgørelse`: a quarter's figures add up over the window, or the latest is the level.
class Aggregation(StrEnum):
    SUM = "sum"
    LATEST = "seneste"


class TargetKind(StrEnum):  # `Måltype`
    ACTIVITY = "Indsatsmål"
    RESULT = "Resultatmål"
    EFFECT = "Effektmål"


class Status(StrEnum):
    """A target's status (CONTRACT §5), as `fulfilment.json` writes it."""

    NO_DATA = "no_data"
    ACHIEVED = "achieved"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"


class Severity(StrEnum):
    """A problem's severity (CONTRACT §4): an error blocks publication, a warning is a note."""

    ERROR = "fejl"
    WARNING = "advarsel"


@dataclass(frozen=True)
class UnitSpec:
    """What one unit means to validation, the arithmetic and the report."""

    # `Opgørelse` when the catalogue leaves it empty (CONTRACT §2).
    default_aggregation: Aggregation
    # A number with a target value and a `Retning`; False for milestones, which are reached
    # or not and have neither.
    numeric: bool
    # Whole things are counted: a forecast is shown without decimals, and a `seneste` level
    # that falls from one quarter to the next is warned about.
    whole: bool
    # Whether a negative value is allowed; a negative count is an error (`negativ_antal`).
    negatives: bool
    # The largest value allowed (100 for a percentage: `procent_uden_for_0_100`).
    upper: float | None
    # `Tæller`/`Nævner` make the value (100 × Tæller / Nævner), and with `sum` they are
    # pooled over the window rather than the percentages added (CONTRACT §5).
    ratio: bool
    # The words after a number in the report (`86 pct.`), before any scaling (`mio. kr.`).
    suffix: str


def unit_spec(unit: Unit) -> UnitSpec:
    """The one table of units. A new `Unit` member without a case here fails mypy."""
    match unit:
        case Unit.COUNT:
            return UnitSpec(Aggregation.SUM, True, True, False, None, False, "")
        case Unit.PERCENT:
            # A percentage is a level, not something that adds up over quarters.
            return UnitSpec(Aggregation.LATEST, True, False, False, 100.0, True, " pct.")
        case Unit.AMOUNT:
            return UnitSpec(Aggregation.SUM, True, False, True, None, False, " kr.")
        case Unit.MILESTONE:
            # Milestones have no sum; `seneste` keeps them out of every sum's branch.
            return UnitSpec(Aggregation.LATEST, False, False, True, None, False, "")
        case _:
            assert_never(unit)


def spec_of(unit: object) -> UnitSpec | None:
    """The spec of a unit given as a word (a `Target`'s unit, a normalised catalogue cell);
    None when the word names no unit."""
    known = Unit.of(unit)
    return unit_spec(known) if known is not None else None


def exact(x: float | int | None) -> Fraction | None:
    """A cell's number as the exact decimal the centre typed.

    Cells arrive as binary floats, and 500,14 is stored a hair away from 500.14; added to
    1 000 in floats it may fall short of a target of 1 500,14. The shortest decimal that
    reads back as the same float (`repr`) is what the spreadsheet showed, so the arithmetic
    starts from that decimal and every threshold comparison is exact (CONTRACT §5).
    """
    if x is None:
        return None
    if isinstance(x, int):
        return Fraction(x)
    return Fraction(repr(float(x)))


def usable_denominator(denominator: float | int | None) -> bool:
    """A `Nævner` a percentage can be made from: a count of at least one.

    CONTRACT §4 makes a `Nævner` of zero an error (`naevner_nul`) and a negative one too
    (`negativ_antal`: it is a count), so only a positive `Nævner` gives a percentage. A
    negative one that slipped through would otherwise give a plausible rate from two wrong
    signs (-5 / -10 = 50 %) and, pooled with a positive one, could make the pooled `Nævner`
    zero.
    """
    if denominator is None:
        return False
    if isinstance(denominator, float) and denominator != denominator:  # NaN: an empty cell
        return False
    return denominator > 0


def percentage(numerator: float | int | None, denominator: float | int | None) -> Fraction | None:
    """100 × Tæller / Nævner, exactly, for validation and the arithmetic alike; None when
    either is missing or the `Nævner` is not usable (`usable_denominator`)."""
    if numerator is None or not usable_denominator(denominator):
        return None
    if isinstance(numerator, float) and numerator != numerator:
        return None
    num, den = exact(numerator), exact(denominator)
    assert num is not None and den is not None
    return 100 * num / den
