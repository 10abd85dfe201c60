"""Every row read feeds a target or is named by a problem; otherwise nothing is published."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kvartal import pipeline
from kvartal.accounting import UnaccountedRows, account, check_accounting
from kvartal.config import RunSettings
from kvartal.gather import Inputs
from kvartal.quarters import Quarter
from kvartal.readers import read_sheet
from kvartal.records import parse_figures, parse_targets
from kvartal.tables import SheetFrame, sheet_frame

Q2, Q3 = Quarter(2009, 2), Quarter(2009, 3)
Q123 = ("2009Q1", "2009Q2", "2009Q3")
EXAMPLE_INBOX = Path(__file__).resolve().parent.parent / "examples" / "inbox"

CATALOGUE = (
    "Aftale;Nr.;Indsats;Mål-id;Måltype;Målbeskrivelse;Nøgletal;Enhed;Retning;Målværdi;"
    "Fra;Til\n"
    "BA;1.4;Jobbus;1.4-b;Indsatsmål;500 deltagere;deltagere;antal;mindst;500;2009Q1;2009Q4\n"
    "BA;1.10;Ledige;1.10-a;Resultatmål;Højst 100;ledige;antal;højst;100;2009Q1;2009Q4\n"
    "BA;;Uden nummer;x-a;Indsatsmål;x;x;antal;mindst;5;2009Q1;2009Q4\n"
)
FIGURES_Q3 = (
    "Nr.;Nøgletal;Kvartal;Værdi;Mål-id\n"
    "1.4;deltagere;2009Q3;30;1.4-B\n"  # row 2: feeds 1.4-b
    "1.4;deltagere/unge;2009Q3;10;\n"  # row 3: a part feeds its whole
    "1.10;ledige;2009Q3;3.5;\n"  # row 4: ambiguous number
    "9.9;ukendt;2009Q3;5;\n"  # row 5: unknown to the catalogue
    "1.4;;2009Q3;;\n"  # row 6: neither Nøgletal nor a value
)
FIGURES_Q2 = (
    "Nr.;Nøgletal;Kvartal;Værdi\n"
    "1.10;LEDIGE;2009Q2;82\n"  # row 2: an earlier quarter feeds too
    "1.4;deltagere;2009-Q2;20\n"  # row 3
)


def frame(file: str, text: str, kind: str) -> SheetFrame:
    return sheet_frame(read_sheet(file, text.encode("utf-8"), "Tal"), kind)


@pytest.mark.parametrize(
    ("extra", "misspelled", "unused"),
    [
        # the forecast column written longer, and no `Forventet`: meant as it, not a note
        (["Forventet værdi"], [("Forventet værdi", "E", "Forventet")], []),
        (["milepæl nået (dato)"], [("milepæl nået (dato)", "E", "Milepæl nået")], []),
        # beside the column itself, a longer header is the centre's own
        (["Forventet", "Forventet værdi"], [], [("Forventet værdi", "F")]),
        # free text: a note column is no lost figure
        (["Kommentar fra chef"], [], [("Kommentar fra chef", "E")]),
        (["Noter"], [], [("Noter", "E")]),
    ],
)
def test_a_header_that_lengthens_a_missing_contract_column_is_named_as_it(
    extra: list[str], misspelled: list[tuple[str, str, str]], unused: list[tuple[str, str]]
) -> None:
    header = ";".join(["Nr.", "Nøgletal", "Kvartal", "Værdi", *extra])
    row = ";".join(["1.4", "deltagere", "2009Q3", "30", *["x"] * len(extra)])
    found = frame("2009Q3/c.csv", f"{header}\n{row}\n", "figures")
    assert (found.misspelled, found.unused) == (misspelled, unused)


def inputs() -> tuple[list[SheetFrame], dict[Quarter, list[SheetFrame]]]:
    catalogue = [frame("targets/k.csv", CATALOGUE, "catalogue")]
    figures = {
        Q3: [frame("2009Q3/c.csv", FIGURES_Q3, "figures")],
        Q2: [frame("2009Q2/c.csv", FIGURES_Q2, "figures")],
    }
    return catalogue, figures


def raw_inputs() -> Inputs:
    return Inputs(
        quarter=Q3,
        catalogue=[read_sheet("targets/k.csv", CATALOGUE.encode("utf-8"), "Tal")],
        figures={
            Q3: [read_sheet("2009Q3/c.csv", FIGURES_Q3.encode("utf-8"), "Tal")],
            Q2: [read_sheet("2009Q2/c.csv", FIGURES_Q2.encode("utf-8"), "Tal")],
        },
    )


def test_validated_inbox_accounts_for_every_row() -> None:
    evaluated = pipeline.evaluate(pipeline.validate_inputs(raw_inputs()), RunSettings())
    # Read: 3 catalogue rows + 5 + 2 figure rows. Used: catalogue rows 2 and 3 (row 4 has
    # no Nr.) and figure rows Q3 2, 3 and Q2 2, 3. Named: catalogue row 4 (mangler_vaerdi),
    # Q3 row 4 (ikke_tal), Q3 row 5 (ukendt_noegletal), Q3 row 6 (mangler_vaerdi).
    assert evaluated.accounting.counts() == {
        "rows_read": 10,
        "rows_used": 6,
        "rows_with_problems": 4,
    }
    assert evaluated.accounting.unaccounted == []


def test_a_row_neither_used_nor_named_stops_the_run() -> None:
    """A row the records cannot type, with no problem naming it, is a silent drop."""
    catalogue, figures = inputs()
    targets = parse_targets(catalogue)
    rows = parse_figures([f for fs in figures.values() for f in fs])
    found = account(catalogue, figures, targets, rows, [])
    assert found.unaccounted == [
        ("2009Q3/c.csv", None, 4),
        ("2009Q3/c.csv", None, 5),
        ("2009Q3/c.csv", None, 6),
        ("targets/k.csv", None, 4),
    ]
    with pytest.raises(UnaccountedRows, match=r"2009Q3/c.csv række 4"):
        check_accounting(catalogue, figures, targets, rows, [])


# A fault put into the records step on purpose: the row 2009Q3/BIF Stab.csv 2 is dropped
# between validation and the arithmetic. Run in its own process, as `kvartal run` runs.
DROP_ONE_ROW = """
import sys
import kvartal.records
from kvartal import cli
from kvartal.records import parse_figures

