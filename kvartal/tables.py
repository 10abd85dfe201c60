"""A read sheet as a pandas DataFrame under canonical headers, with the way back to A1 cells.

Validation (Great Expectations) works on DataFrames, but every finding must name the cell
the operator has to correct; so the frame keeps the sheet row of every data row (`_row`,
also the index) and the column letter of every canonical header (`letters`).

Values stay raw (object dtype, as the reader gave them): typing them is records' job and
judging them is validation's, and both need to see what the centre actually wrote.

`_row` is both a column and the index (named `_row`), so a row can be found by its sheet
row number (`df.loc[7]`) and the number travels with the row through filters. pandas calls
a name that is both ambiguous in `sort_values`/`groupby`/`merge`: use `sort_index()`, or
`df["_row"]` / `df.index` explicitly.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kvartal.model import (
    CATALOGUE_COLUMNS,
    CATALOGUE_REQUIRED,
    FIGURE_COLUMNS,
    FIGURE_REQUIRED,
    WAIVER_COLUMNS,
)
from kvartal.readers import RawSheet, column_letter

__all__ = [
    "COLUMNS",
    "KINDS",
    "REQUIRED",
    "SheetFrame",
    "WAIVER_REQUIRED",
    "normalise_header",
    "sheet_frame",
]

WAIVER_REQUIRED = ["Fil", "Celle", "Begrundelse", "Godkendt af"]

KINDS = ("catalogue", "figures", "waivers")
COLUMNS: dict[str, list[str]] = {
    "catalogue": CATALOGUE_COLUMNS,
    "figures": FIGURE_COLUMNS,
    "waivers": WAIVER_COLUMNS,
}
REQUIRED: dict[str, list[str]] = {
    "catalogue": CATALOGUE_REQUIRED,
    "figures": FIGURE_REQUIRED,
    "waivers": WAIVER_REQUIRED,
}

META_COLUMNS = ["_file", "_sheet", "_row"]

# Headers a clerk writes for a contract column, that no spelling rule turns into it.
SYNONYMS: dict[str, str] = {
    "forventning": "Forventet",
    "forventes": "Forventet",
    "prognose": "Forventet",
    "forventet ultimo": "Forventet",
    "milepæl opnået": "Milepæl nået",
    "milepæl nået dato": "Milepæl nået",
    "nået": "Milepæl nået",
    "opnået": "Milepæl nået",
    "dato nået": "Milepæl nået",
    "måltal": "Målværdi",
    "mål-værdi": "Målværdi",
    "målværdi max": "Målværdi maks.",
    "målværdi maksimum": "Målværdi maks.",
    "nummer": "Nr.",
    "nr": "Nr.",
    "indsatsnr": "Nr.",
    "indsatsnummer": "Nr.",
    "mål id": "Mål-id",
    "målid": "Mål-id",
    "mål nr": "Mål-id",
    "målnummer": "Mål-id",
    "nøgletal navn": "Nøgletal",
    "kvt": "Kvartal",
    "bemærkning": "Kommentar",
    "bemærkninger": "Kommentar",
    "kommentarer": "Kommentar",
    "taeller": "Tæller",
    "naevner": "Nævner",
    "baseline": "Basislinje",
    "startniveau": "Basislinje",
    "deadline": "Frist",
}

_SPACE = re.compile(r"\s+")


def normalise_header(text: object) -> str:
    """The form headers are compared in: `nr`, ` NR. ` and `Nr.` are the same header.

    Case, surrounding and repeated inner whitespace (non-breaking spaces included) and one
    trailing full stop are ignored, as CONTRACT §1 says.
    """
    if text is None:
        return ""
    s = _SPACE.sub(" ", str(text).replace("\u00a0", " ")).strip().casefold()
    if s.endswith("."):
        s = s[:-1].rstrip()
    return s


_FOLD = str.maketrans({"å": "aa", "ø": "oe", "æ": "ae"})


def _squash(text: str) -> str:
    """A header with everything a typing habit changes taken out: case, Danish letters
    written out (å -> aa), other accents, spaces, dashes, dots and underscores."""
    s = normalise_header(text).translate(_FOLD)
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    return re.sub(r"[\s\-._/]+", "", s)


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, given up once it exceeds `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def near_column(text: str, kind: str) -> str | None:
    """The contract column a header that is not one was surely meant as, or None.

    Close means: the same once case, accents, spaces and dashes are set aside (`Maal id`
    is `Mål-id`), a typing slip (one letter in a name of up to seven letters, two in a
    longer one), or a known synonym (`Forventning`, `Milepæl opnået`). Such a column would
    otherwise be kept out of the way, and the centre's figures in it silently lost.
    """
    columns = COLUMNS[kind]
    synonym = SYNONYMS.get(normalise_header(text))
    if synonym is not None and synonym in columns:
        return synonym
    squashed = _squash(text)
    if not squashed:
        return None
    for column in columns:
        target = _squash(column)
        if squashed == target:
            return column
    for column in columns:
        target = _squash(column)
        limit = 1 if len(target) <= 7 else 2
        if len(target) >= 4 and _distance(squashed, target, limit) <= limit:
            return column
    return None


# Free text: a centre's own note column beside them (`Kommentar fra chef`) is no lost figure.
_TEXT_COLUMNS = frozenset({"Kommentar", "Målbeskrivelse", "Indsats", "Indsatsområde"})


def _lengthened(text: str, kind: str, present: set[str]) -> str | None:
    """The contract column, absent from the sheet, whose words the header begins with."""
    words = normalise_header(text).split()
    columns = [c for c in COLUMNS[kind] if c not in _TEXT_COLUMNS]
    for column in sorted(columns, key=lambda c: -len(c.split())):
        own = normalise_header(column).split()
        if column not in present and len(words) > len(own) and words[: len(own)] == own:
            return column
    return None


@dataclass
class SheetFrame:
    file: str
    sheet: str | None
    kind: str
    df: pd.DataFrame
    letters: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    header_row: int = 1
    # The headers not read, each (text, letter): close to a contract column (with its
    # spelling), a second column of one header (with the header), or unused (None).
    misspelled: list[tuple[str, str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str, str]] = field(default_factory=list)
    unused: list[tuple[str, str]] = field(default_factory=list)
    # Columns with filled cells under an empty header: (letter, first row with a value).
    nameless: list[tuple[str, int]] = field(default_factory=list)
    # Each row's cells typed once (`kvartal.typed.figure_rows`/`target_rows`), kept here so
    # that validation and the arithmetic read the same typed values.
    typed: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def cell(self, row: int, column: str) -> str:
        """A1 address of a canonical column in a sheet row; KeyError if the column is absent."""
        return f"{self.letters[column]}{row}"


def sheet_frame(raw: RawSheet, kind: str) -> SheetFrame:
    """Map a sheet's header onto the canonical columns of `kind` and frame its rows.

    When a header occurs twice, the leftmost column is used and the others are listed in
    `extra` with their letter (`Værdi (F)`), so that validation can say so; guessing which
    of two `Værdi` columns the centre meant is not the reader's call.
    """
    if kind not in COLUMNS:
        raise ValueError(f"unknown sheet kind {kind!r}; expected one of {KINDS}")
    canonical = {normalise_header(c): c for c in COLUMNS[kind]}

    positions: dict[str, int] = {}
    letters: dict[str, str] = {}
    extra: list[str] = []
    misspelled: list[tuple[str, str, str]] = []
    duplicates: list[tuple[str, str, str]] = []
    unused: list[tuple[str, str]] = []
    nameless_positions: list[int] = []
    for pos, text in enumerate(raw.header):
        if text is None or not str(text).strip():
            nameless_positions.append(pos)
            continue
        shown = str(text).strip()
        letter = column_letter(pos)
        name = canonical.get(normalise_header(text))
        if name is None:
            extra.append(shown)
            near = near_column(shown, kind)
            if near is not None:
                misspelled.append((shown, letter, near))
            else:
                unused.append((shown, letter))
        elif name in positions:
            extra.append(f"{shown} ({letter})")
            duplicates.append((shown, letter, name))
        else:
            positions[name] = pos
            letters[name] = letter
    # A header that begins with a contract column's words the sheet lacks (`Forventet
    # værdi` where there is no `Forventet`) was meant as that column: read as a note, the
    # centre's figures in it would be lost without a word.
    for shown, letter in list(unused):
        meant = _lengthened(shown, kind, set(positions))
        if meant is not None:
            unused.remove((shown, letter))
            misspelled.append((shown, letter, meant))
    nameless: list[tuple[str, int]] = []
    for pos in nameless_positions:
        first = next(
            (
                r.row
                for r in raw.rows
                if pos < len(r.values)
                and r.values[pos] is not None
                and not (isinstance(r.values[pos], str) and not str(r.values[pos]).strip())
            ),
            None,
        )
        if first is not None:
            nameless.append((column_letter(pos), first))

    present = [c for c in COLUMNS[kind] if c in positions]
    records: list[dict[str, object]] = []
    for raw_row in raw.rows:
        values = raw_row.values
        record: dict[str, object] = {
            c: values[positions[c]] if positions[c] < len(values) else None for c in present
        }
        record["_file"] = raw.file
        record["_sheet"] = raw.sheet
        record["_row"] = raw_row.row
        records.append(record)

    columns = present + META_COLUMNS
    df = (
        pd.DataFrame.from_records(records, columns=columns)
        if records
        else pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    )
    df = df.astype({c: object for c in present + ["_file", "_sheet"]})
    df["_row"] = df["_row"].astype("int64")
    df.index = pd.Index(df["_row"].tolist(), name="_row", dtype="int64")
    # pandas turns None into NaN in some constructors; the raw values keep None.
    for c in present:
        df[c] = [None if _is_nan(v) else v for v in df[c].tolist()]
        df[c] = df[c].astype(object)

    missing = [c for c in REQUIRED[kind] if c not in positions]
    return SheetFrame(
        file=raw.file,
        sheet=raw.sheet,
        kind=kind,
        df=df,
        letters=letters,
        missing=missing,
        extra=extra,
        header_row=raw.header_row,
        misspelled=misspelled,
        duplicates=duplicates,
        unused=unused,
        nameless=nameless,
    )


def _is_nan(v: object) -> bool:
    return isinstance(v, float) and v != v
