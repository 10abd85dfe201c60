"""Canonical frames with their way back to A1 cells, and the typed records built from them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from kvartal.fulfilment import evaluate
from kvartal.model import CellRef, Figure, Problem, Waiver
from kvartal.quarters import Quarter
from kvartal.readers import RawRow, RawSheet, read_sheet
from kvartal.records import parse_figures, parse_targets, parse_waivers
from kvartal.tables import SheetFrame, normalise_header, sheet_frame
from kvartal.typed import default_aggregation

DATA = Path(__file__).parent / "data" / "readers"


def csv_frame(file: str, text: str, kind: str) -> SheetFrame:
    return sheet_frame(read_sheet(file, text.encode("utf-8"), "Tal"), kind)


# ---------------------------------------------------------------------------------------
# tables


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nr.", "nr"),
        ("nr", "nr"),
        (" NR. ", "nr"),
        ("Nr", "nr"),
        ("Målværdi  maks.", "målværdi maks"),
        ("Målværdi\u00a0maks", "målværdi maks"),
        ("Godkendt\naf", "godkendt af"),
        ("MÅL-ID", "mål-id"),
        (None, ""),
        ("  ", ""),
    ],
)
def test_normalise_header(text: str | None, expected: str) -> None:
    assert normalise_header(text) == expected


def test_frame_from_workbook_with_header_in_row_3() -> None:
    raw = read_sheet("2009Q3/nord.xlsx", (DATA / "figures.xlsx").read_bytes(), "Tal")
    frame = sheet_frame(raw, "figures")
    assert (frame.file, frame.sheet, frame.kind, frame.header_row) == (
        "2009Q3/nord.xlsx",
        "TAL",
        "figures",
        3,
    )
    assert frame.letters == {
        "Nr.": "A",
        "Nøgletal": "B",
        "Kvartal": "C",
        "Værdi": "D",
        "Kommentar": "E",
    }
    assert frame.letters["Værdi"] == "D"
    assert frame.cell(5, "Værdi") == "D5"
    assert frame.missing == []
    assert frame.extra == ["Noter"]
    df = frame.df
    assert list(df.columns) == [
        "Nr.",
        "Nøgletal",
        "Kvartal",
        "Værdi",
        "Kommentar",
        "_file",
        "_sheet",
        "_row",
    ]
    assert df.index.name == "_row"
    assert df.index.tolist() == [4, 5, 6, 7, 9]
    assert df["_row"].tolist() == [4, 5, 6, 7, 9]
    assert all(df[c].dtype == object for c in df.columns if c != "_row")
    assert df.loc[4, "Nr."] == "1.10"
    assert df.loc[9, "Nr."] == 1.1  # raw: typing is records' job
    assert df.loc[6, "Værdi"] == "2"
    assert df.loc[4, "_file"] == "2009Q3/nord.xlsx" and df.loc[4, "_sheet"] == "TAL"
    assert df.loc[5, "Kommentar"] is None  # None, not NaN


def test_missing_required_and_duplicate_headers() -> None:
    raw = RawSheet(
        "targets/m.xlsx",
        "Mål",
        1,
        ["Nr.", "Aftale", None, "værdi", "Indsats", "NR"],
        [RawRow(2, ["1.1", "A", "x", 5, "I", "1.2"])],
        [],
    )
    frame = sheet_frame(raw, "catalogue")
    assert frame.letters == {"Nr.": "A", "Aftale": "B", "Indsats": "E"}
    assert frame.extra == ["værdi", "NR (F)"]
    assert frame.missing == [
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
    assert frame.df.loc[2, "Nr."] == "1.1"
    with pytest.raises(KeyError):
        frame.cell(2, "Målværdi")


def test_waiver_frame_and_empty_sheet() -> None:
    raw = RawSheet("2009Q3/afvigelser.csv", None, 1, ["Fil", "Celle", "Regel"], [], [])
    frame = sheet_frame(raw, "waivers")
    assert frame.missing == ["Begrundelse", "Godkendt af"]
    assert frame.df.empty
    assert list(frame.df.columns) == ["Fil", "Celle", "Regel", "_file", "_sheet", "_row"]
    assert frame.df.index.name == "_row"
    with pytest.raises(ValueError):
        sheet_frame(raw, "ukendt")


def test_short_rows_are_padded_with_none() -> None:
    raw = RawSheet("f.csv", None, 1, ["Nr.", "Værdi"], [RawRow(2, ["1.1"])], [])
    assert sheet_frame(raw, "figures").df.loc[2, "Værdi"] is None


# ---------------------------------------------------------------------------------------
# figures


def test_figures_from_workbook() -> None:
    raw = read_sheet("2009Q3/nord.xlsx", (DATA / "figures.xlsx").read_bytes(), "Tal")
    figures = parse_figures([sheet_frame(raw, "figures")])
    q3 = Quarter(2009, 3)
    assert [(f.initiative, f.metric, f.quarter, f.value) for f in figures] == [
        ("1.10", "deltagere", q3, 71.0),
        ("3.4", "placeret", q3, 14.0),
        ("3.4", "placeret/løntilskud", q3, 2.0),
        ("3.4", "placeret/praktik", q3, 3.0),
        ("1.1", "aktiverede", q3, pytest.approx(86.0)),
    ]
    assert figures[0].comment == "<p>Godt i gang</p>"
    assert figures[0].source == CellRef("2009Q3/nord.xlsx", "TAL", 4)
    assert figures[2].is_part and figures[2].metric_whole == "placeret"


FIGURES_CSV = """Nr.;Nøgletal;Kvartal;Værdi;Tæller;Nævner;Forventet;Mål-id;Milepæl nået;Kommentar
1.4;deltagere;2009Q3;1.400;;;ca. 2.000;;;
1.1;aktiverede;2009-Q3;;43;50;;;;
1.2;visiterede;3. kvartal 2009;ca. 400;;;;;;skøn
2.1;;2009Q3;;;;;2.1-m;2009-09-15;
2.2;;2009Q3;;;;;2.2-m;nej;
2.3;;2009Q3;;;;;2.3-m;;endnu ikke
9.1;x;2009Q3;1.5;;;;;;
9.2;x;2009Q5;5;;;;;;
;x;2009Q3;5;;;;;;
9.3;x;2009Q3;;;;;;;ingen tal
9.4;x;2009Q3;5;;;1.40;;;
9.5;;2009Q3;5;;;;;;
9.6;x;2009Q3;5;;;;;i går;
"""


def test_figures_typed_and_bad_rows_skipped_silently() -> None:
    frame = csv_frame("2009Q3/c.csv", FIGURES_CSV, "figures")
    figures = parse_figures([frame])
    by_nr = {f.initiative: f for f in figures}
    assert list(by_nr) == ["1.4", "1.1", "1.2", "2.1", "2.2", "2.3"]
    assert by_nr["1.4"].value == 1400 and by_nr["1.4"].forecast == 2000
    assert not by_nr["1.4"].approximate  # a forecast "ca." does not make the figure so
    pct = by_nr["1.1"]
    assert (pct.value, pct.numerator, pct.denominator) == (None, 43, 50)
    assert by_nr["1.2"].approximate and by_nr["1.2"].value == 400
    assert by_nr["1.2"].quarter == Quarter(2009, 3)
    assert by_nr["2.1"] == Figure(
        initiative="2.1",
        metric=None,
        quarter=Quarter(2009, 3),
        target_id="2.1-m",
        reached=date(2009, 9, 15),
        source=CellRef("2009Q3/c.csv", None, 5),
    )
    assert by_nr["2.2"].reached is False
    assert by_nr["2.3"].reached is None and by_nr["2.3"].comment == "endnu ikke"


def test_excluded_cells_are_left_out() -> None:
    frame = csv_frame("2009Q3/c.csv", FIGURES_CSV, "figures")
    assert frame.cell(2, "Værdi") == "D2"
    figures = parse_figures([frame], {("2009Q3/c.csv", "D2"), ("2009Q3/c.csv", "E3")})
    nrs = [f.initiative for f in figures]
    assert "1.4" not in nrs  # its only number was waived
    assert "1.1" not in nrs  # a numerator alone is no figure
    # a waived bad value lets the rest of the row through
    waived = parse_figures([frame], {("2009Q3/c.csv", "g12")})
    assert [f.forecast for f in waived if f.initiative == "9.4"] == [None]
    assert [f.value for f in waived if f.initiative == "9.4"] == [5.0]


def test_records_never_raise_on_odd_cells() -> None:
    raw = RawSheet(
        "f.xlsx",
        "Tal",
        1,
        ["Nr.", "Nøgletal", "Kvartal", "Værdi"],
        [
            RawRow(2, [True, "x", "2009Q3", 1]),
            RawRow(3, [date(2009, 4, 1), "x", "2009Q3", 1]),
            RawRow(4, ["1.1", "x", 2009, 1]),
            RawRow(5, ["1.1", "x", "2009Q3", float("nan")]),
            RawRow(6, ["1.1", "x", "2009Q3", object()]),
            RawRow(7, [2.0, "x", "2009Q3", 1]),
        ],
        [],
    )
    figures = parse_figures([sheet_frame(raw, "figures")])
    assert [(f.initiative, f.source.row if f.source else None) for f in figures] == [("2", 7)]


# ---------------------------------------------------------------------------------------
# targets

CATALOGUE_CSV = (
    "Aftale;Indsatsområde;Nr.;Indsats;Mål-id;Måltype;Målbeskrivelse;Nøgletal;Enhed;Retning;"
    "Målværdi;Målværdi maks.;Opgørelse;Basislinje;Fra;Til;Frist;Ansvarlig\n"
    "BA 2009;Jobplan;1.5;Henvisning;1.5-a;Indsatsmål;150 om året;henviste;antal;mindst;"
    "150;;;;2009Q1;2009Q4;;BIC\n"
    "BA 2009;;1.1;Aktivering;1.1-a;Resultatmål;90 pct.;aktiverede;Pct;Mindst;"
    "90 pct.;;;;2009K1;2009K4;;\n"
    "BA 2009;;3.1;Fritidsjob;3.1-a;indsatsmål;60-70 job;fritidsjob;antal;interval;"
    "60;70;;;2009Q1;2009Q4;;\n"
    "BA 2009;;1.10;Jobbus;1.10-b;Effektmål;Fald;ledige;antal;højst;"
    "ca. 1.200;;seneste;1.500;2009Q1;2011Q4;;\n"
    "BA 2009;;2.1;Plan;2.1-m;Indsatsmål;Plan vedtaget;;milepæl;;;;;;2009Q1;2009Q4;"
    "31.12.2009;\n"
    "BA 2009;;4.1;Budget;4.1-a;Indsatsmål;3,5 mio.;udgift;kr.;højst;3,5 mio. kr.;;;;"
    "2009Q1;2009Q4;;\n"
    # rows that cannot be typed
    "BA 2009;;9.1;x;9.1-a;Indsatsmål;x;x;styk;mindst;5;;;;2009Q1;2009Q4;;\n"
    "BA 2009;;9.2;x;9.2-a;Indsatsmål;x;x;antal;interval;5;;;;2009Q1;2009Q4;;\n"
    "BA 2009;;9.3;x;9.3-a;Indsatsmål;x;x;antal;mindst;5;;;;;2009Q4;;\n"
    "BA 2009;;9.4;x;9.4-a;Indsatsmål;x;x;antal;mindst;1.5;;;;2009Q1;2009Q4;;\n"
    "BA 2009;;9.5;x;9.5-m;Indsatsmål;x;;milepæl;;;;;;2009Q1;2009Q4;;\n"
    "BA 2009;;9.6;x;9.6-a;Målet;x;x;antal;mindst;5;;;;2009Q1;2009Q4;;\n"
    "BA 2009;;9.7;x;9.7-a;Indsatsmål;x;x;antal;mindst;5;;gennemsnit;;2009Q1;2009Q4;;\n"
)


def test_targets_typed_with_defaults() -> None:
    frame = csv_frame("targets/ba2009.csv", CATALOGUE_CSV, "catalogue")
    assert frame.missing == []
    targets = {t.target_id: t for t in parse_targets([frame])}
    assert list(targets) == ["1.5-a", "1.1-a", "3.1-a", "1.10-b", "2.1-m", "4.1-a"]

    t = targets["1.5-a"]
    assert (t.initiative, t.metric, t.unit, t.direction, t.value, t.aggregation) == (
        "1.5",
        "henviste",
        "antal",
        "mindst",
        150.0,
        "sum",
    )
    assert (t.start, t.end, t.theme, t.responsible) == (
        Quarter(2009, 1),
        Quarter(2009, 4),
        "Jobplan",
        "BIC",
    )
    assert t.source == CellRef("targets/ba2009.csv", None, 2)

    pct = targets["1.1-a"]
    assert (pct.unit, pct.direction, pct.value, pct.aggregation) == (
        "pct.",
        "mindst",
        90.0,
        "seneste",
    )
    assert targets["3.1-a"].kind == "Indsatsmål"
    assert (targets["3.1-a"].value, targets["3.1-a"].value_max) == (60.0, 70.0)

    level = targets["1.10-b"]
    assert level.initiative == "1.10"
    assert (level.value, level.approximate, level.baseline, level.aggregation) == (
        1200.0,
        True,
        1500.0,
        "seneste",
    )

    milestone = targets["2.1-m"]
    assert milestone.is_milestone
    assert (milestone.metric, milestone.direction, milestone.value) == (None, None, None)
    assert milestone.due == date(2009, 12, 31)

    assert (targets["4.1-a"].value, targets["4.1-a"].aggregation) == (3_500_000.0, "sum")


def test_targets_excluded_cells() -> None:
    frame = csv_frame("targets/ba2009.csv", CATALOGUE_CSV, "catalogue")
    assert frame.cell(5, "Basislinje") == "N5"
    targets = parse_targets([frame], {("targets/ba2009.csv", "N5"), ("targets/ba2009.csv", "K2")})
    ids = [t.target_id for t in targets]
    assert "1.5-a" not in ids  # its target value was waived: cannot be typed
    assert next(t for t in targets if t.target_id == "1.10-b").baseline is None


def test_targets_from_several_frames_keep_order() -> None:
    header, *rows = CATALOGUE_CSV.splitlines()
    a = csv_frame("targets/a.csv", "\n".join([header, rows[0]]), "catalogue")
    b = csv_frame("targets/b.csv", "\n".join([header, rows[1]]), "catalogue")
    assert [t.target_id for t in parse_targets([a, b])] == ["1.5-a", "1.1-a"]
    assert parse_targets([]) == []


def test_numeric_nr_cell_becomes_text() -> None:
    frame = csv_frame("targets/x.csv", CATALOGUE_CSV, "catalogue")
    frame.df.loc[2, "Nr."] = 1.5
    frame.df.loc[3, "Nr."] = 2.0
    ids = {t.target_id: t.initiative for t in parse_targets([frame])}
    assert ids["1.5-a"] == "1.5" and ids["1.1-a"] == "2"


# ---------------------------------------------------------------------------------------
# waivers

WAIVERS_CSV = """Fil;Celle;Regel;Begrundelse;Godkendt af
2009Q3/nord.xlsx;$d$7;negativ_vaerdi;Rettet i telefonen;Anne Jensen
nord.xlsx; D8 ;;Kendt fejl;Bo Hansen
2009Q3/hemmelig.xlsx;;krypteret;Kommer i næste kvartal;Bo Hansen
2009Q3/x.xlsx;D9;;;Bo Hansen
"""


def test_waivers() -> None:
    frame = csv_frame("2009Q3/afvigelser.csv", WAIVERS_CSV, "waivers")
    assert frame.missing == []
    waivers = parse_waivers(frame)
    assert waivers == [
        Waiver(
            "2009Q3/nord.xlsx",
            "D7",
            "negativ_vaerdi",
            "Rettet i telefonen",
            "Anne Jensen",
            CellRef("2009Q3/afvigelser.csv", None, 2),
        ),
        Waiver(
            "2009Q3/nord.xlsx",
            "D8",
            None,
            "Kendt fejl",
            "Bo Hansen",
            CellRef("2009Q3/afvigelser.csv", None, 3),
        ),
        Waiver(
            "2009Q3/hemmelig.xlsx",
            None,
            "krypteret",
            "Kommer i næste kvartal",
            "Bo Hansen",
            CellRef("2009Q3/afvigelser.csv", None, 4),
        ),
    ]


def test_frame_df_is_a_plain_dataframe() -> None:
    frame = csv_frame("2009Q3/c.csv", FIGURES_CSV, "figures")
    assert isinstance(frame.df, pd.DataFrame)
    assert frame.df.sort_index().index.is_monotonic_increasing


def test_waiver_file_is_inbox_relative() -> None:
    """A bare `Fil` is a file of the waiver file's quarter; an earlier quarter's file is
    named with its folder, and only then waives that file's problems."""
    text = (
        "Fil;Celle;Regel;Begrundelse;Godkendt af\n"
        "Center for Jobindsats.csv;D4;;Rettet;Anne\n"
        "2009Q2/Center for Jobindsats.csv;D5;ikke_tal;Kendt;Bo\n"
    )
    bare, earlier = parse_waivers(csv_frame("2009Q3/afvigelser.csv", text, "waivers"))
    assert bare.file == "2009Q3/Center for Jobindsats.csv"
    assert earlier.file == "2009Q2/Center for Jobindsats.csv"

    def problem(file: str, cell: str) -> Problem:
        return Problem(
            file=file,
            sheet=None,
            cell=cell,
            column="Værdi",
            row=4,
            rule="ikke_tal",
            severity="fejl",
            value="3.5",
            message="",
        )

    assert bare.matches(problem("2009Q3/Center for Jobindsats.csv", "D4"))
    assert not bare.matches(problem("2009Q2/Center for Jobindsats.csv", "D4"))
    assert earlier.matches(problem("2009Q2/center for jobindsats.csv", "D5"))


