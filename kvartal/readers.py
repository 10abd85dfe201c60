"""Bytes of one centre's file -> the values of one sheet, with their exact cell positions.

The files come from many hands, so this module assumes nothing about them: every file is
checked for the usual ways a spreadsheet can exhaust memory or time (zip bombs, entity
expansion, cells at the far edge of the sheet, millions of cells) *before* a parser sees
it, and a file that fails is refused with a `ReadError` that gather reports as an error
for that one file, so the other files of the quarter are still checked. Nothing here may
crash the process: every parser exception, MemoryError and RecursionError included, turns
into a `ReadError`.

Positions are kept exactly as the spreadsheet program shows them (row 1-based, column by
0-based position from column A), because every problem must name the cell (`D7`) the
operator has to correct.

Choices a reader has to make, and why:

- The sheet named `preferred_sheet` (case and surrounding spaces ignored) is read, even
  when hidden (with a warning); otherwise the first visible sheet. A hidden sheet is never
  chosen as "the first sheet", because nobody looking at the workbook sees it.
- Merged cells: the top-left value fills the whole merged range in data rows, because a
  `Nr.` merged over three rows means all three rows belong to that initiative. Merges that
  start in or above the header row are left alone (a merged header would otherwise turn
  into duplicate headers or a data row holding header text).
- Formula cells are read as the value the spreadsheet program last calculated and saved,
  with one `formel` warning per cell: the value may be stale, and a file written by a
  program that does not calculate has no value at all.
- A numeric cell formatted as a percentage is given as the number the user sees (86 for a
  cell showing 86 %), not the stored fraction 0.86, because CONTRACT §1 reads `86 %` as 86.
  In .xlsx that is a number format with `%`; in .ods it is the `percentage` value type
  (LibreOffice) or a `float` whose cell style (or its column's default cell style) has a
  percentage data style (Gnumeric).
- A datetime at midnight is given as a date: that is what a date cell means.
- CSV values stay text (the Danish number rules apply to them later); an empty field is
  None.

Rule slugs of `ReadError` (the file is refused) and of the notes (warnings, file read):

- `tom_fil` (refused): the file is empty or the sheet has no filled cell.
- `ulaeselig` (refused): not a readable .xlsx/.xlsm/.ods/.csv (also an old .xls renamed,
  an unknown extension, or any parser failure).
- `krypteret` (refused): password-protected (an OLE container named .xlsx, or an encrypted
  zip/ods entry).
- `for_stor` (refused): too many bytes, too large unpacked, an absurd compression ratio,
  too many zip entries, or more real cells than `Limits.max_cells`.
- `dtd` (refused): a `<!DOCTYPE` or `<!ENTITY` in any XML part.
- `uden_for_arket` (refused): a cell beyond Excel's bounds (XFD1048576), or beyond the
  area a report can use (`Limits.max_rows`, `Limits.max_columns`).
- `tegnsaet` (refused): a CSV that is UTF-8 read as Windows-1252 and saved again
  (`MÃ¥l`), UTF-16, or neither UTF-8 nor Windows-1252.
- `formel` (note, one per cell): a formula cell read as its cached value.
- `formel_uden_vaerdi` (note, an error, one per cell): a formula cell with no saved value.
- `skjult_ark` (note): the chosen sheet is hidden.

The full Danish messages are in `RULES`; a `ReadError`'s message may add what was found.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import struct
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from kvartal.model import ERROR, WARNING, Problem

__all__ = [
    "RULES",
    "SEVERITY",
    "Limits",
    "RawRow",
    "RawSheet",
    "ReadError",
    "column_letter",
    "read_sheet",
]

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


@dataclass
class RawSheet:
    file: str
    sheet: str | None
    header_row: int
    header: list[str | None]
    rows: list[RawRow]
    notes: list[Problem] = field(default_factory=list)


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
# Entry point


def read_sheet(
    file: str, data: bytes, preferred_sheet: str, limits: Limits | None = None
) -> RawSheet:
    """Read the sheet a centre's file holds its table in; raise ReadError if it cannot.

    `file` is the inbox-relative path (it names the format by its extension and is carried
    into every note); `preferred_sheet` is "Mål" for the catalogue, "Tal" for figures.
    Merged cells fill their whole range in data rows with the top-left value (a `Nr.`
    merged over three rows names all three); see the module docstring for the other
    choices.
    """
    limits = limits or Limits()
    if not data:
        raise ReadError("tom_fil", "Filen er tom (0 byte). " + RULES["tom_fil"])
    if len(data) > limits.max_bytes:
        raise ReadError(
            "for_stor",
            f"Filen fylder {len(data) / 1e6:.1f} MB; grænsen er "
            f"{limits.max_bytes / 1e6:.0f} MB. " + RULES["for_stor"],
        )
    ext = file.rsplit(".", 1)[-1].lower() if "." in file else ""
    readers: dict[str, Callable[[str, bytes, str, Limits], _Grid]] = {
        "xlsx": _read_xlsx,
        "xlsm": _read_xlsx,
        "ods": _read_ods,
        "csv": _read_csv,
    }
    reader = readers.get(ext)
    if reader is None:
        raise ReadError(
            "ulaeselig",
            f"Filtypen '.{ext}' kan ikke læses. Gem filen som .xlsx, .xlsm, .ods eller .csv.",
        )
    try:
        grid = reader(file, data, preferred_sheet, limits)
        return _assemble(file, grid, limits)
    except ReadError:
        raise
    except MemoryError:
        raise ReadError("for_stor",
                        "Filen kræver for meget hukommelse. " + RULES["for_stor"]) from None
    except RecursionError:
        raise ReadError("ulaeselig",
                        "Filen er for dybt indlejret. " + RULES["ulaeselig"]) from None
    except Exception as exc:  # any parser's failure is this file's problem, not the run's
        raise ReadError(
            "ulaeselig",
            f"Filen kan ikke læses som .{ext} ({type(exc).__name__}). " + RULES["ulaeselig"],
        ) from exc


# ----------------------------------------------------------------------------------------
# What every format produces: the chosen sheet's non-empty cells by position.


@dataclass
class _Grid:
    sheet: str | None
    cells: dict[int, dict[int, object]]  # row (1-based) -> column (0-based) -> value
    formulas: set[tuple[int, int]] = field(default_factory=set)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # r1, c1, r2, c2
    notes: list[Problem] = field(default_factory=list)


def _is_blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _assemble(file: str, grid: _Grid, limits: Limits) -> RawSheet:
    rows = {r: cols for r, cols in grid.cells.items()
            if any(not _is_blank(v) for v in cols.values())}
    if not rows:
        raise ReadError(
            "tom_fil",
            f"Arket '{grid.sheet}' har ingen udfyldte celler. " + RULES["tom_fil"]
            if grid.sheet
            else RULES["tom_fil"],
        )
    header_row = min(rows)

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
            raise ReadError("for_stor", "Flettede celler dækker for mange celler. "
                            + RULES["for_stor"])

    width = 1 + max(c for cols in rows.values() for c, v in cols.items() if not _is_blank(v))
    header_cells = rows[header_row]
    header: list[str | None] = []
    for c in range(width):
        v = header_cells.get(c)
        header.append(None if _is_blank(v) else _header_text(v))

    by_row: dict[int, set[int]] = {}
    for fr, fc in grid.formulas:
        by_row.setdefault(fr, set()).add(fc)
    raw_rows: list[RawRow] = []
    for r in sorted(rows):
        if r == header_row:
            continue
        cols = rows[r]
        raw_rows.append(RawRow(r, [cols.get(c) for c in range(width)],
                               frozenset(by_row.get(r, ()))))

    notes = list(grid.notes)
    for r, c in sorted(grid.formulas):
        if r < header_row or r not in rows:
            continue
        value = rows[r].get(c)
        column = header[c] if c < len(header) else None
        cell = f"{column_letter(c)}{r}"
        # A saved value is used and the operator warned; without one there is no value to
        # use, which is an error at the cell (CONTRACT §1), not an empty cell.
        rule = "formel" if value is not None else "formel_uden_vaerdi"
        notes.append(Problem(file=file, sheet=grid.sheet, cell=cell,
                             column=column.strip() if column else None, row=r, rule=rule,
                             severity=WARNING if value is not None else ERROR,
                             value=None if value is None else str(value),
                             message=RULES[rule]))
    return RawSheet(file=file, sheet=grid.sheet, header_row=header_row, header=header,
                    rows=raw_rows, notes=notes)


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


def _choose(
    names: list[str], hidden: list[bool], preferred: str
) -> tuple[int, bool]:
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


def _hidden_note(file: str, sheet: str, preferred: str) -> Problem:
    why = (f"fordi det hedder '{preferred}'" if sheet.strip().casefold()
           == preferred.strip().casefold() else "fordi filen ikke har synlige ark")
    return Problem(file=file, sheet=sheet, cell=None, column=None, row=None,
                   rule="skjult_ark", severity=WARNING, value=sheet,
                   message=f"Arket '{sheet}' er skjult i filen, men er læst, {why}. Vis "
                   f"arket, eller omdøb det, hvis det ikke skal bruges.")


def _check_position(row: int, col: int, limits: Limits, what: str = "") -> None:
    """`col` 1-based. Refuses Excel's impossible cells and cells beyond the limits."""
    if row < 1 or col < 1:
        raise ReadError("ulaeselig", f"Filen har en ugyldig cellereference{what}. "
                        + RULES["ulaeselig"])
    if row > min(limits.max_rows, EXCEL_MAX_ROWS) or col > min(limits.max_columns,
                                                               EXCEL_MAX_COLUMNS):
        ref = f"{column_letter(col - 1)}{row}" if col <= 10 * EXCEL_MAX_COLUMNS else f"række {row}"
        beyond = row > EXCEL_MAX_ROWS or col > EXCEL_MAX_COLUMNS
        why = ("uden for Excels grænser (XFD1048576)" if beyond else
               f"uden for det område, der læses (højst {limits.max_rows} rækker og "
               f"{limits.max_columns} kolonner)")
        raise ReadError("uden_for_arket", f"Filen har en celle i {ref}, {why}. "
                        + RULES["uden_for_arket"])


