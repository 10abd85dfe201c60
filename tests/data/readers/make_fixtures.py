"""Writes the small reader fixtures next to this script.

Run it again only to change a fixture (`python tests/data/readers/make_fixtures.py`); the
written files are committed so the tests do not depend on the writer. The cell layout each
file has is described in tests/test_readers.py, where it is asserted.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent


def _rezip(data: bytes, patch: dict[str, bytes | None]) -> bytes:
    """Rewrite a zip, replacing (or with None, dropping) the named entries."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = patch.get(info.filename, src.read(info.filename))
            if body is not None:
                dst.writestr(info.filename, body)
    return out.getvalue()


def figures_workbook() -> bytes:
    """Sheets: Forside (visible, first), Skjult (hidden), TAL (the figures, header row 3)."""
    wb = openpyxl.Workbook()
    front = wb.active
    front.title = "Forside"
    front["A1"] = "Afrapportering 2009Q3"
    hidden = wb.create_sheet("Skjult")
    hidden.sheet_state = "hidden"
    hidden["A1"] = "hemmelig"
    ws = wb.create_sheet("TAL")
    ws["A3"], ws["B3"], ws["C3"], ws["D3"] = "nr", " NØGLETAL ", "Kvartal", "Værdi."
    ws["E3"], ws["F3"] = "Kommentar", "Noter"
    ws["A4"], ws["B4"], ws["C4"], ws["D4"] = "1.10", "deltagere", "2009Q3", 71
    ws["E4"] = "<p>Godt i gang</p>"
    ws["A5"], ws["B5"], ws["C5"], ws["D5"] = "3.4", "placeret", "2009K3", 14
    ws["B6"], ws["C6"], ws["D6"] = "placeret/løntilskud", "2009Q3", "2"
    ws["B7"], ws["C7"], ws["D7"] = "placeret/praktik", "2009Q3", "=D6+1"
    ws.merge_cells("A5:A7")
    # row 8 left empty on purpose
    ws["A9"], ws["B9"], ws["C9"], ws["D9"] = 1.1, "aktiverede", "Q3 2009", 0.86
    ws["D9"].number_format = "0%"
    ws["F9"] = date(2009, 9, 30)
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    # openpyxl writes no cached value for a formula; give D7 the one Excel would have saved.
    z = zipfile.ZipFile(io.BytesIO(data))
    names = {n for n in z.namelist() if n.startswith("xl/worksheets/")}
    sheet = next(n for n in sorted(names) if b"D6+1" in z.read(n))
    xml = z.read(sheet).replace(b"<f>D6+1</f><v />", b"<f>D6+1</f><v>3</v>")
    assert b"<v>3</v>" in xml
    return _rezip(data, {sheet: xml})


