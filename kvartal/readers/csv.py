"""csv: UTF-8 (with or without BOM) or Windows-1252, separated by `;` or `,`.

Values stay text: the Danish number rules apply to them later, in one place.
"""

from __future__ import annotations

import codecs
import csv
import io
import re

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
    for line_no, fields in enumerate(reader, start=1):
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
