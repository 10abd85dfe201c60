"""The records every reader produces and the one way a grid of cells becomes a sheet.

Each format reader fills a `_Grid` (the chosen sheet's non-empty cells by position, its
formula cells, merges and notes); `_assemble` turns it into a `RawSheet` the same way for
every format, so the header row, merged cells and formula notes never depend on who
wrote the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from kvartal.model import ERROR, WARNING, Problem

# Excel's own bounds: column XFD, row 1 048 576.
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_ROWS = 1_048_576

RULES: dict[str, str] = {
    "tom_fil": "Filen er tom, eller arket har ingen udfyldte celler. Udfyld arket med "
    "overskrifter og tal, eller fjern filen fra indbakken.",
    "ulaeselig": "Filen kan ikke læses. Åbn den i Excel eller LibreOffice og gem den igen "
    "som .xlsx, .ods eller .csv.",
    "krypteret": "Filen er beskyttet med adgangskode og kan ikke læses. Gem den uden "
    "adgangskode (i Excel: Filer > Info > Beskyt projektmappe > Krypter med adgangskode, "
    "slet adgangskoden) og læg den i indbakken igen.",
    "for_stor": "Filen er for stor til at være en afrapportering. Fjern overflødige ark, "
    "rækker og kolonner, og gem filen igen.",
    "dtd": "Filen indeholder en DTD-erklæring (<!DOCTYPE eller <!ENTITY>), som regneark "
    "ikke bruger, og som kan misbruges. Åbn filen i Excel eller LibreOffice og gem den igen.",
    "uden_for_arket": "Filen har celler uden for det område, en afrapportering kan bruge. "
    "Slet rækker og kolonner uden for tabellen, og gem filen igen.",
    "tegnsaet": "CSV-filen har forkerte tegn (fx 'MÃ¥l' i stedet for 'Mål'): den er "
    "åbnet med et forkert tegnsæt og gemt igen. Gem de oprindelige data igen som "
    "'CSV UTF-8' og læg filen i indbakken igen.",
    "formel": "Cellen indeholder en formel; den værdi, regnearket sidst beregnede og gemte, "
    "er brugt. Skriv tallet direkte i cellen, hvis værdien kan være forældet.",
    "formel_uden_vaerdi": "Cellen indeholder en formel uden gemt værdi (filen er skrevet "
    "af et program, der ikke regner). Åbn filen i Excel eller LibreOffice og gem den igen, "
    "eller skriv tallet direkte i cellen.",
    "noegle_talformat": "Cellen er en nøglecelle (Nr., Nøgletal, Mål-id eller Kvartal), der er "
    "gemt som et tal med et talformat, kvartal ikke kan vise, som regnearket viser det; et "
    "nummer som 1.10 må ikke læses som 1.1. Formatér cellen som tekst og skriv nummeret "
    "igen, fx 1.10.",
    "csv_felter": "En række i CSV-filen har flere felter end overskriften, så "
    "værdierne ville havne under forkerte kolonner; rækken er ikke læst. Sæt tal med "
    "decimalkomma og tekster med skilletegn i anførselstegn, eller gem filen som "
    "'CSV (semikolonsepareret)'.",
    "skjult_ark": "Arket er skjult i filen, men er læst, fordi det har det navn, "
    "afrapporteringen skal stå i (eller fordi filen ikke har andre ark). Vis arket, eller "
    "omdøb det, hvis det ikke skal bruges.",
}


# The severity of each slug above: a refused file is an error, a note is a warning unless it
# leaves a cell without a value.
SEVERITY: dict[str, str] = {
    slug: WARNING if slug in ("formel", "skjult_ark") else ERROR for slug in RULES
}


class ReadError(Exception):
    """A file that is refused as a whole; `message` is plain Danish and says what to do."""

    def __init__(self, rule: str, message: str | None = None) -> None:
        self.rule = rule
        self.message = message or RULES.get(rule, RULES["ulaeselig"])
        super().__init__(self.message)

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across Prefect task boundaries
        return (ReadError, (self.rule, self.message))


@dataclass(frozen=True)
class Limits:
    """How big a file may be before it is refused unread.

    The defaults are far above any centre's quarterly sheet (a few hundred cells) and far
    below what would hurt the pipeline.
    """

    max_bytes: int = 20 * 1024 * 1024
    max_uncompressed: int = 100 * 1024 * 1024  # sum of the declared sizes of zip entries
    max_cells: int = 200_000  # real cells, counted in the XML, not the declared dimension
    max_ratio: float = 250.0  # deflate tops out near 1032:1; spreadsheets stay well below
    ratio_floor: int = 1024 * 1024  # the ratio is judged only for entries bigger than this
    max_entries: int = 10_000  # zip entries: the central directory alone can be a bomb
    max_rows: int = 100_000  # a cell below this row is refused (Excel allows 1 048 576)
    max_columns: int = 1_000  # a cell right of this column is refused (Excel: 16 384)


@dataclass
class RawRow:
    row: int
    values: list[object]
    formulas: frozenset[int] = frozenset()


# How many non-empty rows of a sheet that is not read are kept: enough to find a table's
# header under a title or two, and the row below it.
OTHER_SHEET_ROWS = 11


@dataclass(frozen=True)
class OtherSheet:
    """A sheet of the workbook that is not read but holds a non-empty cell.

    Only one sheet of a workbook is read (CONTRACT §2, §3), so rows in another sheet would
    vanish without a word: gather names each such sheet. Its first non-empty rows are
    kept (as the texts of their non-empty cells) so gather can tell a forgotten table of
    figures from a cover page or a guide.
    """

    name: str
    hidden: bool
    rows: tuple[tuple[int, tuple[str, ...]], ...]  # (1-based row, non-empty cell texts)


@dataclass
class RawSheet:
    file: str
    sheet: str | None
    header_row: int
    header: list[str | None]
    rows: list[RawRow]
    notes: list[Problem] = field(default_factory=list)
    # The workbook's other sheets that hold a non-empty cell, in workbook order.
    others: list[OtherSheet] = field(default_factory=list)


def column_letter(index: int) -> str:
    """0-based column position -> spreadsheet letters (0 -> A, 26 -> AA)."""
    n = index + 1
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _column_index(letters: str) -> int:
    """Spreadsheet letters -> 1-based column number."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n


