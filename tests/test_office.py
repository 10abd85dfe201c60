"""Spreadsheets saved by LibreOffice Calc and Gnumeric, read as the programs show them.

The files in `tests/data/office/` were written by the programs themselves (see
`make_office_fixtures.py` there), so these tests check kvartal against real output, not
against a guess at it.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kvartal.quarters import Quarter
from kvartal.readers import Limits, read_sheet
from kvartal.records import parse_figures

OFFICE = Path(__file__).parent / "data" / "office"
TYPED = OFFICE / "typed"
EXAMPLE_INBOX = Path(__file__).resolve().parent.parent / "examples" / "inbox"
Q3 = Quarter(2009, 3)

SAVED = [
    "libreoffice.xlsx",
    "libreoffice.ods",
    "libreoffice1904.xlsx",
    "gnumeric.xlsx",
    "gnumeric.ods",
    "gnumeric1904.xlsx",
]


@pytest.mark.parametrize("name", SAVED)
def test_typed_cells_read_as_the_program_shows_them(name: str) -> None:
    """86 % is 86 and 6,5 % is 6.5 (xlsx number formats; LibreOffice's `percentage`
    value type; Gnumeric's float with a percentage style), 1.400 in a thousands format is
    1400, a date cell is its date in either date system, and a formula counts with its
    saved value (=B2*100 → 86, =C3+1 → 1033) and a warning at its cell."""
    raw = read_sheet(f"2009Q3/{name}", (TYPED / name).read_bytes(), "Tal")
    assert raw.header == ["Nr.", "Værdi", "Tusinder", "Dato", "Formel"]
    assert [r.values for r in raw.rows] == [
        ["1.1", 86, 1400, date(2009, 9, 15), 86],
        ["1.2", 6.5, 1032, date(2009, 3, 31), 1033],
    ]
    assert [(n.rule, n.cell, n.severity, n.value) for n in raw.notes] == [
        ("formel", "E2", "advarsel", "86"),
        ("formel", "E3", "advarsel", "1033"),
    ]


def test_gnumeric_ods_percent_is_a_float_with_a_percentage_style() -> None:
    """The case itself, so the test above cannot pass for a reason it did not mean."""
    with zipfile.ZipFile(TYPED / "gnumeric.ods") as z:
        content = z.read("content.xml").decode("utf-8")
        styles = z.read("styles.xml").decode("utf-8")
    assert 'office:value-type="float" office:value="0.86' in content
    assert "number:percentage-style" in styles + content
    with zipfile.ZipFile(TYPED / "libreoffice.ods") as z:
        assert 'office:value-type="percentage"' in z.read("content.xml").decode("utf-8")


@pytest.mark.parametrize("name", ["libreoffice1904.xlsx", "gnumeric1904.xlsx"])
def test_1904_files_really_use_the_1904_date_system(name: str) -> None:
    with zipfile.ZipFile(TYPED / name) as z:
        workbook = z.read("xl/workbook.xml").decode("utf-8")
    assert "date1904" in workbook and 'date1904="false"' not in workbook


def test_formula_without_a_saved_value_is_an_error_at_the_cell() -> None:
    raw = read_sheet("2009Q3/source.xlsx", (TYPED / "source.xlsx").read_bytes(), "Tal")
    assert [r.values[4] for r in raw.rows] == [None, None]
    assert [(n.rule, n.cell, n.severity) for n in raw.notes] == [
        ("formel_uden_vaerdi", "E2", "fejl"),
        ("formel_uden_vaerdi", "E3", "fejl"),
    ]


# --- the example inbox, saved again by each program -------------------------------------


def _inbox(tmp_path: Path, program: str | None, variant: str = "same") -> Path:
    """The example inbox with every workbook replaced by the program's saved copy."""
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE_INBOX, inbox)
    if program is not None:
        for path in list(inbox.rglob("*")):
            if path.suffix in (".xlsx", ".ods"):
                path.unlink()
        for path in (OFFICE / program / variant).rglob("*"):
            if path.is_file():
                target = inbox / path.relative_to(OFFICE / program / variant)
                shutil.copyfile(path, target)
    return inbox


