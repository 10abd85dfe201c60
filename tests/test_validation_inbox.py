"""Columns, key cells and CSV rows of the inbox: each read as the centre meant it, or named
(CONTRACT §1). The expected problems are written out by hand from the files below."""

from __future__ import annotations

import pytest

from kvartal.accounting import UnaccountedColumns, account, check_accounting, left_out
from kvartal.model import Problem
from kvartal.quarters import Quarter
from kvartal.readers import read_sheet
from kvartal.records import parse_figures
from kvartal.tables import SheetFrame, near_column, sheet_frame
from kvartal.validation.columns import column_problems

Q3 = Quarter(2009, 3)


def frame(file: str, text: str, kind: str = "figures") -> SheetFrame:
    return sheet_frame(read_sheet(file, text.encode("utf-8"), "Tal"), kind)


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("Forventning", "Forventet"),
        ("Milepæl opnået", "Milepæl nået"),
        ("Maal id", "Mål-id"),
        ("Mal-id", "Mål-id"),
        ("Maal-ID", "Mål-id"),
        ("Vaerdi", "Værdi"),
        ("Nøgle tal", "Nøgletal"),
        ("Kvartl", "Kvartal"),
        ("Kommentarer", "Kommentar"),
        ("Milepael naaet", "Milepæl nået"),
        ("Taeller", "Tæller"),
    ],
)
def test_a_header_close_to_a_contract_column_is_an_error_naming_its_spelling(
    written: str, meant: str
) -> None:
    f = frame("2009Q3/c.csv", f"Nr.;Nøgletal;Kvartal;Værdi;{written}\n1.4;x;2009Q3;5;7\n")
    (problem,) = column_problems([f])
    assert (problem.rule, problem.severity, problem.cell, problem.column, problem.value) == (
        "kolonne_stavet",
        "fejl",
        "E1",
        meant,
        written,
    )
    assert f"»{meant}«" in problem.message and f"»{written}«" in problem.message


@pytest.mark.parametrize("header", ["Intern note", "Note", "Center", "Indsats", "Målværdi"])
def test_a_centres_own_column_is_not_mistaken_for_a_contract_column(header: str) -> None:
    assert near_column(header, "figures") is None


def test_other_extra_columns_are_one_warning_per_file_listing_them() -> None:
    f = frame(
        "2009Q3/c.csv",
        "Nr.;Nøgletal;Intern note;Kvartal;Værdi;Ansvarlig\n1.4;x;hej;2009Q3;5;Olsen\n",
    )
    (problem,) = column_problems([f])
    assert (problem.rule, problem.severity, problem.cell) == ("ubrugt_kolonne", "advarsel", None)
    assert problem.value == "»Intern note« (C), »Ansvarlig« (F)"


def test_a_header_twice_and_a_column_without_header_are_errors() -> None:
    f = frame("2009Q3/c.csv", "Nr.;Nøgletal;;Kvartal;Værdi;værdi\n1.4;x;hej;2009Q3;5;6\n")
    found = sorted((p.rule, p.cell, p.severity) for p in column_problems([f]))
    assert found == [("dublet_kolonne", "F1", "fejl"), ("kolonne_uden_overskrift", "C1", "fejl")]


def test_a_forecast_under_a_misspelled_header_never_silently_vanishes() -> None:
    """The issue's case: `Forventning` for `Forventet`. Either the forecast is read, or
    the column is named as an error; never neither."""
    f = frame("2009Q3/c.csv", "Nr.;Nøgletal;Kvartal;Værdi;Forventning\n1.4;x;2009Q3;5;700\n")
    (figure,) = parse_figures([f], set())
    assert figure.forecast is None
    assert [p.rule for p in column_problems([f])] == ["kolonne_stavet"]


