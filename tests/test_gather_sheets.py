"""Nothing of a workbook or of the inbox is left unread without a word (CONTRACT §1, §4).

Only one sheet of a workbook is read (figures: `Tal`, else the first; the catalogue: `Mål`,
else the first), so every other sheet holding a filled cell is named at that file and
sheet: a warning, or an error when it holds a table under the file's own headers. Quarter
folders no target's window needs are not read, and the manifest's `left_out` names them.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from kvartal import pipeline
from kvartal.accounting import account
from kvartal.approval import waivable
from kvartal.config import RunSettings
from kvartal.gather import gather
from kvartal.model import Problem
from kvartal.quarters import Quarter
from kvartal.readers import Limits, ReadError, read_sheet
from kvartal.records import parse_figures, parse_targets
from kvartal.review import frames_of
from kvartal.storage import LocalStorage

Q = Quarter(2014, 2)
CATALOGUE_HEADER = [
    "Aftale",
    "Nr.",
    "Indsats",
    "Mål-id",
    "Måltype",
    "Målbeskrivelse",
    "Nøgletal",
    "Enhed",
    "Retning",
    "Målværdi",
    "Fra",
    "Til",
]
FIGURES_HEADER = ["Nr.", "Nøgletal", "Kvartal", "Værdi"]


def target(nr: int, metric: str) -> list[object]:
    return ["A", str(nr), "I", f"{nr}-a", "Indsatsmål", "b", metric, "antal", "mindst", 100]


def catalogue_row(nr: int, metric: str) -> list[object]:
    return [*target(nr, metric), "2014Q1", "2014Q4"]


def figure(nr: int, metric: str, value: int, quarter: str = "2014Q2") -> list[object]:
    return [str(nr), metric, quarter, value]


def xlsx(sheets: dict[str, list[list[object]]], hidden: tuple[str, ...] = ()) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        if name in hidden:
            ws.sheet_state = "hidden"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def ods(sheets: dict[str, list[list[object]]], hidden: tuple[str, ...] = ()) -> bytes:
    """A minimal .ods as LibreOffice writes it: one table per sheet, a hidden one by its
    table style's `table:display="false"`."""
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    styles = (
        '<office:automatic-styles><style:style style:name="ta1" style:family="table">'
        '<style:table-properties table:display="true"/></style:style>'
        '<style:style style:name="ta2" style:family="table">'
        '<style:table-properties table:display="false"/></style:style>'
        "</office:automatic-styles>"
    )
    tables = []
    for name, rows in sheets.items():
        body = []
        for row in rows:
            cells = []
            for v in row:
                if v is None:
                    cells.append("<table:table-cell/>")
                elif isinstance(v, (int, float)):
                    cells.append(
                        f'<table:table-cell office:value-type="float" office:value="{v}">'
                        f"<text:p>{v}</text:p></table:table-cell>"
                    )
                else:
                    cells.append(
                        f'<table:table-cell office:value-type="string"><text:p>{v}</text:p>'
                        "</table:table-cell>"
                    )
            body.append("<table:table-row>" + "".join(cells) + "</table:table-row>")
        style = "ta2" if name in hidden else "ta1"
        tables.append(
            f'<table:table table:name="{name}" table:style-name="{style}">'
            + "".join(body)
            + "</table:table>"
        )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns}>{styles}'
        "<office:body><office:spreadsheet>"
        + "".join(tables)
        + "</office:spreadsheet></office:body></office:document-content>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content)
    return buf.getvalue()


WORKBOOKS = {"xlsx": xlsx, "ods": ods}


def write(root: Path, rel: str, data: bytes | str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)


def csv_catalogue(*rows: list[object]) -> str:
    lines = [";".join(CATALOGUE_HEADER)] + [";".join(str(v) for v in r) for r in rows]
    return "\n".join(lines) + "\n"


def sheet_findings(problems: list[Problem]) -> list[tuple[str, str | None, str, str]]:
    return [
        (p.file, p.sheet, p.rule, p.severity)
        for p in problems
        if p.rule in ("ark_ikke_laest", "ark_med_data_ikke_laest")
    ]


# ---------------------------------------------------------------------------- the readers


