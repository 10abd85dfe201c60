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
- The other sheets of a workbook are not read, but each one holding a filled cell is given
  in `RawSheet.others` with its first filled rows (a few rows per sheet, however long it
  is), so gather can name it: its rows would otherwise vanish without a word.
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
- `csv_felter` (note, an error, one per row): a CSV row with more fields than the header
  row; the row is not read. A row with fewer fields is read, its missing trailing cells
  empty.
- `noegle_talformat` (note, an error, one per cell): a number cell in a key column (`Nr.`,
  `Nøgletal`, `Mål-id`, `Kvartal`) whose format cannot be shown plainly. A plain one is
  read as shown: 1.1 formatted `0.00` is the text `1.10`.

The full Danish messages are in `RULES`; a `ReadError`'s message may add what was found.
"""

from __future__ import annotations

from collections.abc import Callable

from kvartal.readers.csv import _read_csv
from kvartal.readers.grid import (
    RULES,
    SEVERITY,
    Limits,
    OtherSheet,
    RawRow,
    RawSheet,
    ReadError,
    _assemble,
    _Grid,
    column_letter,
)
from kvartal.readers.ods import _read_ods
from kvartal.readers.xlsx import _read_xlsx

__all__ = [
    "RULES",
    "SEVERITY",
    "Limits",
    "OtherSheet",
    "RawRow",
    "RawSheet",
    "ReadError",
    "column_letter",
    "read_sheet",
]


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
        raise ReadError(
            "for_stor", "Filen kræver for meget hukommelse. " + RULES["for_stor"]
        ) from None
    except RecursionError:
        raise ReadError("ulaeselig", "Filen er for dybt indlejret. " + RULES["ulaeselig"]) from None
    except Exception as exc:  # any parser's failure is this file's problem, not the run's
        raise ReadError(
            "ulaeselig",
            f"Filen kan ikke læses som .{ext} ({type(exc).__name__}). " + RULES["ulaeselig"],
        ) from exc
