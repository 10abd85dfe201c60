"""What validation judges and what the arithmetic counts come from one reading of a cell.

A row validation accepts but the arithmetic reads differently is a silently wrong number
(the row accounting only notices a row that vanishes, not one counted for another quarter
or key). So each case row below gives one cell as a centre might send it and the reading
worked out by hand from CONTRACT §1/§3/§4, and both sides must give exactly that: the
column validation's expectations judge (`kvartal.validation.frames`) and the figure the
arithmetic gets (`kvartal.records`).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from kvartal.quarters import Quarter
from kvartal.readers import RawRow, RawSheet
from kvartal.records import parse_figures, parse_targets
from kvartal.tables import SheetFrame, sheet_frame
from kvartal.typed import match_key
from kvartal.validation.frames import catalogue_table, figures_table

Q3 = Quarter(2009, 3)
FIGURE_HEADER = ["Nr.", "Nøgletal", "Kvartal", "Værdi", "Mål-id"]


def figure_frame(*rows: list[object]) -> SheetFrame:
    raw = RawSheet(
        "2009Q3/c.xlsx",
        "Tal",
        1,
        list(FIGURE_HEADER),
        [RawRow(i + 2, list(r)) for i, r in enumerate(rows)],
    )
    return sheet_frame(raw, "figures")


# The Kvartal cell and the quarter it is, worked by hand (None: no quarter, which
# validation reports and the arithmetic leaves out).
KVARTAL_CASES = [
    (" 2009Q3 ", Q3),
    ("2009q3\u00a0", Q3),
    ("3. kvartal 2009", Q3),
    (" K3-2009", Q3),
    ("2009Q2", Quarter(2009, 2)),
    ("2009Q5", None),
    ("", None),
    (None, None),
    (2009.3, None),  # a number cell: no spelling of a quarter
    (20093, None),
    (date(2009, 7, 1), None),  # a date cell: the spreadsheet made something of the text
    (datetime(2009, 9, 30, 0, 0), None),
    (True, None),
    # A value no reader delivers, but which validation used to accept and the arithmetic
    # did not: only text is a quarter, on both sides.
    (Quarter(2009, 3), None),
]


@pytest.mark.parametrize(("cell", "expected"), KVARTAL_CASES)
def test_kvartal_cell_reads_the_same_for_validation_and_arithmetic(
    cell: object, expected: Quarter | None
) -> None:
    frame = figure_frame(["1.4", "deltagere", cell, 71, None])
    table = figures_table([frame], [], [], Q3)
    assert table.df.at[0, "_quarter"] == (str(expected) if expected else None)

    figures = parse_figures([frame])
    assert [f.quarter for f in figures] == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (" 2009Q3", Q3),
        ("1. kvartal 2009 ", Quarter(2009, 1)),
        (2009.3, None),
        (date(2009, 7, 1), None),
        (Quarter(2009, 3), None),
    ],
)
def test_fra_cell_reads_the_same_for_validation_and_arithmetic(
    cell: object, expected: Quarter | None
) -> None:
    header = [
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
    row = ["A", "1.4", "Jobbus", "1.4-a", "Effektmål", "Flere", "deltagere", "antal", "mindst"]
    raw = RawSheet("targets/k.xlsx", "Mål", 1, header, [RawRow(2, [*row, 80, cell, "2009Q4"])])
    frame = sheet_frame(raw, "catalogue")
    _, infos = catalogue_table([frame])
    assert infos[0].start == expected

    targets = parse_targets([frame])
    assert [t.start for t in targets] == ([expected] if expected else [])


# A key cell, what the report shows and what it is compared as, worked by hand; None:
# no key (empty, or a cell that cannot be one, which validation names).
KEY_CASES = [
    ("1.4-B ", "1.4-B", "1.4-b"),
    (" 1.4\u00a0 -b", "1.4 -b", "1.4 -b"),
    ("1.4\t-B", "1.4 -B", "1.4 -b"),
    ("\u202f1.4-B\u2007", "1.4-B", "1.4-b"),
    (1.4, "1.4", "1.4"),
    (2, "2", "2"),
    (2.0, "2", "2"),
    ("   ", None, None),
    (date(2009, 4, 1), None, None),  # `1.4` made into the first of April
    (True, None, None),
]


@pytest.mark.parametrize(("cell", "shown", "match"), KEY_CASES)
def test_key_cell_reads_the_same_for_validation_and_arithmetic(
    cell: object, shown: str | None, match: str | None
) -> None:
    frame = figure_frame([cell, "deltagere", "2009Q3", 71, cell])
    df = figures_table([frame], [], [], Q3).df
    assert (df.at[0, "_nr"], df.at[0, "_target_id"]) == (match, match)

    figures = parse_figures([frame])
    if shown is None:
        assert figures == []
        return
    (figure,) = figures
    assert (figure.initiative, figure.target_id) == (shown, shown)
    assert (match_key(figure.initiative), match_key(figure.target_id)) == (match, match)


@pytest.mark.slow  # imports Great Expectations (~9 s)
@pytest.mark.parametrize(("cell", "expected"), KVARTAL_CASES)
def test_kvartal_expectation_accepts_exactly_the_folders_quarter(
    cell: object, expected: Quarter | None
) -> None:
    """`forkert_kvartal`'s expectation passes a cell exactly when the arithmetic counts
    its row for the folder's quarter (and a missing cell is `mangler_vaerdi`'s)."""
    from expectations.custom import _is_quarter

    assert _is_quarter(cell, "2009Q3") is (expected == Q3)


def test_numbers_of_a_row_are_the_ones_validation_judged() -> None:
    """A row's numbers as validation's columns hold them are the Figure's numbers:
    `1.400` is fourteen hundred (a thousands dot), `ca. 3` is 3 and marks the figure
    approximate (CONTRACT §3)."""
    header = ["Nr.", "Nøgletal", "Kvartal", "Værdi", "Tæller", "Nævner", "Forventet"]
    raw = RawSheet(
        "2009Q3/c.xlsx",
        "Tal",
        1,
        header,
        [RawRow(2, ["1.4-B ", " Deltagere", " 2009Q3 ", "1.400", "ca. 3", "4", "1.500"])],
    )
    frame = sheet_frame(raw, "figures")
    df = figures_table([frame], [], [], Q3).df
    row = df.loc[0]
    assert (row["_nr"], row["_metric"], row["_quarter"]) == ("1.4-b", "deltagere", "2009Q3")
    assert (row["_v"], row["_t"], row["_n"]) == (1400.0, 3.0, 4.0)

    (figure,) = parse_figures([frame])
    assert (figure.initiative, figure.metric, figure.quarter) == ("1.4-B", "Deltagere", Q3)
    assert (figure.value, figure.numerator, figure.denominator) == (1400.0, 3.0, 4.0)
    assert figure.forecast == 1500.0 and figure.approximate


def test_a_row_with_an_unreadable_cell_is_not_counted() -> None:
    """`1,2,3` in Tæller is no number: validation sees no Tæller to judge (and names the
    cell), and the arithmetic counts the row for nothing rather than for its Værdi alone."""
    header = ["Nr.", "Nøgletal", "Kvartal", "Værdi", "Tæller", "Nævner"]
    raw = RawSheet(
        "2009Q3/c.xlsx", "Tal", 1, header, [RawRow(2, ["1.4", "andel", "2009Q3", 50, "1,2,3", 4])]
    )
    frame = sheet_frame(raw, "figures")
    df = figures_table([frame], [], [], Q3).df
    assert df.at[0, "_v"] == 50.0 and df.at[0, "_t"] != df.at[0, "_t"]  # NaN: not a number
    assert parse_figures([frame]) == []


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
    "Fra",
    "Til",
    "Frist",
]


def test_catalogue_numbers_and_keys_are_the_ones_validation_judged() -> None:
    """An interval `1.200`–`ca. 1.500` is 1200 to 1500 on both sides; `1.4-A ` is shown
    as written and compared as `1.4-a`."""
    row = ["A", " 1.4 ", "Jobbus", "1.4-A ", "Effektmål", "Flere", "Deltagere "]
    rest = ["antal", "interval", "1.200", "ca. 1.500", "2009Q1", " 2009Q4", None]
    raw = RawSheet("targets/k.xlsx", "Mål", 1, CATALOGUE_HEADER, [RawRow(2, [*row, *rest])])
    frame = sheet_frame(raw, "catalogue")
    table, (info,) = catalogue_table([frame])
    assert (info.target_id, info.initiative, info.metric) == ("1.4-a", "1.4", "deltagere")
    assert (info.start, info.end) == (Quarter(2009, 1), Quarter(2009, 4))
    assert (table.df.at[0, "_target_min"], table.df.at[0, "_target_max"]) == (1200.0, 1500.0)

    (target,) = parse_targets([frame])
    assert (target.target_id, target.initiative, target.metric) == ("1.4-A", "1.4", "Deltagere")
    assert (target.value, target.value_max) == (1200.0, 1500.0)


def test_a_milestone_reads_no_target_value() -> None:
    """A milestone has no Målværdi to count (CONTRACT §2): an unreadable one beside it does
    not take the milestone out of the report."""
    row = ["A", "2.1", "Plan", "2.1-a", "Indsatsmål", "Plan vedtaget", None, "milepæl"]
    rest = [None, "1,2,3", None, "2009Q1", "2009Q4", "2009-12-31"]
    raw = RawSheet("targets/k.xlsx", "Mål", 1, CATALOGUE_HEADER, [RawRow(2, [*row, *rest])])
    (target,) = parse_targets([sheet_frame(raw, "catalogue")])
    assert (target.target_id, target.value, target.due) == ("2.1-a", None, date(2009, 12, 31))


# --- a waived cell: the typed row with that cell left empty ---------------------------

_CELL_VALUES = [
    None,
    "",
    "  ",
    "52",
    "1.5",
    "1,5",
    "ca. 40",
    "-5",
    "abc",
    "1.4-b",
    " 1.4-B ",
    "2009Q3",
    "3. kvt. 2009",
    "2009-13",
    "ja",
    "nej",
    "2009-10-01",
    52,
    1.5,
    -10.0,
    float("nan"),
    datetime(2009, 10, 1),
    date(2009, 10, 1),
    True,
]


def _cells_strategy(columns: tuple[str, ...]):  # type: ignore[no-untyped-def]
    from hypothesis import strategies as st

    return st.fixed_dictionaries({c: st.sampled_from(_CELL_VALUES) for c in columns}), st.sets(
        st.sampled_from(columns)
    )


@pytest.mark.parametrize("kind", ["figure", "catalogue"])
def test_a_row_with_waived_cells_reads_as_if_they_were_empty(kind: str) -> None:
    """The arithmetic reads a waived cell as empty from the row typed once for validation
    (`FigureCells.blanked`, `TargetCells.blanked`); that must be exactly what typing the row
    with those cells empty gives, for every kind of cell a clerk writes."""
    from hypothesis import given, settings

    from kvartal.typed import FIGURE_CELLS, TARGET_CELLS, figure_cells, target_cells

    columns, typed = (
        (FIGURE_CELLS, figure_cells) if kind == "figure" else (TARGET_CELLS, target_cells)
    )
    values, waived = _cells_strategy(columns)

    @settings(max_examples=400, deadline=None)
    @given(values, waived)
    def check(row: dict[str, object], blank: set[str]) -> None:
        emptied = {c: (None if c in blank else v) for c, v in row.items()}
        assert typed(row).blanked(frozenset(blank)) == typed(emptied)  # type: ignore[operator]

    check()