def test_the_readers_keep_the_first_rows_of_every_other_sheet_with_a_filled_cell() -> None:
    sheets = {
        "Del 1": [FIGURES_HEADER, figure(3, "c", 10)],
        "Tom": [],
        "Del 2": [FIGURES_HEADER, figure(5, "e", 10), figure(6, "f", 10)],
        "Lister": [["a"], ["b"]],
    }
    for make in (xlsx, ods):
        data = make(sheets, hidden=("Lister",))
        ext = "xlsx" if make is xlsx else "ods"
        raw = read_sheet(f"2014Q2/todele.{ext}", data, "Tal")
        assert raw.sheet == "Del 1"
        assert [(o.name, o.hidden) for o in raw.others] == [("Del 2", False), ("Lister", True)]
        assert raw.others[0].rows == (
            (1, ("Nr.", "Nøgletal", "Kvartal", "Værdi")),
            (2, ("5", "e", "2014Q2", "10")),
            (3, ("6", "f", "2014Q2", "10")),
        )


def test_an_empty_sheet_read_names_the_sheets_that_hold_cells() -> None:
    data = xlsx({"Tal": [], "Gammel": [FIGURES_HEADER, figure(1, "a", 5)]})
    with pytest.raises(ReadError) as refused:
        read_sheet("2014Q2/c.xlsx", data, "Tal")
    assert refused.value.rule == "tom_fil"
    assert "'Gammel'" in refused.value.message


# ----------------------------------------------------------------------------- gather


def _audit_inbox(root: Path, ext: str) -> None:
    """The audit's inbox: a figures workbook without `Tal` in two parts, one with `Tal`
    and a cover page holding a table under a title, and catalogue workbooks with a guide
    and a second sheet of targets."""
    make = WORKBOOKS[ext]
    write(
        root,
        f"targets/k1.{ext}",
        make(
            {
                "Vejledning": [["Læs mig"]],
                "Mål": [CATALOGUE_HEADER, catalogue_row(1, "a"), catalogue_row(2, "b")],
                "Centre": [["Ansvarlig", "E-mail"], ["Center A", "a@x.dk"]],
            }
        ),
    )
    write(
        root,
        f"targets/k2.{ext}",
        make(
            {
                "Ark1": [CATALOGUE_HEADER, catalogue_row(3, "c"), catalogue_row(4, "d")],
                "Ark2": [CATALOGUE_HEADER, catalogue_row(5, "e")],
            }
        ),
    )
    write(root, "targets/k3.csv", csv_catalogue(catalogue_row(6, "f")))
    write(
        root,
        f"2014Q2/todele.{ext}",
        make(
            {
                "Del 1": [FIGURES_HEADER, figure(3, "c", 10), figure(4, "d", 10)],
                "Del 2": [FIGURES_HEADER, figure(5, "e", 10), figure(6, "f", 10)],
            }
        ),
    )
    write(
        root,
        f"2014Q2/medtal.{ext}",
        make(
            {
                "Forside": [["Indberetning"], FIGURES_HEADER, figure(1, "a", 99)],
                "Tal": [FIGURES_HEADER, figure(1, "a", 10), figure(2, "b", 10)],
                # a blank form for the next quarter: a header, no rows
                "Skabelon": [FIGURES_HEADER],
            }
        ),
    )
    write(root, "2014Q1/c.csv", "Nr.;Nøgletal;Kvartal;Værdi\n6;f;2014Q1;5\n")


def test_every_other_sheet_of_a_read_workbook_is_named_xlsx_and_ods(tmp_path: Path) -> None:
    for ext in ("xlsx", "ods"):
        root = tmp_path / ext
        _audit_inbox(root, ext)
        inputs = gather(LocalStorage(root), Q)
        assert sorted(sheet_findings(inputs.problems)) == [
            (f"2014Q2/medtal.{ext}", "Forside", "ark_med_data_ikke_laest", "fejl"),
            (f"2014Q2/medtal.{ext}", "Skabelon", "ark_ikke_laest", "advarsel"),
            (f"2014Q2/todele.{ext}", "Del 2", "ark_med_data_ikke_laest", "fejl"),
            (f"targets/k1.{ext}", "Vejledning", "ark_ikke_laest", "advarsel"),
            (f"targets/k2.{ext}", "Ark2", "ark_med_data_ikke_laest", "fejl"),
        ], ext
        by_sheet = {p.sheet: p for p in inputs.problems if p.rule.startswith("ark_")}
        # each names the sheet read and what to do, with no cell: the whole sheet
        del2 = by_sheet["Del 2"]
        assert (del2.cell, del2.row, del2.value) == (None, None, "Del 2")
        assert "arket »Del 1« læst" in del2.message
        assert "Flyt rækkerne over i arket »Del 1«, eller slet arket »Del 2«" in del2.message
        assert "række 2" in by_sheet["Forside"].message  # the table under the title
        assert "arket »Mål« læst" in by_sheet["Vejledning"].message