# ----------------------------------------------------------------------------------------
# Zip containers (xlsx, xlsm, ods): checked before any parser sees them.

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CHUNK = 1 << 20
_OVERLAP = 1024  # longest tag fragment a scan pattern has to see whole

_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# Only literal-led patterns: the regex engine then skips ahead at C speed, which keeps a
# 100 MB scan inside the time a refusal may take. A reference written in an odd form
# (spaces around `=`) escapes the scan but not the cell-by-cell check while parsing.
_ROOT_PREFIX = re.compile(rb"<([A-Za-z_][\w.-]*:)?(?:worksheet|sst)[\s>]")
_TAG_END = (b" ", b">", b"/", b"\t", b"\n", b"\r")
_XLSX_ROW_REF = re.compile(rb'r="(\d{7,})"')  # only 7 digits or more can pass Excel's edge
_XLSX_MERGE = re.compile(rb"mergeCell\s[^<>]{0,500}?\bref\s*=\s*[\"']\s*([^\"']{1,40})[\"']")
_ENCRYPTED = re.compile(rb"encryption-data")
_A1 = re.compile(r"^\$?([A-Za-z]{1,7})\$?(\d{1,9})$")


def _zip_entry_count(data: bytes) -> int | None:
    """Entries declared by the end-of-central-directory record, read without zipfile.

    zipfile builds an object per entry before anyone can look, so a file with a million
    tiny entries would cost gigabytes; the count is checked first.
    """
    tail_start = max(0, len(data) - 22 - 65_535)
    pos = data.rfind(b"PK\x05\x06", tail_start)
    if pos < 0 or pos + 22 > len(data):
        return None
    total = struct.unpack_from("<H", data, pos + 10)[0]
    if total == 0xFFFF and pos >= 20 and data[pos - 20:pos - 16] == b"PK\x06\x07":
        offset = struct.unpack_from("<Q", data, pos - 20 + 8)[0]
        if offset + 56 <= len(data) and data[offset:offset + 4] == b"PK\x06\x06":
            return int(struct.unpack_from("<Q", data, offset + 32)[0])
    return int(total)