def test_a_comma_separated_row_with_an_unquoted_decimal_comma_is_an_error_at_the_row() -> None:
    raw = read_sheet(
        "2009Q3/c.csv",
        b"Nr.,N\xc3\xb8gletal,Kvartal,V\xc3\xa6rdi,Kommentar\n"
        b"1.1,aktiverede,2009Q3,86,5,God fremgang\n"
        b'1.2,aktiverede,2009Q3,"86,5",ok\n',
        "Tal",
    )
    # The row is named, not read as 86 with the comment shifted out of sight.
    assert [r.values for r in raw.rows] == [["1.2", "aktiverede", "2009Q3", "86,5", "ok"]]
    (note,) = raw.notes
    assert (note.rule, note.severity, note.cell, note.row) == ("csv_felter", "fejl", "A2", 2)
    assert "decimalkomma" in note.message and "86,5" in note.message


def test_a_row_short_of_the_headers_fields_is_read_but_a_longer_one_is_an_error() -> None:
    """CONTRACT §1 makes only a row with more fields than its header an error. The header
    has six fields, four named: a row may leave out any trailing fields (their cells are
    empty), but may not have a seventh field (even an empty one: an unquoted decimal comma
    before an empty last field leaves one)."""
    raw = read_sheet(
        "2009Q3/c.csv",
        "Nr.;Nøgletal;Kvartal;Værdi;;\n"
        "1.1;x;2009Q3;5\n"
        "1.2;x;2009Q3;6;;\n"
        "1.3;x;2009Q3\n"
        "1.4;x;2009Q3;7;;;\n".encode(),
        "Tal",
    )
    assert [r.values[:4] for r in raw.rows] == [
        ["1.1", "x", "2009Q3", "5"],
        ["1.2", "x", "2009Q3", "6"],
        ["1.3", "x", "2009Q3", None],
    ]
    assert [(n.rule, n.cell) for n in raw.notes] == [("csv_felter", "A5")]


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (
            "Nr.;Nøgletal;Kvartal;Værdi;Kommentar\n1.1;deltagere;2009Q3;30\n".encode(),
            "semikolon, UTF-8",
        ),
        (
            "Nr.,Nøgletal,Kvartal,Værdi,Kommentar\n1.1,deltagere,2009Q3,30\n".encode("cp1252"),
            "komma, Windows-1252",
        ),
        (
            "Nr.;Nøgletal;Kvartal;Værdi;Kommentar\r\n1.1;deltagere;2009Q3;30\r\n".encode("cp1252"),
            "semikolon, Windows-1252",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_hand_made_row_without_its_empty_comment_is_read_with_no_problem(
    data: bytes, kind: str
) -> None:
    """The row leaves off the empty `Kommentar` cell: its value 30 is read, under `Værdi`,
    and nothing is named."""
    raw = read_sheet("2009Q3/c.csv", data, "Tal")
    assert raw.notes == []
    f = sheet_frame(raw, "figures")
    assert column_problems([f]) == []
    (figure,) = parse_figures([f], set())
    assert (figure.initiative, figure.metric, figure.value, figure.comment) == (
        "1.1",
        "deltagere",
        30.0,
        None,
    )


def test_an_unquoted_decimal_comma_before_empty_fields_is_still_an_error() -> None:
    """Found by the generated inboxes: `86,5` unquoted in a row whose last fields are empty
    keeps the filled fields within the header's width, and the value was read as 86."""
    raw = read_sheet(
        "2009Q3/c.csv",
        b"Nr.,N\xc3\xb8gletal,Kvartal,V\xc3\xa6rdi,Forventet,Kommentar\n"
        b"1.1,aktiverede,2009Q3,86,5,,\n",
        "Tal",
    )
    assert raw.rows == []
    assert [(n.rule, n.cell) for n in raw.notes] == [("csv_felter", "A2")]


def test_accounting_stops_on_a_column_nobody_named_and_lists_what_was_left_out() -> None:
    f = frame("2009Q3/c.csv", "Nr.;Nøgletal;Kvartal;Værdi;Forventning\n1.4;x;2009Q3;5;7\n")
    figures = {Q3: [f]}
    rows = parse_figures([f], set())
    # Row 2 serves no target here; a finding at it keeps the row accounting out of the way.
    problems = column_problems([f]) + [
        Problem("2009Q3/c.csv", None, "D2", "Værdi", 2, "ikke_tal", "fejl", "5", "x")
    ]
    with pytest.raises(UnaccountedColumns, match="kolonne E »Forventning«"):
        check_accounting([], figures, [], rows, [p for p in problems if p.cell != "E1"])
    found = account([], figures, [], rows, problems)
    assert found.unaccounted_columns == []
    assert found.unaccounted == []
    assert [(x["what"], x["file"], x["cell"], x["rule"]) for x in found.left_out] == [
        ("kolonne", "2009Q3/c.csv", "E1", "kolonne_stavet")
    ]


def test_left_out_names_folders_files_and_rows_and_skips_cell_findings() -> None:
    def p(file: str, rule: str, severity: str = "fejl", cell: str | None = None) -> Problem:
        return Problem(file, None, cell, None, None, rule, severity, None, "why")  # type: ignore[arg-type]

    listed = left_out(
        [
            p("gammelt/", "ukendt_mappe"),
            p("2009Q3/a.xls", "xls_fil"),
            p("2009Q3/b.xlsx", "ulaeselig"),
            p("2009Q3/c.csv", "csv_felter", cell="A2"),
            p("2009Q3/d.xlsx", "skjult_ark", "advarsel"),
            p("2009Q3/e.csv", "ikke_tal", cell="D2"),
        ]
    )
    assert [(x["what"], x["file"]) for x in listed] == [
        ("mappe", "gammelt/"),
        ("fil", "2009Q3/a.xls"),
        ("fil", "2009Q3/b.xlsx"),
        ("række", "2009Q3/c.csv"),
    ]


def test_a_waiver_can_name_a_folder_of_the_inbox() -> None:
    from kvartal.typed import waiver_from

    row = {"Fil": "gammelt/", "Celle": None, "Regel": "ukendt_mappe"}
    waiver = waiver_from({**row, "Begrundelse": "Arkiv", "Godkendt af": "Olsen"}, "2009Q3/a.csv")
    assert waiver is not None and waiver.file == "gammelt/"
    folder = Problem("gammelt/", None, None, None, None, "ukendt_mappe", "fejl", None, "x")
    assert waiver.matches(folder)
    bare = waiver_from(
        {"Fil": "gammelt", "Begrundelse": "x", "Godkendt af": "y"}, "2009Q3/afvigelser.csv"
    )
    assert bare is not None and bare.file == "2009Q3/gammelt"


def test_a_waiver_naming_a_bare_file_waives_that_file_at_the_inbox_root() -> None:
    """A file directly in the inbox has no folder to write in `Fil`: its problem names it
    `løs.csv`, so the waiver `Fil=løs.csv` in `2009Q3/afvigelser.csv` waives it (as does
    the one an approval writes for it), besides `2009Q3/løs.csv`, but never another
    quarter's file of that name."""
    from kvartal.typed import waiver_from

    waiver = waiver_from(
        {"Fil": "løs.csv", "Begrundelse": "Gammel kopi", "Godkendt af": "Olsen"},
        "2009Q3/afvigelser.csv",
    )
    assert waiver is not None

    def problem(file: str) -> Problem:
        return Problem(file, None, None, None, None, "fil_uden_mappe", "fejl", None, "x")

    assert waiver.matches(problem("løs.csv"))
    assert waiver.matches(problem("LØS.csv"))
    assert waiver.matches(problem("2009Q3/løs.csv"))
    assert not waiver.matches(problem("2009Q2/løs.csv"))
    assert not waiver.matches(problem("andet.csv"))
    written = waiver_from(
        {"Fil": "2009Q3/løs.csv", "Begrundelse": "x", "Godkendt af": "y"},
        "2009Q3/afvigelser.csv",
    )
    assert written is not None and not written.matches(problem("løs.csv"))