def test_the_two_parts_are_read_as_before_and_the_second_blocks(tmp_path: Path) -> None:
    """6-a's figures: 5 in 2014Q1 and 10 in `Del 2`, which is not read. The report would
    say 5 of 15 with only a missing-figure warning; the error blocks it instead."""
    _audit_inbox(tmp_path, "xlsx")
    checked = pipeline.check(LocalStorage(tmp_path), Q, limits=Limits())
    blocking = {(p.file, p.sheet, p.rule) for p in checked.validation.blocking}
    assert ("2014Q2/todele.xlsx", "Del 2", "ark_med_data_ikke_laest") in blocking
    assert ("targets/k2.xlsx", "Ark2", "ark_med_data_ikke_laest") in blocking
    # the sheet read is still checked row by row: its rows feed their targets
    evaluated = pipeline.evaluate(checked, RunSettings())
    actual = {r.target_id: r.actual for r in evaluated.fulfilment.results}
    assert actual["6-a"] == 5 and actual["3-a"] == 10 and actual["1-a"] == 10
    assert "5-a" not in actual  # Ark2 is not read: its target is named by the error


def test_a_catalogue_centre_sheet_is_never_named(tmp_path: Path) -> None:
    _audit_inbox(tmp_path, "xlsx")
    inputs = gather(LocalStorage(tmp_path), Q)
    assert not [p for p in inputs.problems if p.sheet == "Centre"]


def test_a_figures_workbook_with_a_centre_sheet_names_it(tmp_path: Path) -> None:
    write(tmp_path, "targets/k.csv", csv_catalogue(catalogue_row(1, "a")))
    write(
        tmp_path,
        "2014Q2/c.xlsx",
        xlsx({"Tal": [FIGURES_HEADER, figure(1, "a", 3)], "Centre": [["Center A"]]}),
    )
    inputs = gather(LocalStorage(tmp_path), Q)
    assert sheet_findings(inputs.problems) == [
        ("2014Q2/c.xlsx", "Centre", "ark_ikke_laest", "advarsel")
    ]


def test_an_unread_sheet_is_waivable_and_names_no_row_of_the_sheet_read(tmp_path: Path) -> None:
    _audit_inbox(tmp_path, "xlsx")
    write(
        tmp_path,
        "2014Q2/afvigelser.csv",
        "Fil;Celle;Regel;Begrundelse;Godkendt af\n"
        "todele.xlsx;;ark_med_data_ikke_laest;Del 2 er en kladde;AB\n"
        "medtal.xlsx;;ark_med_data_ikke_laest;Forsiden er et eksempel;AB\n"
        "targets/k2.xlsx;;ark_med_data_ikke_laest;Ark2 er et udkast;AB\n",
    )
    checked = pipeline.check(LocalStorage(tmp_path), Q, limits=Limits())
    assert checked.validation.blocking == []
    waived = sorted((p.file, p.sheet) for p, _ in checked.validation.waived)
    assert waived == [
        ("2014Q2/medtal.xlsx", "Forside"),
        ("2014Q2/todele.xlsx", "Del 2"),
        ("targets/k2.xlsx", "Ark2"),
    ]
    # the operator's form offers the catalogue's sheet too: the catalogue itself is read
    assert all(waivable(p) for p, _ in checked.validation.waived)

    # The error names the sheet, not the file: a row of the sheet read that feeds nothing
    # and has no finding of its own is still a row that would vanish.
    frames = frames_of(checked.inputs)
    targets = parse_targets(frames.catalogue)
    figures = parse_figures([f for fs in frames.figures.values() for f in fs])
    todele = next(f for f in frames.figures[Q] if f.file == "2014Q2/todele.xlsx")
    sheet_only = [p for p in checked.validation.problems if p.file == "2014Q2/todele.xlsx"]
    found = account(frames.catalogue, {Q: [todele]}, targets, figures[:0], sheet_only)
    assert found.unaccounted == [
        ("2014Q2/todele.xlsx", "Del 1", 2),
        ("2014Q2/todele.xlsx", "Del 1", 3),
    ]
    assert [(x["what"], x["file"], x["sheet"], x["rule"]) for x in found.left_out] == [
        ("ark", "2014Q2/todele.xlsx", "Del 2", "ark_med_data_ikke_laest")
    ]


# ------------------------------------------------------------ quarter folders not needed