def _open_zip(data: bytes, ext: str, limits: Limits) -> zipfile.ZipFile:
    if data[:8] == _OLE_MAGIC:
        looks_like_xls = (b"W\x00o\x00r\x00k\x00b\x00o\x00o\x00k\x00" in data
                          and b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00i\x00o\x00n\x00" not in data)
        if looks_like_xls:
            raise ReadError(
                "ulaeselig",
                f"Filen er i det gamle .xls-format, selv om den hedder .{ext}. Åbn den i "
                f"Excel og gem den som .xlsx.",
            )
        raise ReadError("krypteret")
    if data[:2] != b"PK":
        raise ReadError(
            "ulaeselig",
            f"Filen er ikke en .{ext}-fil (den er ikke en zip-pakke, som .{ext} altid er). "
            + RULES["ulaeselig"],
        )
    count = _zip_entry_count(data)
    if count is not None and count > limits.max_entries:
        raise ReadError("for_stor", f"Filen består af {count} dele. " + RULES["for_stor"])
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise ReadError("ulaeselig", f"Filen er ikke en gyldig .{ext}-fil ({exc}). "
                        + RULES["ulaeselig"]) from exc
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise ReadError("for_stor", f"Filen består af {len(infos)} dele. " + RULES["for_stor"])
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise ReadError("krypteret")
        total += info.file_size
        if info.file_size > limits.max_uncompressed or total > limits.max_uncompressed:
            raise ReadError(
                "for_stor",
                f"Filen fylder over {limits.max_uncompressed / 1e6:.0f} MB, når den pakkes "
                f"ud. " + RULES["for_stor"],
            )
        if info.file_size > limits.ratio_floor:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise ReadError(
                    "for_stor",
                    f"En del af filen ({info.filename}) er pakket {ratio:.0f} gange sammen; "
                    f"det gør regneark ikke. " + RULES["for_stor"],
                )
    return zf


def _scan(zf: zipfile.ZipFile, name: str, window: Callable[[bytes, int], None]) -> None:
    """Stream one entry in bounded memory, in overlapping windows.

    `window(buf, limit)` must act on the matches in `buf[:limit]` (search with endpos
    `limit`): the rest of `buf` comes again at the start of the next window. The cut is
    made just before a `<`, and every pattern lies within one tag, so every match is seen
    once and whole.
    """
    with zf.open(name) as fh:
        carry = b""
        while True:
            chunk = fh.read(_CHUNK)
            at_end = not chunk
            buf = carry + chunk
            limit = len(buf)
            if not at_end:
                # cut just before a tag, so no tag straddles the cut
                limit = max(0, len(buf) - _OVERLAP)
                cut = buf.rfind(b"<", max(0, limit - _OVERLAP), limit)
                limit = cut if cut > 0 else limit
            window(buf, limit)
            if at_end:
                return
            carry = buf[limit:]


def _first(pattern: re.Pattern[bytes], buf: bytes, limit: int) -> re.Match[bytes] | None:
    return pattern.search(buf, 0, limit)


def _count(pattern: re.Pattern[bytes], buf: bytes, limit: int) -> int:
    return len(pattern.findall(buf, 0, limit))


def _refuse_dtd(buf: bytes, limit: int) -> None:
    if _first(_DTD, buf, limit):
        raise ReadError("dtd")


def _is_xml_part(name: str) -> bool:
    lower = name.lower()
    return lower.endswith((".xml", ".rels", ".vml")) or lower == "[content_types].xml"


def _far_ref_pattern(limits: Limits) -> re.Pattern[bytes]:
    """Cell references long enough to lie beyond the limits; checking every reference in
    Python would take longer than the one second a refusal may take."""
    letters = len(column_letter(min(limits.max_columns, EXCEL_MAX_COLUMNS) - 1))
    digits = len(str(min(limits.max_rows, EXCEL_MAX_ROWS)))
    return re.compile(rb'r="([A-Za-z]{%d,})(\d+)"|r="([A-Za-z]+)(\d{%d,})"'
                      % (letters, digits))


def _attribute_of(buf: bytes, pos: int, tag: bytes) -> bool:
    """Whether the `r="` at `pos` is an attribute of a `tag` element (any prefix)."""
    if pos == 0 or buf[pos - 1:pos] not in (b" ", b"\t", b"\n", b"\r"):
        return False
    start = buf.rfind(b"<", max(0, pos - 600), pos)
    if start < 0:
        return False
    name = re.match(rb"<(?:[A-Za-z_][\w.-]*:)?([A-Za-z]+)", buf[start:pos])
    return name is not None and name[1] == tag


def _count_tags(buf: bytes, limit: int, name: bytes) -> int:
    return sum(buf.count(b"<" + name + end, 0, limit) for end in _TAG_END)


def _root_prefix(zf: zipfile.ZipFile, name: str) -> bytes:
    """The namespace prefix the part's elements are written with (`x:` or none)."""
    with zf.open(name) as fh:
        head = fh.read(8192)
    m = _ROOT_PREFIX.search(head)
    return m[1] if m and m[1] else b""


def _guard_xlsx(zf: zipfile.ZipFile, limits: Limits) -> None:
    far_ref = _far_ref_pattern(limits)
    cells = 0
    strings = 0

    prefix = b""

    def sheet_window(buf: bytes, limit: int) -> None:
        nonlocal cells
        _refuse_dtd(buf, limit)
        cells += _count_tags(buf, limit, prefix + b"c")
        if cells > limits.max_cells:
            raise ReadError("for_stor", f"Filen har over {limits.max_cells} celler. "
                            + RULES["for_stor"])
        for m in far_ref.finditer(buf, 0, limit):
            if not _attribute_of(buf, m.start(), b"c"):
                continue
            letters, digits = (m[1], m[2]) if m[1] else (m[3], m[4])
            col = _column_index(letters.decode("ascii")) if len(letters) <= 7 else 10**9
            _check_position(int(digits[:12]), col, limits)
        for row in _XLSX_ROW_REF.finditer(buf, 0, limit):
            if _attribute_of(buf, row.start(), b"row") and int(row[1][:12]) > EXCEL_MAX_ROWS:
                _check_position(int(row[1][:12]), 1, limits)
        for merge in _XLSX_MERGE.finditer(buf, 0, limit):
            for part in merge[1].decode("ascii", "replace").split(":"):
                a1 = _A1.match(part.strip())
                if not a1:
                    raise ReadError("ulaeselig", "Filen har en ugyldig fletning af celler. "
                                    + RULES["ulaeselig"])
                _check_position(int(a1[2]), _column_index(a1[1]), limits)

    def strings_window(buf: bytes, limit: int) -> None:
        nonlocal strings
        _refuse_dtd(buf, limit)
        strings += _count_tags(buf, limit, prefix + b"si")
        if strings > limits.max_cells:
            raise ReadError("for_stor", f"Filen har over {limits.max_cells} tekster. "
                            + RULES["for_stor"])

    for info in zf.infolist():
        name = info.filename
        if not _is_xml_part(name):
            continue
        lower = name.lower()
        if "worksheets/" in lower and lower.endswith(".xml"):
            prefix = _root_prefix(zf, name)
            _scan(zf, name, sheet_window)
        elif lower.endswith("sharedstrings.xml"):
            prefix = _root_prefix(zf, name)
            _scan(zf, name, strings_window)
        else:
            _scan(zf, name, _refuse_dtd)


# ----------------------------------------------------------------------------------------
# xlsx / xlsm (openpyxl, read-only, cached formula values)


def _percent_format(fmt: str) -> bool:
    bare = re.sub(r'"[^"]*"|\\.', "", fmt)
    return "%" in bare


def _read_xlsx(file: str, data: bytes, preferred: str, limits: Limits) -> _Grid:
    import openpyxl
    from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    if not openpyxl.DEFUSEDXML:  # pragma: no cover - the dependency is pinned
        raise ReadError("ulaeselig", "Regnearkslæseren er installeret uden defusedxml; "
                        "kontakt driften.")
    ext = file.rsplit(".", 1)[-1].lower()
    zf = _open_zip(data, ext, limits)
    with zf:
        _guard_xlsx(zf, limits)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True,
                                    keep_links=False)
    try:
        sheets = wb.worksheets
        names = [ws.title for ws in sheets]
        hidden = [ws.sheet_state != "visible" for ws in sheets]
        index, is_hidden = _choose(names, hidden, preferred)
        ws = sheets[index]
        grid = _Grid(sheet=ws.title, cells={})
        if is_hidden:
            grid.notes.append(_hidden_note(file, ws.title, preferred))

        formulas = grid.formulas

        class _Parser(WorkSheetParser):
            """openpyxl's parser hides formulas when data_only; note where they were."""

            def parse_cell(self, element: Any) -> dict[str, Any]:
                cell: dict[str, Any] = super().parse_cell(element)
                if element.find(FORMULA_TAG) is not None:
                    formulas.add((cell["row"], cell["column"] - 1))
                return cell

        cell_styles = wb._cell_styles
        number_formats = wb._number_formats

        def is_percent(style_id: int) -> bool:
            if not style_id or style_id >= len(cell_styles):
                return False
            fmt_id = cell_styles[style_id].numFmtId
            if fmt_id < BUILTIN_FORMATS_MAX_SIZE:
                fmt = BUILTIN_FORMATS.get(fmt_id, "General")
            else:
                idx = fmt_id - BUILTIN_FORMATS_MAX_SIZE
                fmt = number_formats[idx] if 0 <= idx < len(number_formats) else "General"
            return _percent_format(fmt)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with ws._get_source() as src:
                parser = _Parser(src, ws._shared_strings, data_only=True, epoch=wb.epoch,
                                 date_formats=wb._date_formats,
                                 timedelta_formats=wb._timedelta_formats)
                count = 0
                for _row_idx, row_cells in parser.parse():
                    for c in row_cells:
                        r, col = int(c["row"]), int(c["column"])
                        value = c["value"]
                        if value is None and (r, col - 1) not in formulas:
                            continue
                        _check_position(r, col, limits)
                        count += 1
                        if count > limits.max_cells:
                            raise ReadError("for_stor")
                        if c["data_type"] == "n" and isinstance(value, (int, float)) \
                                and not isinstance(value, bool) and is_percent(c["style_id"]):
                            value = _percent_value(value)
                        grid.cells.setdefault(r, {})[col - 1] = _norm_value(value)
                merged = parser.merged_cells
        if merged is not None:
            for mc in merged.mergeCell:
                bounds = _range_bounds(str(mc.ref))
                if bounds:
                    grid.merges.append(bounds)
        return grid
    finally:
        wb.close()


