"""csv: UTF-8 (with or without BOM) or Windows-1252, separated by `;` or `,`.

Values stay text: the Danish number rules apply to them later, in one place.
"""

from __future__ import annotations

import codecs
import csv
import io
import re

from kvartal.model import ERROR, Problem
from kvartal.readers.grid import (
    RULES,
    Limits,
    ReadError,
    _check_position,
    _Grid,
)

# ----------------------------------------------------------------------------------------
# csv

# UTF-8 read as Windows-1252 (or Latin-1) and saved again: å ø æ Å Ø Æ é ü ä ö.
_MOJIBAKE = re.compile(
    "Ã[\u00a5\u00b8\u00a6\u2026\u02dc\u2020\u00a9\u00bc\u00a4\u00b6\x85\x98\x86\u0192\u201a]"
)


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ReadError(
            "tegnsaet",
            "CSV-filen er gemt som UTF-16 ('Unicode-tekst'). Gem den "
            "som 'CSV UTF-8' eller 'CSV (semikolonsepareret)'.",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ReadError(
            "tegnsaet", "CSV-filen er hverken UTF-8 eller Windows-1252. Gem den som 'CSV UTF-8'."
        ) from exc


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


def _filled_width(fields: list[str]) -> int:
    """The number of fields up to the last one that is not empty."""
    for i in range(len(fields), 0, -1):
        if fields[i - 1].strip():
            return i
    return 0


_DECIMAL_SPLIT = re.compile(r"^\s*-?\d+\s*$")


def _shape_note(file: str, row: int, fields: list[str], width: int, delimiter: str) -> Problem:
    # Two neighbouring fields of digits in a comma-separated file: `86,5` unquoted.
    split = delimiter == "," and any(
        _DECIMAL_SPLIT.match(a) and _DECIMAL_SPLIT.match(b)
        for a, b in zip(fields, fields[1:], strict=False)
    )
    why = (
        " Det skyldes næsten altid et tal med decimalkomma (fx 86,5) i en "
        "kommasepareret fil uden anførselstegn om: kommaet deler tallet i to felter. "
        "Gem filen som 'CSV (semikolonsepareret)', eller sæt tallet i anførselstegn "
        '("86,5").'
        if split
        else " Et felt har fået et skilletegn for meget (et komma eller semikolon i en "
        "tekst uden anførselstegn). Sæt teksten i anførselstegn, eller fjern tegnet."
    )
    message = (
        f"Række {row} har {len(fields)} felter, men overskriften har {width}, så værdierne "
        f"ville havne under forkerte kolonner; rækken er ikke læst." + why
    )
    return Problem(
        file=file,
        sheet=None,
        cell=f"A{row}",
        column=None,
        row=row,
        rule="csv_felter",
        severity=ERROR,
        value=delimiter.join(fields),
        message=message,
    )


def _read_csv(file: str, data: bytes, preferred: str, limits: Limits) -> _Grid:
    if b"\x00" in data[:65_536] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ReadError(
            "ulaeselig", "Filen er ikke en tekstfil, selv om den hedder .csv. " + RULES["ulaeselig"]
        )
    text = _decode(data)
    bad = _MOJIBAKE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise ReadError(
            "tegnsaet",
            f"I linje {line} står '{bad.group()}', hvor der skulle "
            f"have stået et dansk bogstav. " + RULES["tegnsaet"],
        )
    header = _split_first_line(text)
    delimiter = (
        ";" if _count_outside_quotes(header, ";") >= _count_outside_quotes(header, ",") else ","
    )
    grid = _Grid(sheet=None, cells={})
    count = 0
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=False
    )
    # One record is one row, as a spreadsheet program shows the file, even when a quoted
    # field spans lines.
    # The header's fields: a row may not have more (CONTRACT §1). A row with fewer is
    # read with its missing trailing cells empty, as a hand-made file leaves off an empty
    # `Kommentar`; a missing value in the middle is then the validation's to name.
    width: int | None = None
    for line_no, fields in enumerate(reader, start=1):
        filled = _filled_width(fields)
        if width is None:
            if filled:
                width = len(fields)
        elif filled and len(fields) > width:
            # More fields than the header would put a value under another column (`86,5`
            # read as 86, the comment shifted into a nameless column): the row is named,
            # not read.
            grid.notes.append(_shape_note(file, line_no, fields, width, delimiter))
            continue
        row: dict[int, object] = {}
        for col, value in enumerate(fields):
            if value == "":
                continue
            _check_position(line_no, col + 1, limits)
            count += 1
            if count > limits.max_cells:
                raise ReadError(
                    "for_stor", f"Filen har over {limits.max_cells} felter. " + RULES["for_stor"]
                )
            row[col] = value
        if row:
            grid.cells[line_no] = row
    return grid