# ----------------------------------------------------------------------------------------
# What every format produces: the chosen sheet's non-empty cells by position.


@dataclass
class _Grid:
    sheet: str | None
    cells: dict[int, dict[int, object]]  # row (1-based) -> column (0-based) -> value
    formulas: set[tuple[int, int]] = field(default_factory=set)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # r1, c1, r2, c2
    notes: list[Problem] = field(default_factory=list)
    # Number cells with a number format: the text the spreadsheet program shows, or None
    # where the format is one the reader cannot render. General-format cells are absent.
    shown: dict[tuple[int, int], str | None] = field(default_factory=dict)
    others: list[OtherSheet] = field(default_factory=list)


# The key columns (CONTRACT §1): their cells count as shown, since `1.10` is not `1.1`.
KEY_HEADERS = frozenset({"nr", "nøgletal", "mål-id", "kvartal"})
_SHOWN_NUMBER = re.compile(r"^(-?\d+)(?:[.,](\d+))?$")


def _key_header(text: str | None) -> bool:
    if text is None:
        return False
    s = " ".join(str(text).replace("\u00a0", " ").split()).casefold()
    return (s[:-1].rstrip() if s.endswith(".") else s) in KEY_HEADERS


def _general(value: float | int) -> str:
    """A number as a General-format cell shows it, and as a key reads it (1.1, 2)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _as_shown(value: float | int, shown: str | None) -> str | None:
    """A number cell's key as the program shows it (`1.10`), or None when the shown text
    is not plainly that number (a format with text, grouping or another value)."""
    if shown is None:
        return None
    m = _SHOWN_NUMBER.match(shown.strip().replace("\u2212", "-"))
    if m is None:
        return None
    decimals = len(m.group(2) or "")
    text = f"{value:.{decimals}f}"
    if float(text) != float(f"{m.group(1)}.{m.group(2) or '0'}"):
        return None
    return text


def _is_blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _assemble(file: str, grid: _Grid, limits: Limits) -> RawSheet:
    rows = {
        r: cols for r, cols in grid.cells.items() if any(not _is_blank(v) for v in cols.values())
    }
    if not rows:
        elsewhere = ""
        if grid.others:
            listed = ", ".join(f"'{o.name}'" for o in grid.others)
            elsewhere = (
                f"Filen har udfyldte celler i {listed}, men kun arket '{grid.sheet}' læses: "
                f"flyt tabellen dertil, eller slet det tomme ark. "
            )
        raise ReadError(
            "tom_fil",
            f"Arket '{grid.sheet}' har ingen udfyldte celler. " + elsewhere + RULES["tom_fil"]
            if grid.sheet
            else RULES["tom_fil"],
        )
    header_row = min(rows)
    # Before merges fill their ranges, so a merged `Nr.` is the shown text in every row.
    key_notes: list[Problem] = []
    header_cells = rows[header_row]
    _keys_as_shown(
        file,
        grid,
        rows,
        header_row,
        [
            None if _is_blank(v) else _header_text(v)
            for v in (header_cells.get(c) for c in range(1 + max(header_cells)))
        ],
        key_notes,
    )

    filled = 0
    for r1, c1, r2, c2 in grid.merges:
        if r1 <= header_row:
            continue
        top_left = rows.get(r1, {}).get(c1)
        if _is_blank(top_left):
            continue
        for r in range(r1, r2 + 1):
            target = rows.get(r)
            if target is None:
                continue  # a row that is empty apart from the merge stays skipped
            for c in range(c1, c2 + 1):
                if _is_blank(target.get(c)):
                    target[c] = top_left
                    filled += 1
        if filled > limits.max_cells:
            raise ReadError(
                "for_stor", "Flettede celler dækker for mange celler. " + RULES["for_stor"]
            )

    width = 1 + max(c for cols in rows.values() for c, v in cols.items() if not _is_blank(v))
    header: list[str | None] = []
    for c in range(width):
        v = header_cells.get(c)
        header.append(None if _is_blank(v) else _header_text(v))

    notes = list(grid.notes) + key_notes

    by_row: dict[int, set[int]] = {}
    for fr, fc in grid.formulas:
        by_row.setdefault(fr, set()).add(fc)
    raw_rows: list[RawRow] = []
    for r in sorted(rows):
        if r == header_row:
            continue
        cols = rows[r]
        raw_rows.append(
            RawRow(r, [cols.get(c) for c in range(width)], frozenset(by_row.get(r, ())))
        )

    for r, c in sorted(grid.formulas):
        if r < header_row or r not in rows:
            continue
        value = rows[r].get(c)
        column = header[c] if c < len(header) else None
        cell = f"{column_letter(c)}{r}"
        # A saved value is used and the operator warned; without one there is no value to
        # use, which is an error at the cell (CONTRACT §1), not an empty cell.
        rule = "formel" if value is not None else "formel_uden_vaerdi"
        notes.append(
            Problem(
                file=file,
                sheet=grid.sheet,
                cell=cell,
                column=column.strip() if column else None,
                row=r,
                rule=rule,
                severity=WARNING if value is not None else ERROR,
                value=None if value is None else str(value),
                message=RULES[rule],
            )
        )
    return RawSheet(
        file=file,
        sheet=grid.sheet,
        header_row=header_row,
        header=header,
        rows=raw_rows,
        notes=notes,
        others=list(grid.others),
    )


def _keys_as_shown(
    file: str,
    grid: _Grid,
    rows: dict[int, dict[int, object]],
    header_row: int,
    header: list[str | None],
    notes: list[Problem],
) -> None:
    """Turn number cells of the key columns into the text the program shows, or name them.

    A `Nr.` typed as the number 1.1 with the format `0.00` shows `1.10`, and the centre
    means initiative 1.10; reading the stored 1.1 would put the figure under another
    initiative without a word. A General-format number shows as itself.
    """
    keys = [c for c, text in enumerate(header) if _key_header(text)]
    for r, cols in rows.items():
        if r <= header_row:
            continue
        for c in keys:
            value = cols.get(c)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if (r, c) not in grid.shown:
                continue
            text = _as_shown(value, grid.shown[(r, c)])
            if text is not None:
                if text != _general(value):
                    cols[c] = text
                continue
            column = header[c]
            notes.append(
                Problem(
                    file=file,
                    sheet=grid.sheet,
                    cell=f"{column_letter(c)}{r}",
                    column=column.strip() if column else None,
                    row=r,
                    rule="noegle_talformat",
                    severity=ERROR,
                    value=grid.shown[(r, c)] or str(value),
                    message=RULES["noegle_talformat"],
                )
            )


def _header_text(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    return str(v)


def _norm_value(v: object) -> object:
    """Keep to the value types RawRow promises; an empty text is an empty cell."""
    if v == "":
        return None
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    if isinstance(v, datetime):
        return v.date() if v.time() == time(0, 0) and v.tzinfo is None else v
    if isinstance(v, date):
        return v
    return str(v)


def _choose(names: list[str], hidden: list[bool], preferred: str) -> tuple[int, bool]:
    """Index of the sheet to read and whether it is hidden."""
    want = preferred.strip().casefold()
    for i, name in enumerate(names):
        if name.strip().casefold() == want:
            return i, hidden[i]
    for i, is_hidden in enumerate(hidden):
        if not is_hidden:
            return i, False
    if not names:
        raise ReadError("tom_fil", "Filen har ingen ark. " + RULES["tom_fil"])
    return 0, True  # every sheet hidden: nothing better to read


def other_sheet(name: str, hidden: bool, cells: dict[int, dict[int, object]]) -> OtherSheet | None:
    """A sheet that is not read, from its cells by row; None when no cell is filled."""
    rows: list[tuple[int, tuple[str, ...]]] = []
    for r in sorted(cells):
        texts = tuple(_header_text(v) for _, v in sorted(cells[r].items()) if not _is_blank(v))
        if texts:
            rows.append((r, texts))
        if len(rows) >= OTHER_SHEET_ROWS:
            break
    return OtherSheet(name, hidden, tuple(rows)) if rows else None


def _hidden_note(file: str, sheet: str, preferred: str) -> Problem:
    why = (
        f"fordi det hedder '{preferred}'"
        if sheet.strip().casefold() == preferred.strip().casefold()
        else "fordi filen ikke har synlige ark"
    )
    return Problem(
        file=file,
        sheet=sheet,
        cell=None,
        column=None,
        row=None,
        rule="skjult_ark",
        severity=WARNING,
        value=sheet,
        message=f"Arket '{sheet}' er skjult i filen, men er læst, {why}. Vis "
        f"arket, eller omdøb det, hvis det ikke skal bruges.",
    )


def _check_position(row: int, col: int, limits: Limits, what: str = "") -> None:
    """`col` 1-based. Refuses Excel's impossible cells and cells beyond the limits."""
    if row < 1 or col < 1:
        raise ReadError(
            "ulaeselig", f"Filen har en ugyldig cellereference{what}. " + RULES["ulaeselig"]
        )
    if row > min(limits.max_rows, EXCEL_MAX_ROWS) or col > min(
        limits.max_columns, EXCEL_MAX_COLUMNS
    ):
        ref = f"{column_letter(col - 1)}{row}" if col <= 10 * EXCEL_MAX_COLUMNS else f"række {row}"
        beyond = row > EXCEL_MAX_ROWS or col > EXCEL_MAX_COLUMNS
        why = (
            "uden for Excels grænser (XFD1048576)"
            if beyond
            else f"uden for det område, der læses (højst {limits.max_rows} rækker og "
            f"{limits.max_columns} kolonner)"
        )
        raise ReadError(
            "uden_for_arket", f"Filen har en celle i {ref}, {why}. " + RULES["uden_for_arket"]
        )


def _percent_value(v: float) -> float | int:
    shown = round(float(v) * 100, 10)
    return int(shown) if shown.is_integer() and isinstance(v, int) else shown