def _percent_value(v: float) -> float | int:
    shown = round(float(v) * 100, 10)
    return int(shown) if shown.is_integer() and isinstance(v, int) else shown


def _range_bounds(ref: str) -> tuple[int, int, int, int] | None:
    parts = ref.split(":")
    if len(parts) != 2:
        return None
    a, b = _A1.match(parts[0].strip()), _A1.match(parts[1].strip())
    if not a or not b:
        return None
    r1, c1 = int(a[2]), _column_index(a[1]) - 1
    r2, c2 = int(b[2]), _column_index(b[1]) - 1
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


# ----------------------------------------------------------------------------------------
# ods (a streaming parse of content.xml; odfpy and pandas build the whole document in
# memory and lose the positions of repeated rows and columns)

_NS = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "number": "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0",
}


def _q(prefix: str, name: str) -> str:
    return f"{{{_NS[prefix]}}}{name}"


T_TABLE = _q("table", "table")
T_ROW = _q("table", "table-row")
T_CELL = _q("table", "table-cell")
T_COVERED = _q("table", "covered-table-cell")
T_NAME = _q("table", "name")
T_STYLE_NAME = _q("table", "style-name")
T_ROWS_REP = _q("table", "number-rows-repeated")
T_COLS_REP = _q("table", "number-columns-repeated")
T_COLS_SPAN = _q("table", "number-columns-spanned")
T_ROWS_SPAN = _q("table", "number-rows-spanned")
T_FORMULA = _q("table", "formula")
T_DISPLAY = _q("table", "display")
O_TYPE = _q("office", "value-type")
O_VALUE = _q("office", "value")
O_DATE = _q("office", "date-value")
O_BOOL = _q("office", "boolean-value")
O_STRING = _q("office", "string-value")
O_ANNOTATION = _q("office", "annotation")
X_P = _q("text", "p")
X_H = _q("text", "h")
X_S = _q("text", "s")
X_C = _q("text", "c")
X_TAB = _q("text", "tab")
X_BREAK = _q("text", "line-break")
S_STYLE = _q("style", "style")
S_NAME = _q("style", "name")
S_FAMILY = _q("style", "family")
S_TABLE_PROPS = _q("style", "table-properties")
S_DATA_STYLE = _q("style", "data-style-name")
S_PARENT = _q("style", "parent-style-name")
T_COLUMN = _q("table", "table-column")
T_DEFAULT_STYLE = _q("table", "default-cell-style-name")
N_PERCENT = _q("number", "percentage-style")