def macro_workbook() -> bytes:
    """Sheet Tal, header row 1; the package declares itself macro-enabled as .xlsm does."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Tal"
    ws.append(["Nr.", "Nøgletal", "Kvartal", "Værdi"])
    ws.append(["1.5", "henviste", "2009Q3", 52])
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    types = zipfile.ZipFile(io.BytesIO(data)).read("[Content_Types].xml")
    types = types.replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    return _rezip(data, {"[Content_Types].xml": types})


ODS_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content
 xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" office:version="1.2">
 <office:automatic-styles>
  <style:style style:name="ta1" style:family="table">
   <style:table-properties table:display="true"/></style:style>
  <style:style style:name="ta2" style:family="table">
   <style:table-properties table:display="false"/></style:style>
 </office:automatic-styles>
 <office:body><office:spreadsheet>
  <table:table table:name="Skjult" table:style-name="ta2">
   <table:table-row><table:table-cell office:value-type="string"><text:p>x</text:p>
   </table:table-cell></table:table-row>
  </table:table>
  <table:table table:name="Data" table:style-name="ta1">
   <table:table-column table:number-columns-repeated="16384"/>
   <table:table-row table:number-rows-repeated="2">
    <table:table-cell table:number-columns-repeated="16384"/></table:table-row>
   <table:table-row>
    <table:table-cell office:value-type="string"><text:p>Nr.</text:p></table:table-cell>
    <table:table-cell office:value-type="string"><text:p>Nøgletal</text:p></table:table-cell>
    <table:table-cell table:number-columns-repeated="2"/>
    <table:table-cell office:value-type="string"><text:p>Kvartal</text:p></table:table-cell>
    <table:table-cell office:value-type="string"><text:p>Værdi</text:p></table:table-cell>
    <table:table-cell office:value-type="string"><text:p>Kommentar</text:p></table:table-cell>
    <table:table-cell table:number-columns-repeated="16377"/>
   </table:table-row>
   <table:table-row>
    <table:table-cell office:value-type="string" table:number-rows-spanned="2">
     <text:p>1.10</text:p></table:table-cell>
    <table:table-cell office:value-type="string"><text:p>deltagere</text:p></table:table-cell>
    <table:table-cell table:number-columns-repeated="2"/>
    <table:table-cell office:value-type="string"><text:p>2009Q3</text:p></table:table-cell>
    <table:table-cell office:value-type="float" office:value="71">
     <text:p>71</text:p></table:table-cell>
    <table:table-cell office:value-type="string">
     <text:p>Linje 1</text:p><text:p>a<text:s text:c="2"/>b</text:p></table:table-cell>
   </table:table-row>
   <table:table-row>
    <table:covered-table-cell/>
    <table:table-cell office:value-type="string"><text:p>henviste</text:p></table:table-cell>
    <table:table-cell table:number-columns-repeated="2"/>
    <table:table-cell office:value-type="string"><text:p>2009Q3</text:p></table:table-cell>
    <table:table-cell table:formula="of:=[.F4]*2" office:value-type="float" office:value="142">
     <text:p>142</text:p></table:table-cell>
   </table:table-row>
   <table:table-row table:number-rows-repeated="3">
    <table:table-cell table:number-columns-repeated="16384"/></table:table-row>
   <table:table-row>
    <table:table-cell office:value-type="float" office:value="1.1">
     <text:p>1,1</text:p></table:table-cell>
    <table:table-cell office:value-type="string"><text:p>aktiverede</text:p></table:table-cell>
    <table:table-cell table:number-columns-repeated="2" office:value-type="float" office:value="7">
     <text:p>7</text:p></table:table-cell>
    <table:table-cell office:value-type="date" office:date-value="2009-09-30">
     <text:p>30-09-09</text:p></table:table-cell>
    <table:table-cell office:value-type="percentage" office:value="0.86">
     <text:p>86 %</text:p></table:table-cell>
    <table:table-cell office:value-type="boolean" office:boolean-value="true">
     <text:p>SAND</text:p></table:table-cell>
   </table:table-row>
   <table:table-row table:number-rows-repeated="1048566">
    <table:table-cell table:number-columns-repeated="16384"/></table:table-row>
  </table:table>
 </office:spreadsheet></office:body>
</office:document-content>
"""

ODS_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
 manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/"
  manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""


def ods(content: str = ODS_CONTENT, manifest: str = ODS_MANIFEST) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(
            "mimetype",
            "application/vnd.oasis.opendocument.spreadsheet",
            compress_type=zipfile.ZIP_STORED,
        )
        z.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


CSV_ROWS = [
    ["Nr.", "Nøgletal", "Kvartal", "Værdi", "Kommentar"],
    ["1.4", "deltagere", "2009Q3", "1.400", "Målgruppen er nået; flere på vej"],
    [],
    ["1.1", "aktiverede", "2009Q3", "86 pct.", ""],
]


def csv_text(sep: str) -> str:
    def field(v: str) -> str:
        return f'"{v}"' if (sep in v or '"' in v) else v

    return "\r\n".join(sep.join(field(v) for v in row) for row in CSV_ROWS) + "\r\n"


def main() -> None:
    (HERE / "figures.xlsx").write_bytes(figures_workbook())
    (HERE / "figures.xlsm").write_bytes(macro_workbook())
    (HERE / "figures.ods").write_bytes(ods())
    (HERE / "utf8_semicolon.csv").write_bytes(csv_text(";").encode("utf-8"))
    (HERE / "utf8_bom_comma.csv").write_bytes(csv_text(",").encode("utf-8-sig"))
    (HERE / "cp1252_semicolon.csv").write_bytes(csv_text(";").encode("cp1252"))
    # UTF-8 opened as Windows-1252 and saved again as UTF-8: "Mål" becomes "MÃ¥l".
    mangled = csv_text(";").replace("Nøgletal", "Mål-id;Nøgletal")
    (HERE / "mojibake.csv").write_bytes(
        mangled.encode("utf-8").decode("cp1252", errors="replace").encode("utf-8")
    )


if __name__ == "__main__":
    main()
