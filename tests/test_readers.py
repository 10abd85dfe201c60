"""Reading the centres' files: exact cell positions, every format, and hostile files refused.

The fixtures in tests/data/readers/ are written by make_fixtures.py there; the layouts
asserted here are the ones that script writes.
"""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from kvartal import readers
from kvartal.readers import Limits, RawSheet, ReadError, column_letter, read_sheet
from kvartal.tables import sheet_frame

DATA = Path(__file__).parent / "data" / "readers"
MB = 1024 * 1024


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def rows_of(raw: RawSheet) -> dict[int, list[object]]:
    return {r.row: r.values for r in raw.rows}


# ---------------------------------------------------------------------------------------
# Building small workbooks in the test where that reads clearer


def workbook_bytes(build: Callable[[openpyxl.Workbook], None]) -> bytes:
    wb = openpyxl.Workbook()
    build(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


BASE_XLSX = workbook_bytes(lambda wb: setattr(wb.active, "title", "Tal"))


def rezip(data: bytes, patch: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, patch.pop(info.filename, src.read(info.filename)))
        for name, body in patch.items():
            dst.writestr(name, body)
    return out.getvalue()


def sheet_xml(cells: str, extra_before: str = "", extra_after: str = "", prolog: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        + prolog
        + '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + extra_before
        + f"<sheetData>{cells}</sheetData>"
        + extra_after
        + "</worksheet>"
    ).encode()


def xlsx_with_sheet(xml: bytes) -> bytes:
    return rezip(BASE_XLSX, {"xl/worksheets/sheet1.xml": xml})


# ---------------------------------------------------------------------------------------
# xlsx


def test_xlsx_header_row_after_two_empty_rows_and_exact_cells() -> None:
    raw = read_sheet("2009Q3/nord.xlsx", fixture("figures.xlsx"), "Tal")
    assert raw.file == "2009Q3/nord.xlsx"
    assert raw.sheet == "TAL"  # matched case-insensitively
    assert raw.header_row == 3
    assert raw.header == ["nr", " NØGLETAL ", "Kvartal", "Værdi.", "Kommentar", "Noter"]
    rows = rows_of(raw)
    assert list(rows) == [4, 5, 6, 7, 9]  # the empty row 8 is skipped, numbering is kept
    assert rows[4] == ["1.10", "deltagere", "2009Q3", 71, "<p>Godt i gang</p>", None]
    assert isinstance(rows[4][0], str)  # text stays text: 1.10 is not 1.1
    frame = sheet_frame(raw, "figures")
    assert frame.letters["Værdi"] == "D"
    assert frame.cell(5, "Værdi") == "D5"
    assert frame.cell(9, "Nr.") == "A9"


def test_xlsx_merged_nr_fills_every_row_of_the_range() -> None:
    rows = rows_of(read_sheet("f.xlsx", fixture("figures.xlsx"), "Tal"))
    assert [rows[r][0] for r in (5, 6, 7)] == ["3.4", "3.4", "3.4"]
    assert [rows[r][1] for r in (5, 6, 7)] == [
        "placeret",
        "placeret/løntilskud",
        "placeret/praktik",
    ]


def test_xlsx_formula_read_as_cached_value_with_one_note_per_cell() -> None:
    raw = read_sheet("f.xlsx", fixture("figures.xlsx"), "Tal")
    row7 = next(r for r in raw.rows if r.row == 7)
    assert row7.values[3] == 3
    assert row7.formulas == frozenset({3})
    notes = [n for n in raw.notes if n.rule == "formel"]
    assert len(notes) == 1
    note = notes[0]
    assert (note.file, note.sheet, note.cell, note.row, note.severity, note.value) == (
        "f.xlsx",
        "TAL",
        "D7",
        7,
        "advarsel",
        "3",
    )
    assert "formel" in note.message


def test_xlsx_types_percent_numeric_key_and_date() -> None:
    rows = rows_of(read_sheet("f.xlsx", fixture("figures.xlsx"), "Tal"))
    assert rows[9][0] == 1.1  # a numeric Nr. cell stays numeric; parse_text_key makes "1.1"
    assert rows[9][3] == pytest.approx(86)  # shown as 86 %, stored as 0.86
    assert rows[9][5] == date(2009, 9, 30)
    assert rows[6][3] == "2"  # a number typed as text stays text


def test_xlsx_hidden_sheet_is_not_the_first_sheet() -> None:
    raw = read_sheet("f.xlsx", fixture("figures.xlsx"), "Mål")
    assert raw.sheet == "Forside"
    assert raw.notes == []


def test_xlsx_hidden_sheet_chosen_by_name_is_read_with_a_warning() -> None:
    raw = read_sheet("f.xlsx", fixture("figures.xlsx"), "skjult")
    assert raw.sheet == "Skjult"
    assert [n.rule for n in raw.notes] == ["skjult_ark"]
    assert raw.notes[0].severity == "advarsel"


def test_xlsx_first_sheet_hidden_falls_back_to_first_visible() -> None:
    def build(wb: openpyxl.Workbook) -> None:
        wb.active.title = "Gammel"
        wb.active["A1"] = "Nr."
        wb.active.sheet_state = "hidden"
        ws = wb.create_sheet("Data")
        ws["B2"], ws["C2"] = "Nr.", "Værdi"
        ws["B3"], ws["C3"] = "1.1", 5
        wb.active = 1

    raw = read_sheet("t.xlsx", workbook_bytes(build), "Tal")
    assert raw.sheet == "Data"
    assert raw.header_row == 2
    assert raw.header == [None, "Nr.", "Værdi"]
    assert rows_of(raw) == {3: [None, "1.1", 5]}


def test_xlsm() -> None:
    raw = read_sheet("2009Q3/syd.xlsm", fixture("figures.xlsm"), "Tal")
    assert raw.sheet == "Tal"
    assert raw.header == ["Nr.", "Nøgletal", "Kvartal", "Værdi"]
    assert rows_of(raw) == {2: ["1.5", "henviste", "2009Q3", 52]}


def test_xlsx_merged_header_is_not_spread() -> None:
    def build(wb: openpyxl.Workbook) -> None:
        ws = wb.active
        ws.title = "Tal"
        ws["A1"], ws["C1"] = "Nr.", "Værdi"
        ws.merge_cells("A1:B1")
        ws["A2"], ws["C2"] = "1.1", 3

    raw = read_sheet("m.xlsx", workbook_bytes(build), "Tal")
    assert raw.header == ["Nr.", None, "Værdi"]


def test_xlsx_formula_without_cached_value_is_noted() -> None:
    def build(wb: openpyxl.Workbook) -> None:
        ws = wb.active
        ws.title = "Tal"
        ws.append(["Nr.", "Værdi"])
        ws.append(["1.1", "=1+1"])

    raw = read_sheet("m.xlsx", workbook_bytes(build), "Tal")
    assert rows_of(raw) == {2: ["1.1", None]}
    assert raw.rows[0].formulas == frozenset({1})
    assert [(n.rule, n.cell, n.value, n.severity) for n in raw.notes] == [
        ("formel_uden_vaerdi", "B2", None, "fejl")
    ]
    assert "uden gemt værdi" in raw.notes[0].message


def test_empty_sheet_and_empty_file() -> None:
    with pytest.raises(ReadError) as info:
        read_sheet("tom.xlsx", BASE_XLSX, "Tal")
    assert info.value.rule == "tom_fil"
    for name in ("tom.xlsx", "tom.csv", "tom.ods"):
        with pytest.raises(ReadError) as info:
            read_sheet(name, b"", "Tal")
        assert info.value.rule == "tom_fil"
    with pytest.raises(ReadError) as info:
        read_sheet("tom.csv", b";;\r\n  ;\r\n", "Tal")
    assert info.value.rule == "tom_fil"


def test_defusedxml_is_in_use() -> None:
    assert openpyxl.DEFUSEDXML is True


# ---------------------------------------------------------------------------------------
# ods


def test_ods_keeps_positions_through_repeated_rows_and_columns() -> None:
    raw = read_sheet("2009Q3/vest.ods", fixture("figures.ods"), "Tal")
    assert raw.sheet == "Data"  # "Skjult" comes first but is hidden
    assert raw.header_row == 3  # two repeated empty rows above
    assert raw.header == ["Nr.", "Nøgletal", None, None, "Kvartal", "Værdi", "Kommentar"]
    rows = rows_of(raw)
    assert list(rows) == [4, 5, 9]  # three repeated empty rows between 5 and 9
    assert rows[4] == ["1.10", "deltagere", None, None, "2009Q3", 71, "Linje 1\na  b"]
    assert rows[5][0] == "1.10"  # merged over rows 4-5
    assert rows[5][1] == "henviste"
    frame = sheet_frame(raw, "figures")
    assert frame.letters["Værdi"] == "F"
    assert frame.cell(5, "Værdi") == "F5"


def test_ods_value_types() -> None:
    rows = rows_of(read_sheet("v.ods", fixture("figures.ods"), "Tal"))
    assert rows[9] == [1.1, "aktiverede", 7, 7, date(2009, 9, 30), pytest.approx(86), True]


def test_ods_formula_and_hidden_sheet_notes() -> None:
    raw = read_sheet("v.ods", fixture("figures.ods"), "Tal")
    assert [(n.rule, n.cell, n.value) for n in raw.notes] == [("formel", "F5", "142")]
    assert next(r for r in raw.rows if r.row == 5).formulas == frozenset({5})
    hidden = read_sheet("v.ods", fixture("figures.ods"), "SKJULT")
    assert hidden.sheet == "Skjult"
    assert [n.rule for n in hidden.notes] == ["skjult_ark"]


# ---------------------------------------------------------------------------------------
# csv


@pytest.mark.parametrize(
    "name", ["utf8_semicolon.csv", "utf8_bom_comma.csv", "cp1252_semicolon.csv"]
)
def test_csv_encodings_and_separators(name: str) -> None:
    raw = read_sheet(f"2009Q3/{name}", fixture(name), "Tal")
    assert raw.sheet is None
    assert raw.header_row == 1
    assert raw.header == ["Nr.", "Nøgletal", "Kvartal", "Værdi", "Kommentar"]
    assert rows_of(raw) == {
        2: ["1.4", "deltagere", "2009Q3", "1.400", "Målgruppen er nået; flere på vej"],
        4: ["1.1", "aktiverede", "2009Q3", "86 pct.", None],
    }
    assert raw.notes == []


def test_csv_values_stay_text_and_header_row_is_first_non_empty() -> None:
    data = "\r\n;;\r\nNr.;Værdi;Nævner\r\n1.10;0012;\r\n".encode()
    raw = read_sheet("c.csv", data, "Tal")
    assert raw.header_row == 3
    assert rows_of(raw) == {4: ["1.10", "0012", None]}
    assert sheet_frame(raw, "figures").cell(4, "Værdi") == "B4"


def test_csv_comma_sniffed_with_semicolons_inside_quotes() -> None:
    data = b'Nr.,Kommentar\n1.1,"a; b; c"\n'
    raw = read_sheet("c.csv", data, "Tal")
    assert raw.header == ["Nr.", "Kommentar"]
    assert rows_of(raw) == {2: ["1.1", "a; b; c"]}


def test_csv_quoted_newline_stays_in_one_row() -> None:
    data = b'Nr.;Kommentar\n1.1;"linje 1\nlinje 2"\n1.2;x\n'
    assert rows_of(read_sheet("c.csv", data, "Tal")) == {
        2: ["1.1", "linje 1\nlinje 2"],
        3: ["1.2", "x"],
    }


# ---------------------------------------------------------------------------------------
# Hostile files: refused with their rule, fast and in little memory


def refused(name: str, data: bytes, limits: Limits | None = None) -> ReadError:
    """Read a hostile file twice: timed, then with memory traced."""
    start = time.perf_counter()
    with pytest.raises(ReadError) as first:
        read_sheet(name, data, "Tal", limits)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"{name}: refused after {elapsed:.2f} s"
    tracemalloc.start()
    try:
        with pytest.raises(ReadError):
            read_sheet(name, data, "Tal", limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the input itself is already in memory; what reading adds is measured
    assert peak < 50 * MB, f"{name}: peak {peak / MB:.1f} MB"
    assert first.value.message and first.value.message == str(first.value)
    return first.value


def _patch_declared_size(data: bytes, name: bytes, size: int) -> bytes:
    out = bytearray(data)
    pos = 0
    while True:
        pos = out.find(b"PK\x01\x02", pos)
        assert pos >= 0, "entry not found"
        name_len = struct.unpack_from("<H", out, pos + 28)[0]
        if bytes(out[pos + 46 : pos + 46 + name_len]) == name:
            struct.pack_into("<I", out, pos + 24, size)
            return bytes(out)
        pos += 4


def test_zip_bomb_declared_size() -> None:
    data = _patch_declared_size(
        xlsx_with_sheet(sheet_xml('<row r="1"><c r="A1"><v>1</v></c></row>')),
        b"xl/worksheets/sheet1.xml",
        3_000_000_000,
    )
    error = refused("bomb.xlsx", data)
    assert error.rule == "for_stor"


def test_zip_bomb_absurd_ratio() -> None:
    body = sheet_xml('<row r="1"><c r="A1"><v>1</v></c></row>' + " " * (30 * MB))
    data = xlsx_with_sheet(body)
    assert len(data) < 200_000
    assert refused("ratio.xlsx", data).rule == "for_stor"


def test_zip_bomb_declared_total_over_limit() -> None:
    data = xlsx_with_sheet(sheet_xml('<row r="1"><c r="A1"><v>1</v></c></row>'))
    assert refused("x.xlsx", data, Limits(max_uncompressed=2000)).rule == "for_stor"


BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>'
)


def test_billion_laughs_in_sheet_xml() -> None:
    xml = sheet_xml(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>', prolog=BILLION_LAUGHS
    )
    assert refused("lol.xlsx", xlsx_with_sheet(xml)).rule == "dtd"


def test_entity_in_any_xml_part() -> None:
    workbook = zipfile.ZipFile(io.BytesIO(BASE_XLSX)).read("xl/workbook.xml")
    assert b"<!" not in workbook
    evil = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + workbook
    assert refused("x.xlsx", rezip(BASE_XLSX, {"xl/workbook.xml": evil})).rule == "dtd"


def test_dtd_in_ods_content() -> None:
    content = (DATA / "figures.ods").read_bytes()
    xml = zipfile.ZipFile(io.BytesIO(content)).read("content.xml")
    evil = xml.replace(b"?>", b"?>" + BILLION_LAUGHS.encode(), 1)
    assert refused("x.ods", rezip(content, {"content.xml": evil})).rule == "dtd"


@pytest.mark.parametrize("ref", ["XFD1048576", "XFE1", "A1048577", "A99999999999", "ZZZZZZZZ1"])
def test_cell_at_or_beyond_the_edge(ref: str) -> None:
    xml = sheet_xml(
        f'<row r="1"><c r="A1" t="inlineStr"><is><t>Nr.</t></is></c>'
        f'<c r="{ref}"><v>1</v></c></row>',
        extra_before='<dimension ref="A1"/>',
    )
    error = refused("edge.xlsx", xlsx_with_sheet(xml))
    assert error.rule == "uden_for_arket"


def test_cell_beyond_excel_says_so() -> None:
    xml = sheet_xml('<row r="1"><c r="XFE1"><v>1</v></c></row>')
    error = refused("edge.xlsx", xlsx_with_sheet(xml))
    assert "Excels grænser" in error.message


def test_row_beyond_excel() -> None:
    xml = sheet_xml('<row r="1048577"><c><v>1</v></c></row>')
    assert refused("edge.xlsx", xlsx_with_sheet(xml)).rule == "uden_for_arket"


def test_merge_over_the_whole_sheet() -> None:
    xml = sheet_xml(
        '<row r="1"><c r="A1"><v>1</v></c></row>',
        extra_after='<mergeCells count="1"><mergeCell ref="A2:XFD1048576"/></mergeCells>',
    )
    assert refused("merge.xlsx", xlsx_with_sheet(xml)).rule == "uden_for_arket"


def test_300k_cells_refused_whatever_the_dimension_says() -> None:
    rows = "".join(
        f'<row r="{r}">'
        + "".join(f'<c r="{column_letter(c)}{r}"><v>1</v></c>' for c in range(100))
        + "</row>"
        for r in range(1, 3001)
    )
    data = xlsx_with_sheet(sheet_xml(rows, extra_before='<dimension ref="A1:B2"/>'))
    error = refused("many.xlsx", data)
    assert error.rule == "for_stor"
    assert "200000" in error.message


def test_cells_counted_with_a_namespace_prefix() -> None:
    cells = "".join(f'<x:c r="A{r}"><x:v>1</x:v></x:c>' for r in range(1, 21))
    xml = (
        b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + f'<x:sheetData><x:row r="1">{cells}</x:row></x:sheetData></x:worksheet>'.encode()
    )
    assert refused("p.xlsx", xlsx_with_sheet(xml), Limits(max_cells=10)).rule == "for_stor"


def test_cells_without_references_are_placed_and_bounded() -> None:
    ok = sheet_xml(
        '<row r="3"><c t="inlineStr"><is><t>Nr.</t></is></c><c t="inlineStr">'
        '<is><t>Værdi</t></is></c></row><row><c t="inlineStr"><is><t>1.1</t></is>'
        "</c><c><v>5</v></c></row>"
    )
    raw = read_sheet("r.xlsx", xlsx_with_sheet(ok), "Tal")
    assert (raw.header_row, raw.header, rows_of(raw)) == (3, ["Nr.", "Værdi"], {4: ["1.1", 5]})
    wide = sheet_xml('<row r="1">' + "<c><v>1</v></c>" * 1500 + "</row>")
    assert refused("w.xlsx", xlsx_with_sheet(wide)).rule == "uden_for_arket"


def test_too_many_shared_strings() -> None:
    sst = (
        '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main">' + "<si><t>x</t></si>" * 300_000 + "</sst>"
    )
    data = rezip(
        xlsx_with_sheet(sheet_xml('<row r="1"><c r="A1"><v>1</v></c></row>')),
        {"xl/sharedStrings.xml": sst.encode()},
    )
    assert refused("sst.xlsx", data).rule == "for_stor"


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def test_encrypted_workbook() -> None:
    error = refused("2009Q3/hemmelig.xlsx", OLE)
    assert error.rule == "krypteret"
    assert "adgangskode" in error.message
    with_stream = OLE + "EncryptionInfo".encode("utf-16-le") + "Workbook".encode("utf-16-le")
    assert refused("h.xlsm", with_stream).rule == "krypteret"


def test_old_xls_renamed() -> None:
    error = refused("gammel.xlsx", OLE + "Workbook".encode("utf-16-le"))
    assert error.rule == "ulaeselig"
    assert ".xls" in error.message


def test_encrypted_zip_entry_and_encrypted_ods() -> None:
    data = bytearray(BASE_XLSX)
    pos = data.find(b"PK\x01\x02")
    data[pos + 8] |= 0x1  # general purpose flag: encrypted
    assert refused("z.xlsx", bytes(data)).rule == "krypteret"
    ods = fixture("figures.ods")
    manifest = (
        zipfile.ZipFile(io.BytesIO(ods))
        .read("META-INF/manifest.xml")
        .replace(
            b'manifest:media-type="text/xml"/>',
            b'manifest:media-type="text/xml"><manifest:encryption-data/></manifest:file-entry>',
        )
    )
    assert refused("e.ods", rezip(ods, {"META-INF/manifest.xml": manifest})).rule == "krypteret"


@pytest.mark.parametrize(
    "data", [b"Nr.;V\xc3\xa6rdi\r\n1;2\r\n", b"PK\x03\x04garbage", b"\x00" * 100]
)
def test_non_zip_xlsx(data: bytes) -> None:
    assert refused("ikke.xlsx", data).rule == "ulaeselig"


def test_zip_without_a_workbook() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hej")
    assert refused("tom.xlsx", buf.getvalue()).rule == "ulaeselig"
    assert refused("tom.ods", buf.getvalue()).rule == "ulaeselig"


def test_broken_workbook_xml_is_unreadable_not_fatal() -> None:
    data = rezip(BASE_XLSX, {"xl/workbook.xml": b"<workbook><sheets><sheet"})
    assert refused("broken.xlsx", data).rule == "ulaeselig"


def test_mojibake_csv() -> None:
    error = refused("2009Q3/mojibake.csv", fixture("mojibake.csv"))
    assert error.rule == "tegnsaet"
    assert "MÃ¥l" in error.message
    # the same mistake saved as Windows-1252 gives back the original UTF-8, read as such
    repaired = "Nr.;NÃ¸gletal\r\n1;2\r\n".encode("cp1252")
    assert read_sheet("m.csv", repaired, "Tal").header == ["Nr.", "Nøgletal"]
    # saved twice over: still refused
    twice = "Nøgletal".encode().decode("cp1252").encode().decode("cp1252")
    assert refused("m2.csv", f"Nr.;{twice}\r\n".encode()).rule == "tegnsaet"


def test_csv_utf16_and_binary() -> None:
    assert refused("u.csv", "Nr.;Værdi\r\n".encode("utf-16")).rule == "tegnsaet"
    assert refused("b.csv", b"\x00\x01\x02 binary").rule == "ulaeselig"


def test_ods_repeated_cells_cannot_exhaust_memory() -> None:
    row = (
        '<table:table-row table:number-rows-repeated="5000"><table:table-cell '
        'table:number-columns-repeated="100" office:value-type="float" office:value="1"/>'
        "</table:table-row>"
    )
    far = (
        '<table:table-row><table:table-cell table:number-columns-repeated="100000000" '
        'office:value-type="float" office:value="1"/></table:table-row>'
    )
    for body, rule in ((row, "for_stor"), (far, "uden_for_arket")):
        content = (
            '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
            'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
            'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body>'
            '<office:spreadsheet><table:table table:name="Tal">'
            + body
            + "</table:table></office:spreadsheet></office:body></office:document-content>"
        )
        data = rezip(fixture("figures.ods"), {"content.xml": content.encode()})
        assert refused("r.ods", data).rule == rule


def test_size_and_entry_limits() -> None:
    assert refused("big.csv", b"Nr.\r\n" * 100, Limits(max_bytes=100)).rule == "for_stor"
    assert refused("n.xlsx", BASE_XLSX, Limits(max_entries=3)).rule == "for_stor"
    many = "Nr.;Værdi\r\n" + "1;2\r\n" * 20
    assert refused("n.csv", many.encode(), Limits(max_cells=10)).rule == "for_stor"


def test_unknown_extension() -> None:
    error = refused("tal.xls", OLE)
    assert error.rule == "ulaeselig"
    assert ".xlsx" in error.message


@pytest.mark.parametrize(
    ("exc", "rule"),
    [(MemoryError, "for_stor"), (RecursionError, "ulaeselig"), (KeyError, "ulaeselig")],
)
def test_any_parser_failure_becomes_read_error(
    monkeypatch: pytest.MonkeyPatch, exc: type[BaseException], rule: str
) -> None:
    def boom(*_args: object) -> None:
        raise exc("boom")

    monkeypatch.setattr(readers, "_read_csv", boom)
    with pytest.raises(ReadError) as info:
        read_sheet("x.csv", b"Nr.\r\n1\r\n", "Tal")
    assert info.value.rule == rule


def test_rules_are_listed_with_messages() -> None:
    for rule in (
        "ulaeselig",
        "krypteret",
        "for_stor",
        "dtd",
        "uden_for_arket",
        "tegnsaet",
        "formel",
        "skjult_ark",
        "tom_fil",
    ):
        assert readers.RULES[rule]
        assert f"`{rule}`" in (readers.__doc__ or "")


def test_read_error_pickles() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(ReadError("dtd")))
    assert (error.rule, error.message) == ("dtd", readers.RULES["dtd"])


def test_readers_are_a_package_and_openpyxl_is_pinned_to_its_minor_version() -> None:
    """The xlsx reader uses openpyxl internals, so a minor release must not arrive unasked."""
    import importlib
    import importlib.metadata
    import tomllib

    for module in ("guards", "grid", "xlsx", "ods", "csv"):
        importlib.import_module(f"kvartal.readers.{module}")
    root = Path(__file__).resolve().parent.parent
    with open(root / "pyproject.toml", "rb") as f:
        dependencies = tomllib.load(f)["project"]["dependencies"]
    (pin,) = [d for d in dependencies if d.startswith("openpyxl")]
    assert pin.replace(" ", "") == "openpyxl>=3.1.5,<3.2"
    assert importlib.metadata.version("openpyxl").startswith("3.1.")
