"""Collection (CONTRACT §9): who owes what, what arrived when, and the bad input around it.

The inbox is `tests/data/collection/inbox` (its README says what each file holds); the
expected lines, JSON and exit status below are worked out by hand from those files and the
times set here. 2009Q3's deadline: 30 September + 5 days = 2009-10-05 23:59 (+02:00).
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from kvartal.cli import main

DATA = Path(__file__).resolve().parent / "data" / "collection" / "inbox"
TIMES = {
    "2009Q2/Center A.csv": "2009-07-03T10:00:00+02:00",
    "2009Q3/Center A.csv": "2009-10-02T09:14:00+02:00",
    "2009Q3/center b.csv": "2009-10-05T23:58:00+02:00",
    "2009Q3/Ungdom.csv": "2009-10-06T00:01:00+02:00",
}


def set_times(inbox: Path, times: dict[str, str]) -> None:
    for key, when in times.items():
        stamp = datetime.fromisoformat(when).timestamp()
        os.utime(inbox / key, (stamp, stamp))


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    root = tmp_path / "inbox"
    shutil.copytree(DATA, root)
    set_times(root, TIMES)
    return root


def collection(
    inbox: Path, review: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[str], str]:
    code = main(
        ["collection", "--quarter", "2009Q3", "--inbox", str(inbox), "--review-to", str(review)]
    )
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_lines_json_and_exit(inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code, lines, _ = collection(inbox, tmp_path / "review", capsys)
    assert lines == [
        "Center A: afleveret 2009-10-02 09:14 (2009Q3/Center A.csv)",
        "Center B: fejl 1 i 2009Q3/center b.csv, afleveret 2009-10-05 23:58",
        "Center C: for sent, afleveret 2009-10-06 00:01 (2009Q3/Ungdom.csv)",
        "Center D: mangler (1 mål uden tal)",
    ]
    assert code == 2
    doc = json.loads((tmp_path / "review" / "2009Q3" / "indsamling.json").read_text())
    assert doc["quarter"] == "2009Q3"
    assert doc["deadline"] == "2009-10-05T23:59:00+02:00"
    assert doc["summary"] == {"expected": 4, "delivered": 3, "on_time": 2, "without_errors": 2}
    by = {c["centre"]: c for c in doc["centres"]}
    assert list(by) == ["Center A", "Center B", "Center C", "Center D"]
    assert by["Center A"] == {
        "centre": "Center A",
        "emails": ["a@kommune.example"],
        "file": "2009Q3/Center A.csv",
        "files": ["2009Q3/Center A.csv"],
        "delivered_at": "2009-10-02T09:14:00+02:00",
        "on_time": True,
        "errors": 0,
        "warnings": 0,
        "owed": ["1.1-a", "1.2-a"],
        "missing": ["1.2-a"],
    }
    assert by["Center B"]["emails"] == ["b1@kommune.example", "b2@kommune.example"]
    assert (by["Center B"]["errors"], by["Center B"]["on_time"]) == (1, True)
    assert (by["Center B"]["owed"], by["Center B"]["missing"]) == (["1.2-a", "2.1-a"], ["2.1-a"])
    # 3.3-a was due 2009-06-30, before Q3 began: not owed; 3.2-a (due 2009-12-31) is.
    assert (by["Center C"]["owed"], by["Center C"]["missing"]) == (["3.1-a", "3.2-a"], ["3.2-a"])
    assert by["Center C"]["on_time"] is False
    assert by["Center D"]["file"] is None and by["Center D"]["delivered_at"] is None
    assert by["Center D"]["missing"] == ["4.1-a"]
    html = (tmp_path / "review" / "2009Q3" / "indsamling.html").read_text()
    assert "Center D" in html and "mangler" in html


def test_all_on_time_without_errors_exits_0(
    inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    (inbox / "2009Q3" / "center b.csv").write_text(
        "Nr.;Nøgletal;Kvartal;Værdi\n2.1;henviste;2009Q3;40\n", encoding="utf-8"
    )
    (inbox / "2009Q3" / "Center D.csv").write_text(
        "Nr.;Nøgletal;Kvartal;Værdi\n4.1;ture;2009Q3;9\n", encoding="utf-8"
    )
    set_times(
        inbox,
        {
            "2009Q3/center b.csv": "2009-10-05T23:59:40+02:00",  # within the deadline's minute
            "2009Q3/Center D.csv": "2009-10-01T08:00:00+02:00",
            "2009Q3/Ungdom.csv": "2009-10-05T12:00:00+02:00",
        },
    )
    code, lines, _ = collection(inbox, tmp_path / "review", capsys)
    assert [line.split(":")[1].split()[0] for line in lines] == ["afleveret"] * 4
    assert code == 0


def test_bad_contacts_and_files(inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    (inbox / "targets" / "centre.csv").write_text(
        "Ansvarlig;E-mail;Fil\n"
        "Center A;a@kommune.example;\n"
        'center b;"b1@kommune.example; b2 kommune.example";\n'
        "Center C;c@kommune.example;Ungdom\n"
        "Center Q;q@kommune.example;\n",
        encoding="utf-8",
    )
    (inbox / "2009Q3" / "notater.csv").write_text("Nr.;Nøgletal;Kvartal;Værdi\n", encoding="utf-8")
    (inbox / "2009Q3" / "Center A.xlsx").write_bytes(
        (inbox / "2009Q3" / "Center A.csv").read_bytes()
    )
    set_times(inbox, {"2009Q3/Center A.xlsx": "2009-10-03T09:00:00+02:00"})
    code, lines, err = collection(inbox, tmp_path / "review", capsys)
    problems = {
        (p["file"], p["cell"], p["rule"], p["severity"]): p
        for p in json.loads((tmp_path / "review" / "2009Q3" / "indsamling.json").read_text())[
            "problems"
        ]
    }
    # A malformed address: an error at its cell (column B, row 3); the good one still counts.
    bad = problems[("targets/centre.csv", "B3", "centre_adresse", "fejl")]
    assert "b2 kommune.example" in bad["message"] and "Center B" not in bad["message"]
    # Center D is named by 4.1-a (row 8) and Center E by 5.1-a (row 9), column N: no contacts.
    assert ("targets/katalog.csv", "N8", "centre_uden_kontakt", "advarsel") in problems
    assert ("targets/katalog.csv", "N9", "centre_uden_kontakt", "advarsel") in problems
    # A contact row naming no centre of the catalogue.
    assert ("targets/centre.csv", "A5", "centre_ukendt", "advarsel") in problems
    # A file no centre claims.
    assert ("2009Q3/notater.csv", None, "fil_uden_centre", "advarsel") in problems
    # Two files claiming Center A: both are read, as the run reads them, and the newer one
    # carries a warning naming both. The .xlsx holds CSV text: the run cannot read it, an
    # error of Center A's delivery.
    two = problems[("2009Q3/Center A.xlsx", None, "centre_flere_filer", "advarsel")]
    assert "2009Q3/Center A.csv og 2009Q3/Center A.xlsx" in two["message"]
    assert lines[0].startswith("Center A: fejl")
    assert "i 2009Q3/Center A.csv, 2009Q3/Center A.xlsx, afleveret" in lines[0]
    assert "centre_adresse" in err and "B3" in err
    doc = json.loads((tmp_path / "review" / "2009Q3" / "indsamling.json").read_text())
    assert doc["centres"][1]["emails"] == ["b1@kommune.example"]
    assert code == 2


def test_validation_html_shows_the_collection(
    inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    review = tmp_path / "review"
    code = main(
        ["validate", "--quarter", "2009Q3", "--inbox", str(inbox), "--review-to", str(review)]
    )
    capsys.readouterr()
    assert code == 2  # the error in center b.csv, D2
    html = (review / "2009Q3" / "validation.html").read_text(encoding="utf-8")
    table = html[html.index("Indsamling: hvem har afleveret") :]
    for centre, status in [
        ("Center A", "afleveret"),
        ("Center B", "fejl (1)"),
        ("Center C", "for sent, afleveret"),
        ("Center D", "mangler"),
    ]:
        row = table[table.index(f"<td>{centre}</td>") :]
        assert row[: row.index("</tr>")].count(status) >= 1, centre


def test_collection_summary_for_the_register_overview(
    inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    from kvartal.collection import collection_summary
    from kvartal.config import settings

    cfg, limits = settings().collection(), settings().read_limits()
    expected = {"expected": 4, "delivered": 3, "on_time": 2, "without_errors": 2}
    review = tmp_path / "review"
    assert collection_summary(str(inbox), "2009Q3", cfg, limits) == expected  # collected here
    main(["validate", "--quarter", "2009Q3", "--inbox", str(inbox), "--review-to", str(review)])
    capsys.readouterr()
    doc = json.loads((review / "2009Q3" / "indsamling.json").read_text(encoding="utf-8"))
    assert doc["summary"] == expected  # validate wrote it from its own validation
    (inbox / "2009Q3" / "Ungdom.csv").unlink()  # read from the review location, not the inbox
    assert collection_summary(str(inbox), "2009Q3", cfg, limits, str(review)) == expected


def test_a_file_in_a_format_not_read_is_no_delivery_without_errors(
    inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    (inbox / "2009Q3" / "Center D.pdf").write_bytes(b"%PDF-1.4 tal for 4.1")
    set_times(inbox, {"2009Q3/Center D.pdf": "2009-10-04T12:00:00+02:00"})
    code, lines, err = collection(inbox, tmp_path / "review", capsys)
    assert lines[3] == "Center D: fejl 1 i 2009Q3/Center D.pdf, afleveret 2009-10-04 12:00"
    # the inbox's own rule (fil_ignoreret) counts it as an error of that centre's delivery
    doc = json.loads((tmp_path / "review" / "2009Q3" / "indsamling.json").read_text())
    (centre_d,) = [c for c in doc["centres"] if c["centre"] == "Center D"]
    assert centre_d["file"] == "2009Q3/Center D.pdf" and centre_d["errors"] == 1
    assert code == 2


def test_contacts_in_a_centre_sheet_of_the_catalogue_workbook(
    inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    import csv

    from openpyxl import Workbook

    targets = inbox / "targets"
    with (targets / "katalog.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    book = Workbook()
    book.active.title = "Mål"
    for row in rows:
        book["Mål"].append(row)
    contacts = book.create_sheet("Centre")
    contacts.append(["Ansvarlig", "E-mail"])
    contacts.append(["Center A", "a@kommune.example"])
    contacts.append(["Center B", "b@kommune"])  # no domain: malformed
    contacts.append(["Center C", "c@kommune.example"])
    book.save(targets / "katalog.xlsx")
    (targets / "katalog.csv").unlink()
    (targets / "centre.csv").unlink()
    code, lines, err = collection(inbox, tmp_path / "review", capsys)
    assert "targets/katalog.xlsx:Centre:B3: centre_adresse:" in err
    # Center C's file is Ungdom.csv only under the old contacts' `Fil`: now nobody claims it.
    assert "2009Q3/Ungdom.csv::: fil_uden_centre:" in err
    assert lines[2] == "Center C: mangler (2 mål uden tal)"
    doc = json.loads((tmp_path / "review" / "2009Q3" / "indsamling.json").read_text())
    assert [c["emails"] for c in doc["centres"]] == [
        ["a@kommune.example"],
        [],
        ["c@kommune.example"],
        [],
    ]
    assert code == 2


def test_a_centre_with_two_files_delivers_what_both_hold(
    inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """The quarterly run reads every file in the quarter's folder, so Center C's delivery
    is both its files: Ungdom.csv has 3.1's figure, a later Ungdom.xlsx the milestone 3.2-a
    reached. Nothing is missing and nothing is an error; a warning names both files, in
    case one was meant to replace the other."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Tal"
    sheet.append(["Nr.", "Nøgletal", "Kvartal", "Værdi", "Mål-id", "Milepæl nået"])
    sheet.append(["3.2", None, "2009Q3", None, "3.2-a", "2009-09-15"])
    book.save(inbox / "2009Q3" / "Ungdom.xlsx")
    set_times(
        inbox,
        {
            "2009Q3/Ungdom.csv": "2009-10-05T12:00:00+02:00",
            "2009Q3/Ungdom.xlsx": "2009-10-05T13:00:00+02:00",
        },
    )
    review = tmp_path / "review"
    code, lines, _ = collection(inbox, review, capsys)
    assert lines[2] == (
        "Center C: afleveret 2009-10-05 13:00 (2009Q3/Ungdom.csv, 2009Q3/Ungdom.xlsx), 1 advarsel"
    )
    doc = json.loads((review / "2009Q3" / "indsamling.json").read_text())
    c = next(c for c in doc["centres"] if c["centre"] == "Center C")
    assert (c["file"], c["files"]) == (
        "2009Q3/Ungdom.xlsx",
        ["2009Q3/Ungdom.csv", "2009Q3/Ungdom.xlsx"],
    )
    assert (c["errors"], c["warnings"], c["on_time"]) == (0, 1, True)
    assert (c["owed"], c["missing"]) == (["3.1-a", "3.2-a"], [])
    rules = {(p["file"], p["rule"], p["severity"]) for p in doc["problems"]}
    assert ("2009Q3/Ungdom.xlsx", "centre_flere_filer", "advarsel") in rules
    assert code == 2  # Center B's error, as before

    # the quarterly run's own check agrees: nothing blocks in Center C's files
    code = main(
        ["validate", "--quarter", "2009Q3", "--inbox", str(inbox), "--review-to", str(review)]
    )
    out, err = capsys.readouterr()
    assert not [line for line in out.splitlines() if line.startswith("2009Q3/Ungdom")]
    assert "3.2-a" not in out and "3.1-a" not in out  # both served, neither file blocked
    assert "2009Q3: 1 fejl" in err  # Center B's, the only one