def _ods_text(el: Any) -> str:
    parts: list[str] = []

    def walk(node: Any) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            tag = child.tag
            if tag == X_S:
                parts.append(" " * _int_attr(child, X_C, 1))
            elif tag == X_TAB:
                parts.append("\t")
            elif tag == X_BREAK:
                parts.append("\n")
            elif tag != O_ANNOTATION:
                walk(child)
            if child.tail:
                parts.append(child.tail)

    paragraphs = []
    for child in el:
        if child.tag in (X_P, X_H):
            parts.clear()
            walk(child)
            paragraphs.append("".join(parts))
    return "\n".join(paragraphs)


def _int_attr(el: Any, name: str, default: int) -> int:
    raw = el.get(name)
    if raw is None:
        return default
    n = int(raw)
    if n < 1:
        raise ValueError(f"{name}={raw}")
    return n


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


@dataclass
class _OdsStyles:
    """Which cell styles show a number as a percentage.

    Gnumeric saves `86 %` as `office:value-type="float"` with a cell style whose data style
    is a `number:percentage-style`; LibreOffice uses the `percentage` value type. Both mean
    what the user sees, 86. Data styles and cell styles may sit in styles.xml or in
    content.xml's automatic styles, and a cell without a style takes its column's default.
    """

    percent_data: set[str] = field(default_factory=set)
    data_of: dict[str, str] = field(default_factory=dict)  # cell style -> data style
    parent_of: dict[str, str] = field(default_factory=dict)

    def note(self, el: Any) -> None:
        if el.tag == N_PERCENT:
            self.percent_data.add(el.get(S_NAME) or "")
        elif el.tag == S_STYLE and el.get(S_FAMILY) == "table-cell":
            name = el.get(S_NAME) or ""
            if el.get(S_DATA_STYLE):
                self.data_of[name] = el.get(S_DATA_STYLE)
            if el.get(S_PARENT):
                self.parent_of[name] = el.get(S_PARENT)

    def is_percent(self, style: str | None) -> bool:
        seen: set[str] = set()
        while style and style not in seen:
            seen.add(style)
            if style in self.data_of:
                return self.data_of[style] in self.percent_data
            style = self.parent_of.get(style)
        return False


