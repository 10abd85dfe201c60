"""ods: a streaming parse of content.xml.

odfpy and pandas build the whole document in memory and lose the positions of repeated
rows and columns, so the XML is read here as a stream, one row at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kvartal.readers.grid import (
    EXCEL_MAX_COLUMNS,
    RULES,
    Limits,
    ReadError,
    _check_position,
    _choose,
    _Grid,
    _hidden_note,
    _norm_value,
    _percent_value,
    other_sheet,
)
from kvartal.readers.guards import (
    _ENCRYPTED,
    _first,
    _is_xml_part,
    _open_zip,
    _refuse_dtd,
    _scan,
)

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
                raise ReadError(
                    "ulaeselig", "Filen er ikke et regneark i .ods-format. " + RULES["ulaeselig"]
                )
        if "META-INF/manifest.xml" in names:

            def encrypted(buf: bytes, limit: int) -> None:
                if _first(_ENCRYPTED, buf, limit):
                    raise ReadError("krypteret")

            _scan(zf, "META-INF/manifest.xml", encrypted)
        if "content.xml" not in names:
            raise ReadError(
                "ulaeselig", "Filen mangler sit indhold (content.xml). " + RULES["ulaeselig"]
            )
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
                    repeat = min(
                        _int_attr(el, T_COLS_REP, 1), max(0, EXCEL_MAX_COLUMNS - len(column_styles))
                    )
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
                            column_styles[col_no] if col_no < len(column_styles) else None
                        )
                        value = (
                            _ods_value(cell, styles.is_percent(style))
                            if cell.tag == T_CELL
                            else None
                        )
                        has_formula = cell.get(T_FORMULA) is not None
                        if value is not None or has_formula:
                            last_row, last_col = first + rows_rep - 1, col_no + cols_rep
                            _check_position(last_row, last_col, limits)
                            real_cells += rows_rep * cols_rep
                            if real_cells > limits.max_cells:
                                raise ReadError(
                                    "for_stor",
                                    f"Filen har over "
                                    f"{limits.max_cells} celler. " + RULES["for_stor"],
                                )
                            # A number cell's text is what the program shows (`1.10`):
                            # the key columns count as that (CONTRACT §1).
                            shown = (
                                _ods_text(cell)
                                if cell.get(O_TYPE) in ("float", "currency")
                                and isinstance(value, (int, float))
                                and not isinstance(value, bool)
                                else ""
                            )
                            for r in range(first, first + rows_rep):
                                row_cells = current.cells.setdefault(r, {})
                                for c in range(col_no, col_no + cols_rep):
                                    row_cells[c] = value
                                    if has_formula:
                                        current.formulas.add((r, c))
                                    if shown:
                                        current.shown[(r, c)] = shown
                        span_c = _int_attr(cell, T_COLS_SPAN, 1)
                        span_r = _int_attr(cell, T_ROWS_SPAN, 1)
                        if (span_c > 1 or span_r > 1) and value is not None:
                            _check_position(first + span_r - 1, col_no + span_c, limits)
                            current.merges.append(
                                (first, col_no, first + span_r - 1, col_no + span_c - 1)
                            )
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
    for i, (name, hidden, other) in enumerate(tables):
        found = other_sheet(name, hidden, other.cells) if i != index else None
        if found is not None:
            grid.others.append(found)
    return grid