def drop_one(frames, excluded=frozenset()):
    return [f for f in parse_figures(frames, excluded)
            if not (f.source and f.source.file == "2009Q3/BIF Stab.csv" and f.source.row == 2)]

kvartal.records.parse_figures = drop_one
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_the_flow_refuses_to_publish_when_a_row_would_vanish(
    tmp_path: Path, prefect_api: str
) -> None:
    """A row lost between validation and the arithmetic fails `kvartal run` with exit
    status 1, names the row, and publishes nothing."""
    import os
    import shutil
    import subprocess
    import sys

    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE_INBOX, inbox)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            DROP_ONE_ROW,
            "run",
            "--quarter",
            "2009Q3",
            "--inbox",
            str(inbox),
            "--publish-to",
            str(tmp_path / "publish"),
            "--review-to",
            str(tmp_path / "review"),
        ],
        env=dict(os.environ, PREFECT_API_URL=prefect_api),
        capture_output=True,
        text=True,
        timeout=900,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert "1 rækker er hverken brugt" in done.stderr
    assert "2009Q3/BIF Stab.csv række 2" in done.stderr
    assert not (tmp_path / "publish" / "2009Q3" / "manifest.json").exists()


def test_odd_cells_are_named_not_lost() -> None:
    """Cells a program may store in a text column (a date or TRUE as `Nøgletal`, a number or
    a date as `Kvartal`, TRUE as `Kommentar`): each row is used or named by a problem."""
    from datetime import date

    from kvartal.readers import RawRow, RawSheet

    raw = RawSheet(
        "2009Q3/odd.xlsx",
        "Tal",
        1,
        ["Nr.", "Nøgletal", "Kvartal", "Værdi", "Kommentar"],
        [
            RawRow(2, ["1.4", "deltagere", "2009Q3", 1, True]),
            RawRow(3, ["1.4", date(2009, 4, 1), "2009Q3", 1, None]),
            RawRow(4, ["1.4", True, "2009Q3", 1, None]),
            RawRow(5, ["1.10", "ledige", 2009, 1, None]),
            RawRow(6, ["1.10", "ledige", date(2009, 9, 30), 1, None]),
        ],
        [],
    )
    inputs = raw_inputs()
    inputs.figures = {Q3: [raw]}
    checked = pipeline.validate_inputs(inputs)
    assert {
        (p.cell, p.rule) for p in checked.validation.problems if p.file == "2009Q3/odd.xlsx"
    } == {
        ("B3", "ugyldigt_nummer"),
        ("B4", "ugyldigt_nummer"),
        ("C5", "forkert_kvartal"),
        ("C6", "forkert_kvartal"),
    }
    evaluated = pipeline.evaluate(checked, RunSettings())
    assert [f.comment for f in evaluated.fulfilment.figures] == ["SAND"]
    assert evaluated.accounting.unaccounted == []


def _run_kvartal(code: str | None, inbox: Path, tmp_path: Path, api: str) -> Any:
    import os
    import subprocess
    import sys

    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "kvartal.cli"]
    return subprocess.run(
        [
            *command,
            "run",
            "--quarter",
            "2009Q3",
            "--inbox",
            str(inbox),
            "--publish-to",
            str(tmp_path / "publish"),
            "--review-to",
            str(tmp_path / "review"),
        ],
        env=dict(os.environ, PREFECT_API_URL=api),
        capture_output=True,
        text=True,
        timeout=900,
        cwd=Path(__file__).resolve().parent.parent,
    )