def _publishable(inbox: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """fulfilment.json's targets for 2009Q3, and the rules of the problems found."""
    from kvartal import pipeline
    from kvartal.config import RunSettings
    from kvartal.storage import open_storage

    checked = pipeline.check(open_storage(str(inbox)), Q3, Limits())
    evaluated = pipeline.evaluate(checked, RunSettings())
    out = [r.to_json() for r in evaluated.fulfilment.results]
    return json.loads(json.dumps(out)), sorted(p.rule for p in checked.validation.problems)


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], list[str]]:
    return _publishable(_inbox(tmp_path_factory.mktemp("original"), None))


@pytest.mark.parametrize(
    ("program", "variant"),
    [
        ("libreoffice", "same"),
        ("libreoffice", "swapped"),
        ("gnumeric", "same"),
        ("gnumeric", "swapped"),
    ],
)
def test_round_trip_publishes_the_same_figures(
    tmp_path: Path, program: str, variant: str, original: tuple[list[dict[str, Any]], list[str]]
) -> None:
    """Saved again by LibreOffice or Gnumeric, in the same format or the other one, the
    example inbox gives exactly the fulfilment of the original, and the same findings."""
    figures, rules = _publishable(_inbox(tmp_path, program, variant))
    assert figures == original[0]
    assert rules == original[1]


def test_reader_warnings_reach_the_operator_and_the_report(tmp_path: Path) -> None:
    """A formula cell saved by LibreOffice (D2 `=30+1`, saved value 31) counts as 31, and
    its `formel` warning is in validation.json, validation.html and the report's notes."""
    from kvartal import pipeline
    from kvartal.config import RunSettings
    from kvartal.report import ReportInput, render_html
    from kvartal.storage import open_storage
    from kvartal.validation import review_html, review_json

    inbox = _inbox(tmp_path, None)
    shutil.copyfile(
        OFFICE / "formula" / "2009Q3" / "Økonomiforvaltningen.xlsx",
        inbox / "2009Q3" / "Økonomiforvaltningen.xlsx",
    )
    checked = pipeline.check(open_storage(str(inbox)), Q3, Limits())
    result = checked.validation
    assert result.blocking == []
    listed = [p for p in json.loads(review_json(result, Q3)) if p["rule"] == "formel"]
    assert [(p["file"], p["sheet"], p["cell"], p["severity"], p["value"]) for p in listed] == [
        ("2009Q3/Økonomiforvaltningen.xlsx", "Tal", "D2", "advarsel", "31")
    ]
    assert "formel" in review_html(result, Q3).decode("utf-8")

    fulfilment = pipeline.evaluate(checked, RunSettings()).fulfilment
    assert next(r for r in fulfilment.results if r.target_id.startswith("1.6")).actual == 31
    page = render_html(
        ReportInput(
            quarter=Q3,
            version=1,
            targets=fulfilment.targets,
            results=fulfilment.results,
            previous=fulfilment.previous,
            figures=[f for f in fulfilment.figures if f.quarter == Q3],
            warnings=result.warnings,
            waivers=result.waived,
            updated=date(2009, 11, 26),
        )
    ).decode("utf-8")
    assert "celle D2" in page and "Cellen indeholder en formel" in page


def test_example_ods_dates_are_date_cells_with_a_date_style() -> None:
    """Calc shows a date cell without a date style as its serial number (39903); the
    example's `Milepæl nået` 2009-03-31 is a date cell with a date style, and LibreOffice
    keeps it a date when it saves the file again."""
    import re

    with zipfile.ZipFile(EXAMPLE_INBOX / "2009Q1" / "Ungecentret.ods") as z:
        content = z.read("content.xml").decode("utf-8")
    cell = re.search(r'<table:table-cell[^>]*office:date-value="2009-03-31"[^>]*>', content)
    assert cell is not None
    style = re.search(r'table:style-name="([^"]+)"', cell.group(0))
    assert style is not None
    data_style = re.search(
        rf'style:name="{style.group(1)}"[^>]*style:data-style-name="([^"]+)"', content
    )
    assert data_style is not None
    assert re.search(rf'<number:date-style[^>]*style:name="{data_style.group(1)}"', content)
    for program in ("libreoffice", "gnumeric"):
        saved = OFFICE / program / "same" / "2009Q1" / "Ungecentret.ods"
        raw = read_sheet("2009Q1/Ungecentret.ods", saved.read_bytes(), "Tal")
        assert date(2009, 3, 31) in [v for r in raw.rows for v in r.values], program