def _ods_value(el: Any, percent: bool = False) -> object:
    kind = el.get(O_TYPE)
    if kind in ("float", "currency", "percentage"):
        raw = el.get(O_VALUE)
        if raw is None:
            return _ods_text(el) or None
        value = _number(raw.strip())
        return _percent_value(value) if kind == "percentage" or percent else value
    if kind == "date":
        raw = (el.get(O_DATE) or "").strip()
        if not raw:
            return _ods_text(el) or None
        if "T" in raw:
            return _norm_value(datetime.fromisoformat(raw.split(".")[0]))
        return date.fromisoformat(raw)
    if kind == "boolean":
        return (el.get(O_BOOL) or "").strip().lower() == "true"
    if kind == "string" and el.get(O_STRING) is not None:
        return el.get(O_STRING) or None
    text = _ods_text(el)
    return text if text != "" else None


def _read_ods(file: str, data: bytes, preferred: str, limits: Limits) -> _Grid:
    from defusedxml.ElementTree import iterparse

    zf = _open_zip(data, "ods", limits)
    with zf:
        names = set(zf.namelist())
        if "mimetype" in names:
            mimetype = zf.read("mimetype")[:200].strip()
            if mimetype != b"application/vnd.oasis.opendocument.spreadsheet":
                raise ReadError("ulaeselig", "Filen er ikke et regneark i .ods-format. "
                                + RULES["ulaeselig"])
        if "META-INF/manifest.xml" in names:
            def encrypted(buf: bytes, limit: int) -> None:
                if _first(_ENCRYPTED, buf, limit):
                    raise ReadError("krypteret")
            _scan(zf, "META-INF/manifest.xml", encrypted)
        if "content.xml" not in names:
            raise ReadError("ulaeselig", "Filen mangler sit indhold (content.xml). "
                            + RULES["ulaeselig"])
        for name in names:
            if _is_xml_part(name):
                _scan(zf, name, _refuse_dtd)

        styles = _OdsStyles()
        if "styles.xml" in names:
            with zf.open("styles.xml") as fh:
                for _event, el in iterparse(fh, events=("end",)):
                    if el.tag in (N_PERCENT, S_STYLE):
                        styles.note(el)
        column_styles: list[str | None] = []  # the current table's default cell styles
        hidden_styles: set[str] = set()
        tables: list[tuple[str, bool, _Grid]] = []
        real_cells = 0
        stack: list[Any] = []
        current: _Grid | None = None
        row_no = 0
        with zf.open("content.xml") as fh:
            for event, el in iterparse(fh, events=("start", "end")):
                if event == "start":
                    stack.append(el)
                    if el.tag == T_TABLE:
                        name = el.get(T_NAME) or f"Ark{len(tables) + 1}"
                        current = _Grid(sheet=name, cells={})
                        column_styles = []
                        tables.append((name, el.get(T_STYLE_NAME) in hidden_styles, current))
                        row_no = 0
                    continue
                stack.pop()
                tag = el.tag
                if tag == S_STYLE and el.get(S_FAMILY) == "table":
                    props = el.find(S_TABLE_PROPS)
                    if props is not None and props.get(T_DISPLAY) == "false":
                        hidden_styles.add(el.get(S_NAME) or "")
                elif tag in (S_STYLE, N_PERCENT):
                    styles.note(el)
                elif tag == T_COLUMN and current is not None:
                    # Only columns up to the sheet's bounds matter; a style repeated over
                    # the remaining 16 000 columns is kept as one entry per real column.
                    repeat = min(_int_attr(el, T_COLS_REP, 1),
                                 max(0, EXCEL_MAX_COLUMNS - len(column_styles)))
                    column_styles.extend([el.get(T_DEFAULT_STYLE)] * repeat)
                elif tag == T_ROW and current is not None:
                    rows_rep = _int_attr(el, T_ROWS_REP, 1)
                    first = row_no + 1
                    col_no = 0
                    for cell in el:
                        if cell.tag not in (T_CELL, T_COVERED):
                            continue
                        cols_rep = _int_attr(cell, T_COLS_REP, 1)
                        style = cell.get(T_STYLE_NAME) or (
                            column_styles[col_no] if col_no < len(column_styles) else None)
                        value = (_ods_value(cell, styles.is_percent(style))
                                 if cell.tag == T_CELL else None)
                        has_formula = cell.get(T_FORMULA) is not None
                        if value is not None or has_formula:
                            last_row, last_col = first + rows_rep - 1, col_no + cols_rep
                            _check_position(last_row, last_col, limits)
                            real_cells += rows_rep * cols_rep
                            if real_cells > limits.max_cells:
                                raise ReadError("for_stor", f"Filen har over "
                                                f"{limits.max_cells} celler. "
                                                + RULES["for_stor"])
                            for r in range(first, first + rows_rep):
                                row_cells = current.cells.setdefault(r, {})
                                for c in range(col_no, col_no + cols_rep):
                                    row_cells[c] = value
                                    if has_formula:
                                        current.formulas.add((r, c))
                        span_c = _int_attr(cell, T_COLS_SPAN, 1)
                        span_r = _int_attr(cell, T_ROWS_SPAN, 1)
                        if (span_c > 1 or span_r > 1) and value is not None:
                            _check_position(first + span_r - 1, col_no + span_c, limits)
                            current.merges.append((first, col_no, first + span_r - 1,
                                                   col_no + span_c - 1))
                        col_no += cols_rep
                    row_no += rows_rep
                    el.clear()
                    if stack:
                        stack[-1].remove(el)
                elif tag == T_TABLE:
                    current = None
                    el.clear()

    if not tables:
        raise ReadError("tom_fil", "Filen har ingen ark. " + RULES["tom_fil"])
    index, is_hidden = _choose([t[0] for t in tables], [t[1] for t in tables], preferred)
    grid = tables[index][2]
    if is_hidden:
        grid.notes.append(_hidden_note(file, tables[index][0], preferred))
    return grid