def _clerks_inbox(tmp_path: Path) -> Path:
    """The example inbox as a clerk might leave it: a centre's file in a folder that is no
    quarter, an old .xls file, and `Forventet` typed `Forventning`."""
    import shutil

    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE_INBOX, inbox)
    (inbox / "arkiv").mkdir()
    shutil.copy(inbox / "2009Q3" / "Ungecentret.ods", inbox / "arkiv" / "Ungecentret.ods")
    (inbox / "2009Q3" / "Nyt center.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    bif = inbox / "2009Q3" / "BIF Stab.csv"
    text = bif.read_text(encoding="utf-8-sig")
    bif.write_text(text.replace("Forventet", "Forventning", 1), encoding="utf-8-sig")
    return inbox


@pytest.mark.slow
def test_kvartal_run_names_an_unread_folder_file_and_column_and_publishes_nothing(
    tmp_path: Path, prefect_api: str
) -> None:
    import json

    done = _run_kvartal(None, _clerks_inbox(tmp_path), tmp_path, prefect_api)
    assert done.returncode == 2, done.stderr[-3000:]
    assert not (tmp_path / "publish" / "2009Q3" / "manifest.json").exists()
    problems = json.loads((tmp_path / "review" / "2009Q3" / "validation.json").read_text("utf-8"))
    named = {(p["file"], p["cell"], p["rule"], p["severity"]) for p in problems}
    assert ("arkiv/", None, "ukendt_mappe", "fejl") in named
    assert ("2009Q3/Nyt center.xls", None, "xls_fil", "fejl") in named
    assert ("2009Q3/BIF Stab.csv", "G1", "kolonne_stavet", "fejl") in named


# Faults put into kvartal on purpose: the finding that names an unread column is lost.
LOSE_COLUMN_FINDINGS = """
import sys
import kvartal.validation
from kvartal import cli

kvartal.validation.column_problems = lambda frames: []
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_kvartal_run_stops_when_a_column_would_be_left_out_without_a_word(
    tmp_path: Path, prefect_api: str
) -> None:
    import shutil

    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE_INBOX, inbox)
    bif = inbox / "2009Q3" / "BIF Stab.csv"
    text = bif.read_text(encoding="utf-8-sig")
    bif.write_text(text.replace("Forventet", "Forventning", 1), encoding="utf-8-sig")
    done = _run_kvartal(LOSE_COLUMN_FINDINGS, inbox, tmp_path, prefect_api)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "2009Q3/BIF Stab.csv kolonne G »Forventning«" in done.stderr
    assert not (tmp_path / "publish" / "2009Q3" / "manifest.json").exists()


def test_gather_stops_when_a_file_would_be_left_out_without_a_word(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault in the file listing (a file dropped without a finding) stops gather."""
    import shutil

    from kvartal import gather as gather_module
    from kvartal.storage import LocalStorage

    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE_INBOX, inbox)
    listed = gather_module._Reader.data_files

    def forget_one(self: Any, folder: str) -> list[str]:
        return [k for k in listed(self, folder) if not k.endswith("Ungecentret.ods")]

    monkeypatch.setattr(gather_module._Reader, "data_files", forget_one)
    with pytest.raises(gather_module.UnaccountedFiles, match="2009Q3/Ungecentret.ods"):
        gather_module.gather(LocalStorage(inbox), Q3)


@pytest.mark.slow
def test_the_manifest_says_which_columns_were_left_out_and_why(
    tmp_path: Path, prefect_api: str
) -> None:
    """The example inbox publishes; its centre's own column `Intern note` (column K of
    Beskæftigelsescentrene.xlsx, in each of the three quarters read) is listed as left out,
    with the warning that says why."""
    import json
    import shutil

    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE_INBOX, inbox)
    done = _run_kvartal(None, inbox, tmp_path, prefect_api)
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads((tmp_path / "publish" / "2009Q3" / "manifest.json").read_text("utf-8"))
    columns = [x for x in manifest["left_out"] if x["what"] == "kolonne"]
    assert [(x["what"], x["file"], x["rule"], x["value"]) for x in columns] == [
        ("kolonne", f"{q}/Beskæftigelsescentrene.xlsx", "ubrugt_kolonne", "»Intern note« (K)")
        for q in Q123
    ]
    assert all("ikke brugt" in x["why"] for x in columns)
    # The template's cover page and guide are sheets not read: named too, as warnings.
    sheets = sorted(
        (x["file"], x["sheet"], x["rule"]) for x in manifest["left_out"] if x["what"] == "ark"
    )
    assert sheets == [
        *[(f"{q}/Beskæftigelsescentrene.xlsx", "Forside", "ark_ikke_laest") for q in Q123],
        ("targets/Målkatalog Beskæftigelsesaftale 2009.xlsx", "Vejledning", "ark_ikke_laest"),
    ]
    assert len(manifest["left_out"]) == len(columns) + len(sheets)
