"""xlsx / xlsm: openpyxl in read-only mode, with the saved values of formulas.

openpyxl hides formulas when asked for saved values and gives no number formats in
read-only mode, so this uses two of its internals (`WorkSheetParser`, the workbook's style
tables); the openpyxl minor version is pinned in pyproject.toml for that reason.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kvartal.readers.grid import (
    OTHER_SHEET_ROWS,
    Limits,
    ReadError,
    _check_position,
    _choose,
    _column_index,
    _Grid,
    _hidden_note,
    _norm_value,
    _percent_value,
    other_sheet,
)
from kvartal.readers.guards import (
    _A1,
    _guard_xlsx,
    _open_zip,
)

# ----------------------------------------------------------------------------------------
# xlsx / xlsm (openpyxl, read-only, cached formula values)


def _percent_format(fmt: str) -> bool:
    bare = re.sub(r'"[^"]*"|\\.', "", fmt)
    return "%" in bare


_FIXED = re.compile(r"^(?:#,##)?(#*0+)(?:\.(0+))?$")


def shown_number(value: float, fmt: str) -> str | None:
    """The text Excel shows for a number under a fixed-decimals format (`0`, `0.00`,
    `#,##0.0`), with `.` for the decimal point; None for any other format."""
    first = fmt.split(";", 1)[0]
    bare = re.sub(r"\[[^\]]*\]", "", first).strip()  # colours and locales: [Red], [$-406]
    m = _FIXED.match(bare)
    if m is None:
        return None
    if bare.startswith("#,##") and abs(value) >= 1000:
        return None  # grouped: 1.400 shown for 1400 is no plain key
    return f"{value:.{len(m.group(2) or '')}f}"


def _read_xlsx(file: str, data: bytes, preferred: str, limits: Limits) -> _Grid:
    import openpyxl
    from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    if not openpyxl.DEFUSEDXML:  # pragma: no cover - the dependency is pinned
        raise ReadError(
            "ulaeselig", "Regnearkslæseren er installeret uden defusedxml; kontakt driften."
        )
    ext = file.rsplit(".", 1)[-1].lower()
    zf = _open_zip(data, ext, limits)
    with zf:
        _guard_xlsx(zf, limits)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )
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

        class _Parser(WorkSheetParser):  # type: ignore[misc]  # openpyxl is untyped
            """openpyxl's parser hides formulas when data_only; note where they were."""

            def parse_cell(self, element: Any) -> dict[str, Any]:
                cell: dict[str, Any] = super().parse_cell(element)
                if element.find(FORMULA_TAG) is not None:
                    formulas.add((cell["row"], cell["column"] - 1))
                return cell

        cell_styles = wb._cell_styles
        number_formats = wb._number_formats

        def number_format(style_id: int) -> str:
            if not style_id or style_id >= len(cell_styles):
                return "General"
            fmt_id = cell_styles[style_id].numFmtId
            if fmt_id < BUILTIN_FORMATS_MAX_SIZE:
                return str(BUILTIN_FORMATS.get(fmt_id, "General"))
            idx = fmt_id - BUILTIN_FORMATS_MAX_SIZE
            return str(number_formats[idx]) if 0 <= idx < len(number_formats) else "General"

        def is_percent(style_id: int) -> bool:
            return _percent_format(number_format(style_id))

        with _parsing(ws, wb, _Parser) as parser:
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
                    if (
                        c["data_type"] == "n"
                        and isinstance(value, (int, float))
                        and not isinstance(value, bool)
                        and is_percent(c["style_id"])
                    ):
                        value = _percent_value(value)
                    elif (
                        c["data_type"] == "n"
                        and isinstance(value, (int, float))
                        and not isinstance(value, bool)
                    ):
                        fmt = number_format(c["style_id"])
                        if fmt.strip().lower() not in ("general", "@"):
                            grid.shown[(r, col - 1)] = shown_number(value, fmt)
                    grid.cells.setdefault(r, {})[col - 1] = _norm_value(value)
            merged = parser.merged_cells
        if merged is not None:
            for mc in merged.mergeCell:
                bounds = _range_bounds(str(mc.ref))
                if bounds:
                    grid.merges.append(bounds)
        for i, other in enumerate(sheets):
            if i == index:
                continue
            found = other_sheet(other.title, hidden[i], _first_rows(other, wb, WorkSheetParser))
            if found is not None:
                grid.others.append(found)
        return grid
    finally:
        wb.close()


@contextmanager
def _parsing(ws: Any, wb: Any, parser_type: Any) -> Iterator[Any]:
    """openpyxl's worksheet parser over a sheet's XML, with saved values (not formulas) and
    the workbook's date system, its warnings about unknown extensions silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ws._get_source() as src:
            yield parser_type(
                src,
                ws._shared_strings,
                data_only=True,
                epoch=wb.epoch,
                date_formats=wb._date_formats,
                timedelta_formats=wb._timedelta_formats,
            )


def _first_rows(ws: Any, wb: Any, parser_type: Any) -> dict[int, dict[int, object]]:
    """The first non-empty rows of a sheet that is not read (saved values, no styles).

    The parse stops as soon as enough rows are found, so a workbook's other sheets cost
    a few rows each, however long they are; the zip guards have already bounded the rest.
    """
    cells: dict[int, dict[int, object]] = {}
    with _parsing(ws, wb, parser_type) as parser:
        for _row_idx, row_cells in parser.parse():
            for c in row_cells:
                value = _norm_value(c["value"])
                if value is not None and not (isinstance(value, str) and not value.strip()):
                    cells.setdefault(int(c["row"]), {})[int(c["column"]) - 1] = value
            if len(cells) >= OTHER_SHEET_ROWS:
                break
    return cells


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
