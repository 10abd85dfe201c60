"""Validation: each rule against a tiny bad file, pointing at the exact file, cell and rule.

All the bad files of one quarter are validated together in one call (as the flow does), so
the same run also shows that one bad file never hides another's problems. The files are
built here, in xlsx, ods and csv, so every case can be read next to its expectation.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kvartal.model import ERROR, WARNING, Problem
from kvartal.quarters import Quarter
from kvartal.readers import read_sheet
from kvartal.tables import SheetFrame, sheet_frame

Q3 = Quarter(2009, 3)

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
    "Målværdi maks.",
    "Opgørelse",
    "Fra",
    "Til",
    "Frist",
    "Basislinje",
]
FIGURE_HEADER = [
    "Nr.",
    "Nøgletal",
    "Kvartal",
    "Værdi",
    "Tæller",
    "Nævner",
    "Mål-id",
    "Milepæl nået",
]


def target(
    nr: str,
    tid: str,
    metric: str | None = "deltagere",
    unit: str = "antal",
    direction: str | None = "mindst",
    value: Any = 500,
    value_max: Any = None,
    aggregation: str | None = "sum",
    start: str = "2009Q1",
    end: str = "2009Q4",
    due: Any = None,
    agreement: str | None = "Aftale 2009",
    kind: str = "Indsatsmål",
    baseline: Any = None,
) -> list[Any]:
    return [
        agreement,
        nr,
        f"Indsats {nr}",
        tid,
        kind,
        f"Mål {tid}",
        metric,
        unit,
        direction,
        value,
        value_max,
        aggregation,
        start,
        end,
        due,
        baseline,
    ]


def milestone(nr: str, tid: str, due: Any = date(2009, 12, 31), **kw: Any) -> list[Any]:
    return target(
        nr,
        tid,
        metric=None,
        unit="milepæl",
        direction=None,
        value=None,
        aggregation=None,
        due=due,
        **kw,
    )


def fig(
    nr: str,
    metric: str | None,
    value: Any = None,
    quarter: str = "2009Q3",
    t: Any = None,
    n: Any = None,
    tid: str | None = None,
    reached: Any = None,
) -> list[Any]:
    return [nr, metric, quarter, value, t, n, tid, reached]


# The catalogue: one target (or a few) per figures case, so no case disturbs another.
CATALOGUE = [
    target("1", "1-a"),  # row 2: served by god.csv
    milestone("1", "1-m"),  # row 3
    target("2", "2-a"),
    target("3", "3-a"),
    target("4", "4-a", "andel", "pct.", value=90, aggregation="seneste"),
    target("5", "5-a", "andel", "pct.", value=90, aggregation="seneste"),
    target("6", "6-a", "andel", "pct.", value=90, aggregation="seneste"),
    target("7", "7-a", "andel", "pct.", value=90, aggregation="seneste"),
    target("8", "8-a"),  # row 10
    milestone("8", "8-m"),
    target("9", "9-a", "deltagere"),  # row 12
    target("9", "9-b", "tilgang"),
    target("9", "9-c", "afgang"),
    target("9", "9-d", "ophør"),
    target("10", "10-a"),  # row 16
    target("11", "11-a"),
    target("12", "12-a", "placeret"),
    target("13", "13-a"),
    target("14", "14-a", "ledige", value=100, aggregation="seneste"),  # row 20
    target("15", "15-a", "henviste"),
    target("16", "16-a"),  # row 22: no figure
    target("17", "17-a", start="2010Q1", end="2010Q4"),  # row 23: not active
    milestone("18", "18-m"),  # row 24
    target("19", "19-a"),  # row 25
    target("34", "34-a", "andel", "pct.", value=50, aggregation="sum"),  # pooled rate
    target("40", "40-a"),  # row 27: two targets of one Nr. and Nøgletal
    target("40", "40-b"),
    target("41", "41-a"),  # row 29: the same, each row naming its own
    target("41", "41-b"),
    target("42", "42-a"),  # row 31: no figure, the row meant for it names 43-a
    target("43", "43-a", "tilgang"),
    milestone("44", "44-m"),  # row 33: reached after 2009Q3's end
    milestone("45", "45-m"),  # row 34: reached on 2009Q3's last day: fine
    milestone("46", "46-m"),  # row 35: from a file of milestone rows only
]

LATER = {"start": "2010Q1", "end": "2010Q4"}
BAD_CATALOGUE = [
    target("20", "1-a", **LATER),  # row 2: dublet_maal_id
    target("21", "21-a", unit="stk", **LATER),
    target("22", "22-a", direction="flere", **LATER),
    target("23", "23-a", kind="Mål", **LATER),
    target("24", "24-a", aggregation="gennemsnit", **LATER),  # row 6
    target("25", "25-a", start="2010Q3", end="2010Q1"),
    target("26", "26-a", start="2010Q1", end="2010Q5"),
    target("27", "27-a", direction="interval", value=70, value_max=60, **LATER),
    target("28", "28-a", direction="interval", value=70, **LATER),  # row 10
    target("29", "29-a", agreement=None, **LATER),
    milestone("30", "30-m", due=None, **LATER),
    target("31", "31-a", value="1.5", **LATER),
    target("32", "32-a", start="2010 Q1", end="4. kvartal 2010"),  # row 14: fine
    milestone("33", "33-m", due="næste år", **LATER),  # row 15: ikke_dato
    target("35", "35-a", baseline=100, **LATER),  # row 16: baseline on sum
    target(
        "36", "36-a", "ledige", value=100, aggregation="seneste", baseline="100", **LATER
    ),  # row 17: baseline = target
    target(
        "37", "37-a", "ledige", value=80, aggregation="seneste", baseline=100, **LATER
    ),  # row 18: fine
    target("38", "38-a", "andel", "pct.", value=50, baseline=40, **LATER),  # row 19: pooled rate
]

FIGURES: dict[str, tuple[list[str], list[list[Any]]]] = {
    "2009Q3/god.csv": (
        FIGURE_HEADER,
        [
            fig("1", "deltagere", 100),
            fig("1", None, tid="1-m", reached="ja"),
        ],
    ),
    "2009Q3/tvetydig.xlsx": (
        FIGURE_HEADER,
        [
            fig("2", "deltagere", 10),
            fig("2", "deltagere/a", 4),
            fig("2", "deltagere/b", "1.5"),  # D4: ikke_tal
        ],
    ),
    "2009Q3/negativ.ods": (FIGURE_HEADER, [fig("3", "deltagere", -5)]),
    "2009Q3/procent.csv": (FIGURE_HEADER, [fig("4", "andel", "120 pct.")]),
    "2009Q3/taeller.xlsx": (FIGURE_HEADER, [fig("5", "andel", t=60, n=50)]),
    "2009Q3/naevner.ods": (FIGURE_HEADER, [fig("6", "andel", t=0, n=0)]),
    "2009Q3/uenig.csv": (FIGURE_HEADER, [fig("7", "andel", "80", t="40", n="60")]),
    "2009Q3/mangler.xlsx": (
        FIGURE_HEADER,
        [
            fig("8", "deltagere"),  # D2: mangler_vaerdi
            fig("8", None, tid="8-m", reached="nej"),  # milestone: fine
        ],
    ),
    "2009Q3/kvartal.ods": (
        FIGURE_HEADER,
        [
            fig("9", "deltagere", 1, quarter="3. kvartal 2009"),
            fig("9", "tilgang", 1, quarter="2009-Q3"),
            fig("9", "afgang", 1, quarter="Q3 2009"),
            fig("9", "ophør", 1, quarter="2009K2"),  # C5: forkert_kvartal
        ],
    ),
    "2009Q3/ukendt.csv": (
        FIGURE_HEADER,
        [
            fig("10", "deltagere", "5"),
            fig("10", "<script>alert(1)</script>", "5"),  # B3: ukendt_noegletal
            fig("10", "deltagere", "3", tid="10-x"),  # G4: ukendt_maal_id
            fig("10", "deltagere/a", "5"),  # a known part: fine
        ],
    ),
    "2009Q3/dublet_a.xlsx": (FIGURE_HEADER, [fig("11", "deltagere", 5)]),
    "2009Q3/dublet_b.csv": (FIGURE_HEADER, [fig("11", "deltagere", "5", quarter="2009K3")]),
    "2009Q3/dele.ods": (
        FIGURE_HEADER,
        [
            fig("12", "placeret", 15),  # D2: dele_passer_ikke
            fig("12", "placeret/løntilskud", 2),
            fig("12", "placeret/praktik", 3),
            fig("12", "placeret/job", 6),
            fig("12", "placeret/andet", 3),
        ],
    ),
    "2009Q3/uden_kvartal.csv": (["Nr.", "Nøgletal", "Værdi"], [["13", "deltagere", "5"]]),
    "2009Q3/seneste.xlsx": (FIGURE_HEADER, [fig("14", "ledige", 80)]),
    "2009Q3/tidobling.csv": (FIGURE_HEADER, [fig("15", "henviste", "150")]),
    "2009Q3/milepael.csv": (FIGURE_HEADER, [fig("18", None, tid="18-m", reached="måske")]),
    "2009Q3/dato_nr.xlsx": (FIGURE_HEADER, [fig(date(2009, 4, 1), "deltagere", 5)]),  # type: ignore[arg-type]
    "2009Q2/forrige.csv": (
        FIGURE_HEADER,
        [
            fig("14", "ledige", "100", quarter="2009Q2"),
            fig("15", "henviste", "10", quarter="2009Q2"),
        ],
    ),
    # No Værdi column; a row with neither Tæller nor Nævner has no value at all.
    "2009Q3/uden_vaerdi.csv": (
        ["Nr.", "Nøgletal", "Kvartal", "Tæller", "Nævner"],
        [
            ["19", "deltagere", "2009Q3", "", ""],  # D2: mangler_vaerdi
        ],
    ),
    "2009Q3/pulje.csv": (FIGURE_HEADER, [fig("34", "andel", "40")]),  # E2: mangler_vaerdi
    "2009Q3/milepael_uden_id.csv": (FIGURE_HEADER, [fig("1", None, reached="ja")]),  # G2
    # A row without Mål-id feeds 40-a and 40-b; a row naming 40-b reports 40-b's again.
    "2009Q3/maal_id_og_uden.csv": (
        FIGURE_HEADER,
        [fig("40", "deltagere", "20"), fig("40", "deltagere", "5", tid="40-b")],  # B2, B3
    ),
    # Each row names its own target: two figures, no duplicate.
    "2009Q3/maal_id_hver.csv": (
        FIGURE_HEADER,
        [fig("41", "deltagere", "20", tid="41-a"), fig("41", "deltagere", "5", tid="41-B")],
    ),
    # Nr. 42 and Nøgletal deltagere are 42-a's, the Mål-id 43-a's: G2, maal_id_uenig.
    "2009Q3/maal_id_uenig.csv": (FIGURE_HEADER, [fig("42", "deltagere", "5", tid="43-a")]),
    # Milestone rows only: no Nøgletal or Værdi column needed (CONTRACT §3).
    "2009Q3/kun_milepael.csv": (
        ["Nr.", "Kvartal", "Mål-id", "Milepæl nået"],
        [["46", "2009Q3", "46-m", "ja"]],
    ),
    "2009Q3/milepael_dato.csv": (
        FIGURE_HEADER,
        [
            fig("44", None, tid="44-m", reached="2009-11-02"),  # H2: after 30.09.2009
            fig("45", None, tid="45-m", reached="30.09.2009"),
        ],
    ),
    # An earlier quarter is checked like the report quarter (CONTRACT §4).
    "2009Q2/tidligere.csv": (
        FIGURE_HEADER,
        [
            fig("16", "deltagere", "3.5", quarter="2009Q2"),  # D2: ikke_tal, waived
            fig("16", "deltagere", "7", quarter="2009Q3"),  # C3: forkert_kvartal
            fig("13", "deltagere", "1.5", quarter="2009Q2"),  # D4: ikke_tal, blocks
        ],
    ),
}

WAIVERS = [
    ["Fil", "Celle", "Regel", "Begrundelse", "Godkendt af"],
    ["negativ.ods", "D2", "negativ_antal", "Korrektion af tidligere kvartal", "KJ"],
    ["procent.csv", "D9", "", "Forkert celle", "KJ"],  # row 3: matches nothing
    ["procent.csv", "D2", "", "", ""],  # row 4: incomplete
    ["2009Q2/tidligere.csv", "D2", "ikke_tal", "Rettet i fagsystemet", "KJ"],
    ["tidligere.csv", "D4", "", "Navnet alene er kvartalets fil", "KJ"],  # row 6: no match
]

# (file, cell, rule, severity): every finding each case must produce.
CASES = [
    ("2009Q3/uden_vaerdi.csv", "D2", "mangler_vaerdi", ERROR),
    ("2009Q3/pulje.csv", "E2", "mangler_vaerdi", ERROR),
    ("2009Q3/milepael_uden_id.csv", "G2", "mangler_vaerdi", ERROR),
    ("2009Q2/tidligere.csv", "D2", "ikke_tal", ERROR),
    ("2009Q2/tidligere.csv", "C3", "forkert_kvartal", ERROR),
    ("2009Q2/tidligere.csv", "D4", "ikke_tal", ERROR),
    ("2009Q3/afvigelser.csv", "A6", "afvigelse_uden_fund", WARNING),
    ("targets/fejl.ods", "P16", "ugyldig_basislinje", ERROR),
    ("targets/fejl.ods", "P17", "ugyldig_basislinje", ERROR),
    ("targets/fejl.ods", "P19", "ugyldig_basislinje", ERROR),
    ("targets/fejl.ods", "D2", "dublet_maal_id", ERROR),
    ("targets/katalog.xlsx", "D2", "dublet_maal_id", ERROR),
    ("targets/fejl.ods", "H3", "ukendt_enhed", ERROR),
    ("targets/fejl.ods", "I4", "ukendt_retning", ERROR),
    ("targets/fejl.ods", "E5", "ukendt_maaltype", ERROR),
    ("targets/fejl.ods", "L6", "ukendt_opgoerelse", ERROR),
    ("targets/fejl.ods", "M7", "fra_efter_til", ERROR),
    ("targets/fejl.ods", "N8", "ugyldigt_kvartal", ERROR),
    ("targets/fejl.ods", "K9", "interval_max_under_min", ERROR),
    ("targets/fejl.ods", "K10", "interval_uden_maks", ERROR),
    ("targets/fejl.ods", "A11", "mangler_vaerdi", ERROR),
    ("targets/fejl.ods", "O12", "mangler_vaerdi", ERROR),
    ("targets/fejl.ods", "J13", "ikke_tal", ERROR),
    ("targets/fejl.ods", "O15", "ikke_dato", ERROR),
    ("targets/katalog.xlsx", "D22", "mangler_tal", WARNING),
    ("2009Q3/tvetydig.xlsx", "D4", "ikke_tal", ERROR),
    ("2009Q3/negativ.ods", "D2", "negativ_antal", ERROR),
    ("2009Q3/procent.csv", "D2", "procent_uden_for_0_100", ERROR),
    ("2009Q3/taeller.xlsx", "E2", "taeller_over_naevner", ERROR),
    ("2009Q3/naevner.ods", "F2", "naevner_nul", ERROR),
    ("2009Q3/uenig.csv", "D2", "taeller_naevner_uenig", ERROR),
    ("2009Q3/mangler.xlsx", "D2", "mangler_vaerdi", ERROR),
    ("2009Q3/kvartal.ods", "C5", "forkert_kvartal", ERROR),
    ("2009Q3/ukendt.csv", "B3", "ukendt_noegletal", ERROR),
    ("2009Q3/ukendt.csv", "G4", "ukendt_maal_id", ERROR),
    ("2009Q3/dublet_a.xlsx", "B2", "dublet", ERROR),
    ("2009Q3/dublet_b.csv", "B2", "dublet", ERROR),
    ("2009Q3/maal_id_og_uden.csv", "B2", "dublet", ERROR),
    ("2009Q3/maal_id_og_uden.csv", "B3", "dublet", ERROR),
    ("2009Q3/maal_id_uenig.csv", "G2", "maal_id_uenig", ERROR),
    ("targets/katalog.xlsx", "D31", "mangler_tal", WARNING),
    ("2009Q3/milepael_dato.csv", "H2", "milepael_efter_kvartalet", WARNING),
    ("2009Q3/dele.ods", "D2", "dele_passer_ikke", ERROR),
    ("2009Q3/milepael.csv", "H2", "ugyldig_milepael", ERROR),
    ("2009Q3/dato_nr.xlsx", "A2", "ugyldigt_nummer", ERROR),
    ("2009Q3/uden_kvartal.csv", None, "mangler_kolonne", ERROR),
    ("2009Q3/seneste.xlsx", "D2", "seneste_falder", WARNING),
    ("2009Q3/tidobling.csv", "D2", "tidobling", WARNING),
    ("2009Q3/afvigelser.csv", "A3", "afvigelse_uden_fund", WARNING),
    ("2009Q3/afvigelser.csv", "D4", "afvigelse_ufuldstaendig", ERROR),
    ("2009Q3/afvigelser.csv", "E4", "afvigelse_ufuldstaendig", ERROR),
]


# ------------------------------------------------------------------------------ writers


def write_xlsx(path: Path, rows: list[list[Any]]) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Tal" if "targets" not in path.parts else "Mål"
    for row in rows:
        ws.append(row)
    wb.save(path)


def write_ods(path: Path, rows: list[list[Any]]) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Mål" if "targets" in path.parts else "Tal")
    for row in rows:
        tr = TableRow()
        for v in row:
            if v is None:
                cell = TableCell()
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                cell = TableCell(valuetype="float", value=str(v))
                cell.addElement(P(text=str(v)))
            elif isinstance(v, date):
                cell = TableCell(valuetype="date", datevalue=v.isoformat())
                cell.addElement(P(text=v.isoformat()))
            else:
                cell = TableCell(valuetype="string")
                cell.addElement(P(text=str(v)))
            tr.addElement(cell)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    doc.save(str(path))


def write_csv(path: Path, rows: list[list[Any]]) -> None:
    def text(v: Any) -> str:
        return "" if v is None else (v.isoformat() if isinstance(v, date) else str(v))

    path.write_text(
        "\n".join(";".join(text(v) for v in row) for row in rows) + "\n", encoding="utf-8"
    )


def write(path: Path, rows: list[list[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    {".xlsx": write_xlsx, ".ods": write_ods, ".csv": write_csv}[path.suffix](path, rows)


def frame(inbox: Path, key: str, kind: str) -> SheetFrame:
    sheet = {"catalogue": "Mål", "figures": "Tal", "waivers": ""}[kind]
    return sheet_frame(read_sheet(key, (inbox / key).read_bytes(), sheet), kind)


# ------------------------------------------------------------------------------ the run


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("inbox")
    write(root / "targets/katalog.xlsx", [CATALOGUE_HEADER, *CATALOGUE])
    write(root / "targets/fejl.ods", [CATALOGUE_HEADER, *BAD_CATALOGUE])
    for key, (header, rows) in FIGURES.items():
        write(root / key, [header, *rows])
    write(root / "2009Q3/afvigelser.csv", WAIVERS)
    return root


def run(inbox: Path, waivers: bool = True) -> Any:
    from kvartal.validation import validate

    catalogue = [frame(inbox, k, "catalogue") for k in ("targets/katalog.xlsx", "targets/fejl.ods")]
    figures: dict[Quarter, list[SheetFrame]] = {}
    for key in FIGURES:
        figures.setdefault(Quarter.parse(key.split("/")[0]), []).append(
            frame(inbox, key, "figures")
        )
    waiver = frame(inbox, "2009Q3/afvigelser.csv", "waivers") if waivers else None
    read_problem = Problem(
        file="2009Q3/låst.xlsx",
        sheet=None,
        cell=None,
        column=None,
        row=None,
        rule="adgangskode",
        severity=ERROR,
        value=None,
        message="Filen er beskyttet med adgangskode.",
    )
    return validate(Q3, catalogue, figures, waiver, [read_problem])


@pytest.fixture(scope="module")
def result(inbox: Path) -> Any:
    return run(inbox)


def found(result: Any) -> set[tuple[str, str | None, str, str]]:
    return {(p.file, p.cell, p.rule, p.severity) for p in result.problems}


@pytest.mark.parametrize(
    ("file", "cell", "rule", "severity"),
    CASES,
    ids=[f"{c[2]}-{c[0].split('/')[-1]}-{c[1]}" for c in CASES],
)
def test_rule_points_at_the_cell(
    result: Any, file: str, cell: str | None, rule: str, severity: str
) -> None:
    assert (file, cell, rule, severity) in found(result)


def test_nothing_else_is_found(result: Any) -> None:
    """No false alarms: exactly the cases, plus the read problem passed in."""
    expected = set(CASES) | {("2009Q3/låst.xlsx", None, "adgangskode", ERROR)}
    assert found(result) == expected


def test_good_rows_and_spellings_pass(result: Any) -> None:
    files = {p.file for p in result.problems}
    assert "2009Q3/god.csv" not in files
    assert not [p for p in result.problems if p.file == "2009Q3/kvartal.ods" and p.row != 5]
    assert not [p for p in result.problems if p.file == "targets/fejl.ods" and p.row == 14]
    assert not [p for p in result.problems if p.cell == "D23"]  # 17-a is not active yet


def test_every_problem_is_complete(result: Any) -> None:
    for p in result.problems:
        assert p.severity in (ERROR, WARNING)
        assert re.fullmatch(r"[a-z0-9_]+", p.rule)
        assert p.message and p.message[-1] in ".!?)", p
        if p.cell is not None:
            assert re.fullmatch(r"[A-Z]+\d+", p.cell)
            assert p.cell.endswith(str(p.row))
    assert result.problems == sorted(
        result.problems, key=lambda p: (p.file, p.sheet or "", p.row or 0)
    )


def test_messages_say_what_to_do(result: Any) -> None:
    def one(file: str, cell: str, rule: str) -> Problem:
        return next(p for p in result.problems if (p.file, p.cell, p.rule) == (file, cell, rule))

    ambiguous = one("2009Q3/tvetydig.xlsx", "D4", "ikke_tal")
    assert ambiguous.value == "1.5" and ambiguous.column == "Værdi"
    assert "1,5" in ambiguous.message and "1.500" in ambiguous.message
    quarter = one("2009Q3/kvartal.ods", "C5", "forkert_kvartal")
    assert "2009Q2" in quarter.message and "2009Q3" in quarter.message
    parts = one("2009Q3/dele.ods", "D2", "dele_passer_ikke")
    assert "2 + 3 + 6 + 3 = 14" in parts.message and "15" in parts.message
    dup = one("2009Q3/dublet_a.xlsx", "B2", "dublet")
    assert "2009Q3/dublet_b.csv B2" in dup.message
    missing = next(p for p in result.problems if p.rule == "mangler_kolonne")
    assert missing.column == "Kvartal" and missing.row == 1 and "Kvartal" in missing.message
    falls = one("2009Q3/seneste.xlsx", "D2", "seneste_falder")
    assert "100" in falls.message and "2009Q2" in falls.message


# ------------------------------------------------------------------------------ waivers


def test_waived_error_stops_blocking_and_is_excluded(result: Any) -> None:
    negative = next(p for p in result.problems if p.rule == "negativ_antal")
    assert negative in result.problems  # still listed, for the report
    assert negative not in result.blocking
    assert ("2009Q3/negativ.ods", "D2") in result.excluded
    assert result.waiver_of(negative).approved_by == "KJ"
    assert len(result.waived) == 2  # and 2009Q2/tidligere.csv D2
    assert result.excluded == {("2009Q3/negativ.ods", "D2"), ("2009Q2/tidligere.csv", "D2")}


def test_incomplete_waiver_waives_nothing(result: Any) -> None:
    pct = next(p for p in result.problems if p.rule == "procent_uden_for_0_100")
    assert pct in result.blocking


def test_earlier_quarter_blocks_and_is_waived_by_inbox_relative_file(result: Any) -> None:
    by_cell = {(p.file, p.cell): p for p in result.problems if p.file == "2009Q2/tidligere.csv"}
    waived = by_cell[("2009Q2/tidligere.csv", "D2")]
    assert result.waiver_of(waived) is not None
    assert waived not in result.blocking
    assert ("2009Q2/tidligere.csv", "D2") in result.excluded
    assert by_cell[("2009Q2/tidligere.csv", "D4")] in result.blocking
    wrong = by_cell[("2009Q2/tidligere.csv", "C3")]
    assert wrong in result.blocking and "mappen for 2009Q2" in wrong.message


def test_without_waivers_the_error_blocks(inbox: Path) -> None:
    plain = run(inbox, waivers=False)
    assert any(p.rule == "negativ_antal" for p in plain.blocking)
    assert plain.excluded == set() and plain.waived == []


def test_blocking_and_warnings(result: Any) -> None:
    assert all(p.severity == ERROR for p in result.blocking)
    assert all(p.severity == WARNING for p in result.warnings)
    assert {p.rule for p in result.warnings} == {
        "mangler_tal",
        "seneste_falder",
        "tidobling",
        "afvigelse_uden_fund",
        "milepael_efter_kvartalet",
    }


# ------------------------------------------------------------------------------ review


def test_review_json_shape(result: Any) -> None:
    from kvartal.validation import review_json

    data = json.loads(review_json(result, Q3))
    assert isinstance(data, list) and len(data) == len(result.problems)
    keys = {
        "file",
        "sheet",
        "cell",
        "column",
        "row",
        "rule",
        "severity",
        "value",
        "message",
        "waived",
    }
    assert all(set(item) == keys for item in data)
    negative = next(i for i in data if i["rule"] == "negativ_antal")
    assert negative["waived"] == {"reason": "Korrektion af tidligere kvartal", "approved_by": "KJ"}
    assert negative["cell"] == "D2" and negative["value"] == "-5"
    whole = next(i for i in data if i["rule"] == "mangler_kolonne")
    assert whole["cell"] is None and whole["waived"] is None


def test_review_html_groups_by_file_and_escapes(result: Any) -> None:
    from kvartal.validation import review_html

    html = review_html(result, Q3, data_docs_href="gx/index.html").decode("utf-8")
    assert '<html lang="da">' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "http://" not in html and "https://" not in html and "<link" not in html
    headings = re.findall(r"<h2>(.*?)</h2>", html)
    assert len(headings) == len(set(headings)) == len({p.file for p in result.problems})
    section = html.split("<h2>2009Q3/tvetydig.xlsx</h2>")[1].split("</section>")[0]
    assert "D4" in section and "ikke_tal" in section
    assert "Godkendt som afvigelse af KJ" in html
    assert 'href="gx/index.html"' in html


def test_result_survives_pickling(result: Any) -> None:
    """Prefect hands the result between tasks pickled; blocking must not change."""
    import pickle

    again = pickle.loads(pickle.dumps(result))
    assert again.blocking == result.blocking and again.excluded == result.excluded


def test_a_mal_id_against_its_rows_keys_names_both(result: Any) -> None:
    """The row says Nr. 42 / deltagere (42-a's) and Mål-id 43-a (Nr. 43 / tilgang): the
    figure is not counted silently under either; the message shows both sides."""
    (p,) = [p for p in result.problems if p.rule == "maal_id_uenig"]
    for words in ("»43-a«", "Nr. »43« og Nøgletal »tilgang«", "Nr. »42«", "»deltagere«"):
        assert words in p.message, words


def test_a_milestone_reached_after_the_quarter_says_which_day_and_what_it_counts_as(
    result: Any,
) -> None:
    (p,) = [p for p in result.problems if p.rule == "milepael_efter_kvartalet"]
    assert "02.11.2009" in p.message and "30.09.2009" in p.message
    assert "3. kvartal 2009" in p.message and "nået på den dato" in p.message