# ---------------------------------------------------------------------------------------
# one definition of matching, from the cell to the report

MATCH_CATALOGUE = (
    "Aftale;Nr.;Indsats;Mål-id;Måltype;Målbeskrivelse;Nøgletal;Enhed;Retning;Målværdi;"
    "Fra;Til\n"
    "BA 2009;1.4;Jobbus;1.4-b;Indsatsmål;500 deltagere;deltagere;antal;mindst;500;"
    "2009Q1;2009Q4\n"
    "BA 2009;1.5;Henvisning;1.5-a;Indsatsmål;150 henviste;Henviste;antal;mindst;150;"
    "2009Q1;2009Q4\n"
)
MATCH_FIGURES = (
    "Nr.;Nøgletal;Kvartal;Værdi;Mål-id\n1.4;deltagere;2009Q3;71;1.4-B\n 1.5 ;HENVISTE ;2009Q3;40;\n"
)


def test_target_id_and_keys_match_without_case_or_spaces() -> None:
    """`1.4-B` in the figures is the catalogue's `1.4-b` (CONTRACT §1): the arithmetic
    gives the target the row's 71, as validation (which already matched it) expects."""
    targets = parse_targets([csv_frame("targets/k.csv", MATCH_CATALOGUE, "catalogue")])
    figures = parse_figures([csv_frame("2009Q3/c.csv", MATCH_FIGURES, "figures")])
    results = {r.target_id: r for r in evaluate(targets, figures, Quarter(2009, 3))}
    assert results["1.4-b"].actual == 71 and results["1.4-b"].status == "off_track"
    assert results["1.5-a"].actual == 40


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("antal", "sum"),
        ("kr.", "sum"),
        ("pct.", "seneste"),
        ("PCT.", "seneste"),
        ("milepæl", "seneste"),
    ],
)
def test_one_default_aggregation(unit: str, expected: str) -> None:
    assert default_aggregation(unit) == expected


