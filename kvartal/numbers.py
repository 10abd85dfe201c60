"""Strict Danish number, date and key parsing of cell values.

The centres type numbers the Danish way (`1.400` is fourteen hundred, `6,5` is six and a
half). A reader that guessed would silently turn `1.5` into 1.5 or 15 and the report would
be wrong without anyone noticing, so anything that is not unmistakably a number raises an
error whose message says what to write instead. Numeric cells are taken as they are: the
spreadsheet program has already decided what they mean.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime

__all__ = [
    "CellValueError",
    "DateError",
    "NumberError",
    "Parsed",
    "parse_date",
    "parse_number",
    "parse_reached",
    "parse_text_key",
]


class CellValueError(ValueError):
    """A cell value that cannot be read; `message` is plain Danish and says what to write."""

    def __init__(self, message: str, value: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.value = value


class NumberError(CellValueError):
    """A value that is not a number in any accepted Danish spelling."""


class DateError(CellValueError):
    """A value that is not a date in any accepted spelling."""


@dataclass(frozen=True)
class Parsed:
    value: float
    approximate: bool = False


# Spaces that spreadsheet programs and copy-paste put between digit groups.
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\t": " "})
_MINUS = ("-", "\u2212")

_APPROX = re.compile(r"^(?:ca\.?|cirka)\s*(?=[-\u2212\d])", re.IGNORECASE)
# Suffixes, read from the end: kr., then a multiplier or a percent sign.
_KR = re.compile(r"\s*kr\.?$", re.IGNORECASE)
_PCT = re.compile(r"\s*(?:pct\.?|%|procent)$", re.IGNORECASE)
_MULT = re.compile(r"\s*(?P<m>mio|mia)\.?$", re.IGNORECASE)
_MULTIPLIERS = {"mio": 1_000_000.0, "mia": 1_000_000_000.0}

# The number itself: plain digits, or groups of three after a dot or a space, then an
# optional decimal comma.
_BODY = re.compile(r"^(?P<int>\d+|\d{1,3}(?:\.\d{3})+|\d{1,3}(?: \d{3})+)(?:,(?P<dec>\d+))?$")


def _is_empty(v: object) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True  # pandas' way of saying "no value"
    return isinstance(v, str) and not v.translate(_SPACES).strip()


def _fail_number(text: str, why: str) -> NumberError:
    return NumberError(
        f"'{text}' er ikke et tal: {why} Skriv tallet på dansk, fx 1.400 eller 6,5 "
        f"eller 86 pct. eller 3,5 mio.",
        text,
    )


def parse_number(v: object) -> Parsed | None:
    """Read one cell as a number; None for an empty cell, NumberError for anything else.

    A dot followed by anything but groups of exactly three digits (`1.5`, `1.40`,
    `3.6 mio.`) is refused, because it may be an English decimal point or a thousands
    separator with a digit missing, and either guess could be wrong by a factor of 1000.
    """
    if _is_empty(v):
        return None
    if isinstance(v, bool):
        raise NumberError(f"'{v}' er en sandhedsværdi, ikke et tal. Skriv tallet i cellen.", v)
    if isinstance(v, int):
        return Parsed(float(v))
    if isinstance(v, float):
        if math.isinf(v):
            raise NumberError("Cellen indeholder et uendeligt tal. Skriv tallet i cellen.", v)
        return Parsed(v)
    if isinstance(v, (date, datetime)):
        raise NumberError(
            f"Cellen er en dato ({v.isoformat()}), ikke et tal. Formatér cellen som tal "
            f"eller tekst og skriv tallet igen.",
            v,
        )
    if not isinstance(v, str):
        # Decimal, numpy numbers and the like: numeric, so taken as they are.
        try:
            return Parsed(float(v))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise NumberError(f"'{v}' er ikke et tal. Skriv tallet i cellen.", v) from None

    original = v
    text = " ".join(v.translate(_SPACES).split())
    approximate = False
    m = _APPROX.match(text)
    if m:
        approximate = True
        text = text[m.end() :].strip()

    text = _KR.sub("", text)
    multiplier = 1.0
    pct = _PCT.search(text)
    if pct:
        text = text[: pct.start()]
    else:
        mult = _MULT.search(text)
        if mult:
            multiplier = _MULTIPLIERS[mult["m"].lower()]
            text = text[: mult.start()]
    text = text.strip()

    negative = False
    if text[:1] in _MINUS:
        negative = True
        text = text[1:].lstrip()

    body = _BODY.match(text)
    if not body:
        if re.fullmatch(r"[\d .,]+", text) and "." in text:
            raise NumberError(
                f"'{original}' er tvetydigt: punktum er tusindtalsskilletegn på dansk og "
                f"skal følges af netop tre cifre. Skriv decimaltal med komma (1,5) og "
                f"tusinder med punktum (1.500).",
                original,
            )
        if re.fullmatch(r"[\d ]+", text):
            raise _fail_number(
                original, "mellemrum mellem cifrene skal dele tallet i grupper af tre."
            )
        raise _fail_number(original, "teksten kan ikke læses som et tal.")

    digits = body["int"].replace(".", "").replace(" ", "")
    number = float(digits + ("." + body["dec"] if body["dec"] else ""))
    number *= multiplier
    if negative:
        number = -number
    return Parsed(number, approximate)


_DATE_PATTERNS = [
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[T ]00:00(?::00(?:\.0+)?)?)?$"),
    re.compile(r"^(?P<d>\d{1,2})[./-](?P<m>\d{1,2})[./-](?P<y>\d{4})$"),
]


def _date_error(v: object, extra: str = "") -> DateError:
    return DateError(
        f"'{v}' er ikke en dato{extra}. Skriv datoen som 2009-12-31 eller 31.12.2009.", v
    )


def parse_date(v: object) -> date | None:
    """Read one cell as a date; None for an empty cell.

    Only day-first and ISO spellings are accepted: `12/31/2009` and `31/12/2009` cannot
    both be right, and Danish users write the day first.
    """
    if _is_empty(v):
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if not isinstance(v, str):
        # A bare number is most often an Excel date serial that lost its format.
        raise _date_error(v, " (cellen er et tal; formatér den som dato)")
    text = v.translate(_SPACES).strip()
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return date(int(m["y"]), int(m["m"]), int(m["d"]))
            except ValueError:
                raise _date_error(v, " (den dag findes ikke)") from None
    raise _date_error(v)


def parse_reached(v: object) -> date | bool | None:
    """`Milepæl nået`: `ja`/`nej`, a boolean cell, or the date the milestone was reached."""
    if _is_empty(v):
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        word = v.translate(_SPACES).strip().lower()
        if word == "ja":
            return True
        if word == "nej":
            return False
    try:
        return parse_date(v)
    except DateError:
        raise DateError(
            f"'{v}' kan ikke læses i 'Milepæl nået'. Skriv datoen milepælen blev nået "
            f"(fx 2009-12-31), eller ja eller nej.",
            v,
        ) from None


def parse_text_key(v: object) -> str | None:
    """Read `Nr.` and similar keys as text, because `1.10` and `1.1` are different initiatives.

    A numeric cell has already lost any trailing zero, so 1.1 gives "1.1" and 2.0 gives "2";
    validation can only catch `1.10` when the centre stores it as text. A date means the
    spreadsheet program turned `1.4` into the first of April, which cannot be undone safely.
    """
    if _is_empty(v):
        return None
    if isinstance(v, str):
        return " ".join(v.translate(_SPACES).split())
    if isinstance(v, bool):
        raise NumberError(f"'{v}' er ikke et nummer. Skriv nummeret som tekst, fx 1.4.", v)
    if isinstance(v, (date, datetime)):
        raise NumberError(
            f"Nummeret er blevet til datoen {v.isoformat()}. Formatér cellen som tekst og "
            f"skriv nummeret igen, fx 1.4.",
            v,
        )
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isinf(v):
            raise NumberError("Cellen indeholder et uendeligt tal, ikke et nummer.", v)
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v).strip()
