"""Danish wording and number forms for everything a reader of the report sees.

Politicians read `1.400`, `6,5` and `3,5 mio. kr.`; a stray `1,400` or `6.5` would be read
as a different number, so every number a person reads goes through these functions.
Babel is imported on first use only: importing `kvartal.report` must stay cheap.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import assert_never

from kvartal.units import Unit, unit_spec

LOCALE = "da_DK"

# Status slug (CONTRACT §5) -> (word, symbol, css class). The symbol is a second, non-colour
# cue beside the word; the word is what screen readers and the PDF's text carry.
STATUSES: dict[str, tuple[str, str, str]] = {
    "achieved": ("Opfyldt", "✓", "achieved"),
    "on_track": ("På sporet", "●", "on-track"),
    "at_risk": ("I risiko", "▲", "at-risk"),
    "off_track": ("Bagud", "✕", "off-track"),
    "no_data": ("Ingen data", "?", "no-data"),
}
STATUS_ORDER = ["achieved", "on_track", "at_risk", "off_track", "no_data"]


def status_word(status: str) -> str:
    return STATUSES.get(status, (status, "", ""))[0]


def status_symbol(status: str) -> str:
    return STATUSES.get(status, ("", "?", ""))[1]


def _round(x: float, places: int) -> Decimal:
    """Half up, as people round; Babel alone would round half to even (0,25 -> 0,2)."""
    step = Decimal(1).scaleb(-places)
    return Decimal(repr(float(x))).quantize(step, rounding=ROUND_HALF_UP)


def number(x: float, decimals: int = 1) -> str:
    """`1.400`, `6,5`, `112,5`: at most `decimals` decimals, none when whole."""
    from babel.numbers import format_decimal

    d = _round(x, decimals)
    if d == 0:
        d = Decimal(0)  # never "-0"
    pattern = "#,##0" + ("." + "#" * decimals if decimals > 0 else "")
    return str(format_decimal(d, format=pattern, locale=LOCALE))


def percent(ratio: float) -> str:
    """A fraction as whole percent: 0.98 -> `98 %`."""
    return f"{number(ratio * 100, 0)} %"


def amount(x: float, unit: str) -> str:
    """A value with its unit as a reader says it: `147`, `86 pct.`, `3,5 mio. kr.`."""
    shown, suffix = _shown(x, unit)
    return shown + suffix


def bare(x: float, unit: str) -> str:
    """The number without unit words, for ranges (`60–70 pct.`)."""
    return _shown(x, unit)[0]


def unit_suffix(x: float, unit: str) -> str:
    return _shown(x, unit)[1]


def _shown(x: float, unit: str) -> tuple[str, str]:
    """The number as written for its unit, and the words after it (the unit's `suffix`,
    kvartal.units). Every unit has its case, so a new one is named here by mypy."""
    known = Unit.of(unit)
    if known is None:
        return number(x), ""
    suffix = unit_spec(known).suffix
    match known:
        case Unit.AMOUNT:
            # Kroner are whole; millions are read as `3,5 mio. kr.`.
            if abs(x) >= 1_000_000:
                return number(x / 1_000_000), " mio." + suffix
            return number(x, 0), suffix
        case Unit.COUNT | Unit.PERCENT | Unit.MILESTONE:
            return number(x), suffix
        case _:
            assert_never(known)


def day(d: date | datetime) -> str:
    """`26.11.2009`, `15.1.2010`: the Danish short date without leading zeros."""
    return f"{d.day}.{d.month}.{d.year}"


def moment(text: str) -> str:
    """An ISO timestamp as `26.11.2009 kl. 10.15`; anything else is shown as given."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return text
    if len(text) <= 10:
        return day(dt)
    return f"{day(dt)} kl. {dt.hour:02d}.{dt.minute:02d}"
