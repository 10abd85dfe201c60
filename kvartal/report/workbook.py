"""report.xlsx: the report's table as a workbook, one row per target.

Recipients sort, filter and sum this sheet, so numbers are stored as numbers (ratios with a
percent format) and dates as dates. Text comes from the centres' spreadsheets and is never
allowed to become a formula: a comment such as `=HYPERLINK(...)` would otherwise run in the
reader's spreadsheet program. Every string cell is forced to the string type after it is set.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from kvartal.report import danish, view
from kvartal.report.sanitize import comment_text

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    from kvartal.report import ReportInput

# (header, width, number format)
COLUMNS: list[tuple[str, float, str | None]] = [
    ("Nr.", 7, None),
    ("Indsats", 32, None),
    ("Mål-id", 10, None),
    ("Målbeskrivelse", 48, None),
    ("Enhed", 9, None),
    ("Retning", 9, None),
    ("Mål", 11, None),
    ("Mål maks.", 11, None),
    ("Fra", 9, None),
    ("Til", 9, None),
    ("Forløbne kvartaler", 11, "0"),
    ("Faktisk", 11, None),
    ("Forventet til dato", 12, None),
    ("Opfyldelse", 11, "0%"),
    ("Tempo", 9, "0%"),
    ("Prognose", 11, None),
    ("Status", 12, None),
    ("Frist", 11, "d.m.yyyy"),
    ("Nået", 11, "d.m.yyyy"),
    ("Kommentar", 60, None),
    ("Måltype", 12, None),
    ("Indsatsområde", 28, None),
    ("Aftale", 26, None),
]
NOTE_COLUMNS: list[tuple[str, float]] = [
    ("Type", 20),
    ("Fil", 30),
    ("Ark", 12),
    ("Celle", 8),
    ("Regel", 22),
    ("Besked", 60),
    ("Begrundelse", 40),
    ("Godkendt af", 20),
]
WRAPPED = {"Indsats", "Målbeskrivelse", "Kommentar", "Besked", "Begrundelse"}


def put(ws: Worksheet, row: int, col: int, value: Any, number_format: str | None = None) -> None:
    """Set one cell; strings are always strings, whatever character they start with."""
    cell = ws.cell(row=row, column=col)
    if isinstance(value, float):
        value = round(value, 4)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # '=SUM(A1)' stays text: never a formula
    elif number_format and value is not None:
        cell.number_format = number_format


def _header(ws: Worksheet, names: list[tuple[str, float]]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="E8E8E8")
    for i, (name, width) in enumerate(names, start=1):
        put(ws, 1, i, name)
        c = ws.cell(row=1, column=i)
        c.font, c.fill = bold, fill
        c.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(names))}1"


def _reached(value: date | bool | None) -> date | str | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if value is True:
        return "ja"
    if value is False:
        return "nej"
    return None


def report_xlsx(ri: ReportInput) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    page = view.build(ri)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = f"Status {ri.quarter}"
    _header(ws, [(name, width) for name, width, _ in COLUMNS])
    formats = [fmt for _, _, fmt in COLUMNS]
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")

    row = 2
    for a in page.agreements:
        for th in a.themes:
            for ini in th.initiatives:
                comment = "\n\n".join(comment_text(c) for c in ini.raw_comments)
                for tv in ini.targets:
                    r, t = tv.result, tv.target
                    values = [
                        ini.number,
                        ini.title,
                        r.target_id,
                        tv.description,
                        r.unit,
                        r.direction,
                        r.target,
                        r.target_max,
                        str(r.window[0]),
                        str(r.window[1]),
                        r.elapsed,
                        r.actual,
                        r.expected_to_date,
                        r.fulfilment,
                        r.pace,
                        r.forecast,
                        danish.status_word(r.status),
                        r.due,
                        _reached(r.reached),
                        comment or None,
                        t.kind if t else None,
                        th.name,
                        a.name,
                    ]
                    for col, (value, fmt) in enumerate(zip(values, formats, strict=True), 1):
                        put(ws, row, col, value, fmt)
                        name = COLUMNS[col - 1][0]
                        ws.cell(row=row, column=col).alignment = wrap if name in WRAPPED else top
                    row += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{max(row - 1, 1)}"

    notes = wb.create_sheet("Noter")
    _header(notes, NOTE_COLUMNS)
    n = 2
    for p in ri.warnings:
        for col, value in enumerate(
            ["Advarsel", p.file, p.sheet, p.cell, p.rule, p.message, None, None], 1
        ):
            put(notes, n, col, value)
        n += 1
    for p, w in ri.waivers:
        for col, value in enumerate(
            [
                "Godkendt afvigelse",
                p.file,
                p.sheet,
                p.cell,
                p.rule,
                p.message,
                w.reason,
                w.approved_by,
            ],
            1,
        ):
            put(notes, n, col, value)
        n += 1
    for line in notes.iter_rows(min_row=2):
        for c in line:
            c.alignment = wrap

    wb.properties.title = page.title
    wb.properties.language = "da-DK"
    wb.properties.creator = "kvartal"
    return _save_repeatably(wb, datetime.combine(ri.updated, time()))


def _save_repeatably(wb: Workbook, moment: datetime) -> bytes:
    """The same workbook gives the same bytes, whenever it is saved.

    openpyxl stamps the wall clock into `docProps/core.xml` (created, modified) and into
    every zip entry; a re-run after an interrupted publication must render exactly the
    bytes the first attempt wrote. So the stamps are the report's own date, and the
    archive is written entry by entry with that date.
    """
    from openpyxl.writer.excel import ExcelWriter

    wb.properties.created = wb.properties.modified = moment
    raw = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()
    stamp = (
        max(moment.year, 1980),
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
    )
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()