# ----------------------------------------------------------------------------------------
# csv

# UTF-8 read as Windows-1252 (or Latin-1) and saved again: å ø æ Å Ø Æ é ü ä ö.
_MOJIBAKE = re.compile(
    "Ã[\u00a5\u00b8\u00a6\u2026\u02dc\u2020\u00a9\u00bc\u00a4\u00b6\x85\x98\x86\u0192\u201a]"
)


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ReadError("tegnsaet", "CSV-filen er gemt som UTF-16 ('Unicode-tekst'). Gem den "
                        "som 'CSV UTF-8' eller 'CSV (semikolonsepareret)'.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ReadError("tegnsaet", "CSV-filen er hverken UTF-8 eller Windows-1252. Gem den "
                        "som 'CSV UTF-8'.") from exc


def _split_first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip(" \t;,\"'"):
            return line
    return ""


def _count_outside_quotes(line: str, ch: str) -> int:
    n, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == ch and not quoted:
            n += 1
    return n


def _read_csv(file: str, data: bytes, preferred: str, limits: Limits) -> _Grid:
    if b"\x00" in data[:65_536] and not data.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        raise ReadError("ulaeselig", "Filen er ikke en tekstfil, selv om den hedder .csv. "
                        + RULES["ulaeselig"])
    text = _decode(data)
    bad = _MOJIBAKE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise ReadError("tegnsaet", f"I linje {line} står '{bad.group()}', hvor der skulle "
                        f"have stået et dansk bogstav. " + RULES["tegnsaet"])
    header = _split_first_line(text)
    delimiter = ";" if _count_outside_quotes(header, ";") >= _count_outside_quotes(header, ",") \
        else ","
    grid = _Grid(sheet=None, cells={})
    count = 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"',
                        strict=False)
    # One record is one row, as a spreadsheet program shows the file, even when a quoted
    # field spans lines.
    for line_no, fields in enumerate(reader, start=1):
        row: dict[int, object] = {}
        for col, value in enumerate(fields):
            if value == "":
                continue
            _check_position(line_no, col + 1, limits)
            count += 1
            if count > limits.max_cells:
                raise ReadError("for_stor", f"Filen har over {limits.max_cells} felter. "
                                + RULES["for_stor"])
            row[col] = value
        if row:
            grid.cells[line_no] = row
    return grid