@pytest.mark.slow
def test_round_trip_through_gnumeric_publishes_identical_figures(
    tmp_path: Path, prefect_api: str
) -> None:
    """`kvartal run` on the example inbox and on its Gnumeric copy in the other format
    (percent cells become floats with a percentage style, .xlsx becomes .ods) publishes
    byte-identical fulfilment.json files."""
    import os
    import subprocess
    import sys

    published = []
    for name, program in (("original", None), ("gnumeric", "gnumeric")):
        inbox = _inbox(tmp_path / name, program, "swapped")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "kvartal.cli",
                "run",
                "--quarter",
                "2009Q3",
                "--inbox",
                str(inbox),
                "--publish-to",
                str(tmp_path / name / "publish"),
                "--review-to",
                str(tmp_path / name / "review"),
            ],
            env=dict(os.environ, PREFECT_API_URL=prefect_api),
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        published.append((tmp_path / name / "publish" / "2009Q3" / "fulfilment.json").read_bytes())
    assert published[0] == published[1]


@pytest.mark.slow
def test_the_fixture_script_reproduces_what_the_tests_read(tmp_path: Path) -> None:
    """The committed files are what the script makes with today's LibreOffice and Gnumeric:
    run it into a temporary folder and read the typed cases as the committed ones read."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(OFFICE / "make_office_fixtures.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for name in SAVED:
        made = read_sheet(f"2009Q3/{name}", (tmp_path / "typed" / name).read_bytes(), "Tal")
        kept = read_sheet(f"2009Q3/{name}", (TYPED / name).read_bytes(), "Tal")
        assert [r.values for r in made.rows] == [r.values for r in kept.rows], name
        assert made.notes == kept.notes, name
    made_files = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
    kept_files = {
        p.relative_to(OFFICE)
        for p in OFFICE.rglob("*")
        if p.is_file() and p.suffix in (".xlsx", ".ods")
    }
    assert made_files == kept_files


KEYS = OFFICE / "keys"


@pytest.mark.parametrize(
    "name",
    ["source.xlsx", "libreoffice.xlsx", "libreoffice.ods", "gnumeric.xlsx", "gnumeric.ods"],
)
def test_key_cells_typed_as_numbers_count_as_shown(name: str) -> None:
    """CONTRACT §1: a `Nr.` number cell formatted `0.00` shows 1.10 and is initiative 1.10,
    never 1.1; `0.0` on 2 shows 2.0; a number in `Mål-id` formatted `0.00` is `3.10`. A
    format that shows more than the number (`0.00" stk."`) is an error at the cell."""
    raw = read_sheet(f"2009Q3/{name}", (KEYS / name).read_bytes(), "Tal")
    nr = [r.values[0] for r in raw.rows]
    target_ids = [r.values[4] for r in raw.rows]
    assert nr[0] == "1.10" and nr[2] == "2.0"
    assert str(nr[1]) == "1.4" or nr[1] == 1.4  # General: the number as itself
    assert target_ids[3] == "3.10"
    (note,) = raw.notes
    assert (note.rule, note.cell, note.severity, note.column) == (
        "noegle_talformat",
        "A6",
        "fejl",
        "Nr.",
    )
    figures = parse_figures([_frame(raw)], set())
    assert [f.initiative for f in figures][:3] == ["1.10", "1.4", "2.0"]


def _frame(raw: Any) -> Any:
    from kvartal.tables import sheet_frame

    return sheet_frame(raw, "figures")