def test_quarter_folders_no_window_needs_are_named_not_read(tmp_path: Path) -> None:
    write(tmp_path, "targets/k.csv", csv_catalogue(catalogue_row(1, "a")))
    for q in ("2012Q4", "2014Q1", "2014Q2", "2015Q1"):
        write(tmp_path, f"{q}/c.csv", f"Nr.;Nøgletal;Kvartal;Værdi\n1;a;{q};5\n")
    write(tmp_path, "2013 Q1/gl.csv", "not even read: would be an error if it were\n")
    inputs = gather(LocalStorage(tmp_path), Q)
    assert [(u.folder, u.why) for u in inputs.unused] == [
        (
            "2012Q4/",
            "ikke brugt: intet mål i kataloget tæller 2012Q4 med i sit vindue til "
            "2. kvartal 2014; filerne i mappen er ikke læst",
        ),
        (
            "2013 Q1/",
            "ikke brugt: intet mål i kataloget tæller 2013Q1 med i sit vindue til "
            "2. kvartal 2014; filerne i mappen er ikke læst",
        ),
        (
            "2015Q1/",
            "ikke brugt: 2015Q1 ligger efter rapportkvartalet, 2. kvartal 2014; filerne i "
            "mappen er ikke læst",
        ),
    ]
    # not read, and no finding: the next quarter's files arriving early is normal
    assert sorted(s.path for s in inputs.sources) == [
        "2014Q1/c.csv",
        "2014Q2/c.csv",
        "targets/k.csv",
    ]
    assert inputs.problems == []


def test_the_manifest_names_the_quarter_folders_left_out(tmp_path: Path) -> None:
    write(tmp_path, "targets/k.csv", csv_catalogue(catalogue_row(1, "a")))
    for q in ("2012Q4", "2014Q1", "2014Q2", "2015Q1"):
        write(tmp_path, f"{q}/c.csv", f"Nr.;Nøgletal;Kvartal;Værdi\n1;a;{q};5\n")
    checked = pipeline.check(LocalStorage(tmp_path), Q, limits=Limits())
    assert checked.validation.blocking == []
    extra = pipeline.manifest_extra(checked, pipeline.evaluate(checked, RunSettings()), None)
    assert [(x["what"], x["file"], x["rule"], x["severity"]) for x in extra["left_out"]] == [
        ("mappe", "2012Q4/", "kvartal_ikke_brugt", None),
        ("mappe", "2015Q1/", "kvartal_ikke_brugt", None),
    ]
    assert "efter rapportkvartalet" in extra["left_out"][1]["why"]
    assert [s["path"] for s in extra["sources"]] == [
        "targets/k.csv",
        "2014Q1/c.csv",
        "2014Q2/c.csv",
    ]


def test_two_unread_sheets_of_one_file_can_be_approved_in_the_form(tmp_path: Path) -> None:
    """Both sheets share the key `file::rule`; the form lists it once, so an approval that
    names it is whole (the schema's minItems and uniqueItems do not contradict)."""
    from datetime import UTC, datetime

    import jsonschema

    from kvartal.approval import decision_form

    write(tmp_path, "targets/k.csv", csv_catalogue(catalogue_row(1, "a")))
    part = [FIGURES_HEADER, figure(1, "a", 3)]
    write(tmp_path, "2014Q2/c.xlsx", xlsx({"Tal": part, "Del 2": part, "Del 3": part}))
    inputs = gather(LocalStorage(tmp_path), Q)
    errors = [p for p in inputs.problems if p.severity == "fejl"]
    assert [(p.sheet, p.rule) for p in errors] == [
        ("Del 2", "ark_med_data_ikke_laest"),
        ("Del 3", "ark_med_data_ikke_laest"),
    ]
    form = decision_form(
        errors,
        Q,
        "https://drift.example/x",
        None,
        datetime(2014, 7, 13, tzinfo=UTC),
        zone="Europe/Copenhagen",
    )
    key = "2014Q2/c.xlsx::ark_med_data_ikke_laest"
    approval = {
        "beslutning": "godkend",
        "afvigelser": [key],
        "begrundelse": "kladder",
        "godkendt_af": "AB",
    }
    jsonschema.validate(approval, form.model_json_schema())  # as the server checks it
    assert form(**approval).afvigelser == [key]


def test_the_review_names_the_sheet_not_read(tmp_path: Path) -> None:
    from kvartal.validation import review_html

    _audit_inbox(tmp_path, "xlsx")
    checked = pipeline.check(LocalStorage(tmp_path), Q, limits=Limits())
    html = review_html(checked.validation, Q).decode("utf-8")
    assert '<td class="cell">hele arket</td>\n<td>Del 2</td>' in html
    text = pipeline.review_markdown(checked.validation, checked.inputs, "x")
    assert "**hele arket Del 2** · ark_med_data_ikke_laest · fejl" in text