def test_report_shows_a_comment_whose_nr_differs_only_in_case() -> None:
    from kvartal.report import ReportInput, render_html

    catalogue = MATCH_CATALOGUE.replace(";1.4;", ";1.4a;")
    figures_csv = (
        "Nr.;Nøgletal;Kvartal;Værdi;Kommentar\n"
        "1.4A ;deltagere;2009Q3;71;Jobbussen kører i tre boligområder\n"
    )
    targets = parse_targets([csv_frame("targets/k.csv", catalogue, "catalogue")])
    figures = parse_figures([csv_frame("2009Q3/c.csv", figures_csv, "figures")])
    q3 = Quarter(2009, 3)
    results = evaluate(targets, figures, q3)
    assert results[0].actual == 71
    page = render_html(
        ReportInput(
            quarter=q3,
            version=1,
            targets=targets,
            results=results,
            previous={},
            figures=figures,
            warnings=[],
            waivers=[],
            updated=date(2009, 11, 26),
        )
    ).decode("utf-8")
    assert "Jobbussen kører i tre boligområder" in page


def test_validation_and_records_read_catalogue_words_alike() -> None:
    """`Pct` and `Mindst.` are `pct.` and `mindst` to both: validation finds nothing and the
    target is typed, instead of one side refusing what the other accepts."""
    from kvartal.validation import validate

    catalogue = MATCH_CATALOGUE.replace("deltagere;antal;mindst;500", "deltagere; Pct ;Mindst.;50")
    frame = csv_frame("targets/k.csv", catalogue, "catalogue")
    figures = csv_frame("2009Q3/c.csv", MATCH_FIGURES, "figures")
    result = validate(Quarter(2009, 3), [frame], {Quarter(2009, 3): [figures]}, None, [])
    assert [p.rule for p in result.problems] == []
    target = next(t for t in parse_targets([frame]) if t.target_id == "1.4-b")
    assert (target.unit, target.direction, target.aggregation) == ("pct.", "mindst", "seneste")
