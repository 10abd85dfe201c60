"""The definitions validation and the arithmetic must share, kept in one place.

Validation decides what is wrong with a row and the arithmetic decides what a row counts
for; if the two read a cell differently, a row can pass validation and still be dropped
from the figures (a `1.4-B` that validation matched to the catalogue's `1.4-b` while the
arithmetic did not). So matching of keys, the default `Opgørelse` and the reading of a
waiver row exist here once, and both sides import them.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Iterable, Mapping

from kvartal.model import CellRef, Waiver
from kvartal.numbers import CellValueError, parse_text_key

__all__ = ["choice", "default_aggregation", "match_key", "same_key", "text_key", "waiver_from"]

# CONTRACT §2: counts and amounts add up over quarters, a percentage is a level.
_DEFAULT_AGGREGATION = {"antal": "sum", "kr.": "sum", "pct.": "seneste", "milepæl": "seneste"}


def match_key(text: str | None) -> str | None:
    """`Nr.`, `Nøgletal` and `Mål-id` as compared everywhere (CONTRACT §1): case and
    surrounding or repeated spaces do not matter, so `1.4-B ` is the catalogue's `1.4-b`."""
    if text is None:
        return None
    key = " ".join(text.replace("\u00a0", " ").split()).casefold()
    return key or None


def same_key(a: str | None, b: str | None) -> bool:
    """Two keys name the same thing; an absent key matches nothing."""
    ka = match_key(a)
    return ka is not None and ka == match_key(b)


def text_key(v: object) -> str | None:
    """A raw cell as a matching key; None when empty or unreadable (validation says why)."""
    try:
        return match_key(parse_text_key(v))
    except CellValueError:
        return None


def choice(v: object, allowed: Iterable[str]) -> str | None:
    """A catalogue word (`Enhed`, `Retning`, `Måltype`, `Opgørelse`) as the allowed option
    it names, compared as headers are (case, spaces and a trailing full stop ignored:
    `Pct` is `pct.`); None when empty or not one of them (validation names the cell)."""
    if not isinstance(v, str):
        return None
    wanted = _word(v)
    return next((option for option in allowed if _word(option) == wanted), None) if wanted else None


def _word(text: str) -> str:
    s = " ".join(text.replace("\u00a0", " ").split()).casefold()
    return s[:-1].rstrip() if s.endswith(".") else s


def default_aggregation(unit: str | None) -> str:
    """`Opgørelse` when the catalogue leaves it empty: `seneste` for pct. (and milestones,
    which have no sum), `sum` for antal and kr. and anything unknown."""
    return _DEFAULT_AGGREGATION.get(match_key(unit) or "", "sum")


def _text(v: object) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    text = str(v).strip()
    return text or None


def waiver_from(
    values: Mapping[str, object], waiver_file: str, source: CellRef | None = None
) -> Waiver | None:
    """One `afvigelser.csv` row as a Waiver; None when it lacks a file, reason or approver
    (validation reports that row as `afvigelse_ufuldstaendig`, and it waives nothing).

    `Fil` is relative to the inbox (`2009Q2/centret.csv`); a bare file name is a file of the
    quarter the waiver file sits in, so `centret.csv` in `2009Q3/afvigelser.csv` never
    waives a problem of `2009Q2/centret.csv`. A name ending in `/` is a folder of the
    inbox (`gammelt/`), for the problems that name a folder.
    """
    file = _text(values.get("Fil"))
    reason = _text(values.get("Begrundelse"))
    approved_by = _text(values.get("Godkendt af"))
    if not (file and reason and approved_by):
        return None
    folder_named = file.replace("\\", "/").strip().endswith("/")
    file = file.replace("\\", "/").strip("/")
    if folder_named:
        file += "/"  # a folder of the inbox (`gammelt/`), as written
    elif "/" not in file:
        folder = posixpath.dirname(waiver_file.replace("\\", "/"))
        file = f"{folder}/{file}" if folder else file
    cell = _text(values.get("Celle"))
    rule = _text(values.get("Regel"))
    return Waiver(
        file=file,
        cell=cell.replace("$", "").replace(" ", "").upper() if cell else None,
        rule=rule.lower() if rule else None,
        reason=reason,
        approved_by=approved_by,
        source=source,
    )
