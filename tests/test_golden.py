"""The golden quarter: the whole pipeline against seed 000, worked out by hand.

`examples/inbox/` rebuilds "Bilag 1, Status: Beskæftigelsesaftale 2009, 3. kvartal" from
spreadsheets (see examples/README.md). This test runs the real command on a copy of it and
holds the published fulfilment against numbers computed by hand from the rows in
examples/make_inbox.py and the rules of CONTRACT §5, with the arithmetic in comments. None
of the expected values were produced by running the code: if the code and this file
disagree, one of them is wrong, and the comment says which arithmetic the contract asks for.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.links import dead_links

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_INBOX = REPO / "examples" / "inbox"
QUARTER = "2009Q3"

# Tests that run `kvartal run` start Prefect flows against the session's API.
slow = pytest.mark.slow

# --- Hand-worked expectations ------------------------------------------------------------
# Window 2009Q1–2009Q4 unless stated: n = 4 quarters, as of 2009Q3 elapsed e = 3.
# sum:     A = Q1 + Q2 + Q3, E = T × 3/4, fulfilment = A / T, pace = A / E,
#          forecast = Forventet if given, else A × 4/3.
# seneste: A = the Q3 level, E = T (no baseline), pace = fulfilment, forecast = A.
# Ratios are compared to 4 decimals (fulfilment.json rounds them so).
EXPECTED: dict[str, dict[str, Any]] = {
    # CONTRACT worked example. 45 + 50 + 52 = 147; E = 150 × 3/4 = 112.5;
    # 147/150 = 0.98; 147/112.5 = 1.30667; no Forventet → 147 × 4/3 = 196; pace ≥ 1.
    "1.5-a": dict(
        initiative="1.5",
        metric="henviste",
        unit="antal",
        direction="mindst",
        target=150,
        target_max=None,
        window=["2009Q1", "2009Q4"],
        elapsed=3,
        actual=147,
        expected_to_date=112.5,
        fulfilment=0.98,
        pace=1.3067,
        forecast=196,
        status="on_track",
    ),
    # CONTRACT worked example. 25 + 26 + 20 = 71; E = 500 × 3/4 = 375; 71/500 = 0.142;
    # 71/375 = 0.18933; forecast 71 × 4/3 = 94.6667; pace < 0.9.
    "1.4-b": dict(
        metric="deltagere",
        target=500,
        elapsed=3,
        actual=71,
        expected_to_date=375,
        fulfilment=0.142,
        pace=0.1893,
        forecast=94.6667,
        status="off_track",
    ),
    # CONTRACT worked example. pct., seneste: Q3 Tæller/Nævner 1.032/1.200 → 100 × 1032 /
    # 1200 = 86 (Værdi "86 pct." agrees); E = T = 90; 86/90 = 0.95556 = pace;
    # Forventet 90; 0.9 ≤ pace < 1.
    "1.1-a": dict(
        metric="aktiveret_6_mdr",
        unit="pct.",
        direction="mindst",
        target=90,
        elapsed=3,
        actual=86,
        expected_to_date=90,
        fulfilment=0.9556,
        pace=0.9556,
        forecast=90,
        status="at_risk",
    ),
    # CONTRACT worked example. interval 60–70: 40 (Q2) + 35 (Q3) = 75 ≥ 60 → achieved,
    # above 70; fulfilment 75/60 = 1.25; E = 60 × 3/4 = 45; pace 75/45 = 1.66667;
    # forecast 75 × 4/3 = 100.
    "3.1-a": dict(
        metric="fritidsjob",
        direction="interval",
        target=60,
        target_max=70,
        elapsed=3,
        actual=75,
        expected_to_date=45,
        fulfilment=1.25,
        pace=1.6667,
        forecast=100,
        status="achieved",
        above_range=True,
    ),
    # Whole figures only (parts are a breakdown): 20 + 22 + 14 = 56 ≥ 50 → achieved;
    # 56/50 = 1.12; E = 37.5; 56/37.5 = 1.49333; forecast 56 × 4/3 = 74.6667.
    "3.4-a": dict(
        metric="placeret",
        target=50,
        elapsed=3,
        actual=56,
        expected_to_date=37.5,
        fulfilment=1.12,
        pace=1.4933,
        forecast=74.6667,
        status="achieved",
    ),
    # 48 + 71 + 92 = 211; E = 400 × 3/4 = 300; 211/400 = 0.5275; 211/300 = 0.70333;
    # Forventet 311.
    "1.3-b": dict(
        metric="forløb",
        target=400,
        elapsed=3,
        actual=211,
        expected_to_date=300,
        fulfilment=0.5275,
        pace=0.7033,
        forecast=311,
        status="off_track",
    ),
    # 55 + 70 + 45 = 170; E = 150; 170/200 = 0.85; 170/150 = 1.13333; Forventet 200.
    "1.9-a": dict(
        metric="vejledningsforløb",
        target=200,
        actual=170,
        expected_to_date=150,
        fulfilment=0.85,
        pace=1.1333,
        forecast=200,
        status="on_track",
    ),
    # 27 + 32 + 43 = 102 ≥ 100; 102/100 = 1.02; E = 75; 102/75 = 1.36; 102 × 4/3 = 136.
    "1.9-b": dict(
        metric="løntilskud",
        target=100,
        actual=102,
        expected_to_date=75,
        fulfilment=1.02,
        pace=1.36,
        forecast=136,
        status="achieved",
    ),
    # 40 + 35 + 7 = 82; E = 75; 82/100 = 0.82; 82/75 = 1.09333; Forventet 100.
    "1.10-a": dict(
        metric="booket",
        target=100,
        actual=82,
        expected_to_date=75,
        fulfilment=0.82,
        pace=1.0933,
        forecast=100,
        status="on_track",
    ),
    # 70 + 85 + ca. 88 = 243 ≥ 200; 243/200 = 1.215; E = 150; 243/150 = 1.62;
    # 243 × 4/3 = 324; the Q3 figure is "ca." so the result is approximate.
    "2.1-a": dict(
        metric="forløb",
        target=200,
        actual=243,
        expected_to_date=150,
        fulfilment=1.215,
        pace=1.62,
        forecast=324,
        status="achieved",
        approximate=True,
    ),
    # 80 + 95 + 111 = 286; E = 480 × 3/4 = 360; 286/480 = 0.59583; 286/360 = 0.79444;
    # Forventet "ca. 400".
    "2.2-b": dict(
        metric="vejledninger",
        target=480,
        actual=286,
        expected_to_date=360,
        fulfilment=0.5958,
        pace=0.7944,
        forecast=400,
        status="off_track",
    ),
    # seneste: Q3 level 31 (Q2 12); E = T = 30; 31/30 = 1.03333 = pace; forecast = A.
    "1.6-a": dict(
        metric="integrationsstillinger",
        target=30,
        actual=31,
        expected_to_date=30,
        fulfilment=1.0333,
        pace=1.0333,
        forecast=31,
        status="achieved",
    ),
    # 30 + 41 + 26 = 97; E = 150; 97/200 = 0.485; 97/150 = 0.64667; Forventet "ca. 115".
    "1.7-a": dict(
        metric="kursister",
        target=200,
        actual=97,
        expected_to_date=150,
        fulfilment=0.485,
        pace=0.6467,
        forecast=115,
        status="off_track",
    ),
    # 0 + 0 + 0 = 0 (a real zero, not missing); E = 25 × 3/4 = 18.75; 0/25 = 0; pace 0;
    # forecast 0 × 4/3 = 0.
    "1.7-c": dict(
        metric="mentoruddannelse",
        target=25,
        actual=0,
        expected_to_date=18.75,
        fulfilment=0.0,
        pace=0.0,
        forecast=0,
        status="off_track",
    ),
    # 5 + 5 + 4 = 14 trips of 2 × 40 = 80; E = 60; 14/80 = 0.175; 14/60 = 0.23333;
    # 14 × 4/3 = 18.6667.
    "1.4-a": dict(
        metric="ture",
        target=80,
        actual=14,
        expected_to_date=60,
        fulfilment=0.175,
        pace=0.2333,
        forecast=18.6667,
        status="off_track",
    ),
    # seneste: "ca. 50" extra places in Q3; E = T = 30; 50/30 = 1.66667 = pace.
    "3.3-b": dict(
        metric="ekstra_pladser",
        target=30,
        actual=50,
        expected_to_date=30,
        fulfilment=1.6667,
        pace=1.6667,
        forecast=50,
        status="achieved",
        approximate=True,
    ),
    # Window 2009Q1–2011Q4: n = 12, e = 3. seneste with baseline B = 0, T = 50:
    # E = 0 + (50 − 0) × 3/12 = 12.5; fulfilment (50 − 0)/(50 − 0) = 1.0;
    # pace (50 − 0)/(12.5 − 0) = 4.0; forecast = A = 50. The same Q3 row as 3.3-b.
    "3.3-c": dict(
        metric="ekstra_pladser",
        target=50,
        window=["2009Q1", "2011Q4"],
        elapsed=3,
        actual=50,
        expected_to_date=12.5,
        fulfilment=1.0,
        pace=4.0,
        forecast=50,
        status="achieved",
        approximate=True,
    ),
    # seneste: pt. 33 offered; E = T = 50; 33/50 = 0.66 = pace.
    "2.3-a": dict(
        metric="tilbudt_afklaring",
        target=50,
        actual=33,
        expected_to_date=50,
        fulfilment=0.66,
        pace=0.66,
        forecast=33,
        status="off_track",
    ),
    # Q3 0 only; E = 37.5; 0/50 = 0; Forventet "ca. 25".
    "2.3-c": dict(
        metric="virksomheder",
        target=50,
        actual=0,
        expected_to_date=37.5,
        fulfilment=0.0,
        pace=0.0,
        forecast=25,
        status="off_track",
    ),
    # 5 + 9 + 11 = 25; E = 30; 25/40 = 0.625; 25/30 = 0.83333; Forventet 40.
    "2.4-a": dict(
        metric="forløb",
        target=40,
        actual=25,
        expected_to_date=30,
        fulfilment=0.625,
        pace=0.8333,
        forecast=40,
        status="off_track",
    ),
    # 4 + 8 + 10 = 22; E = 37.5; 22/50 = 0.44; 22/37.5 = 0.58667; 22 × 4/3 = 29.3333.
    "3.2-a": dict(
        metric="forløb",
        target=50,
        actual=22,
        expected_to_date=37.5,
        fulfilment=0.44,
        pace=0.5867,
        forecast=29.3333,
        status="off_track",
    ),
    # Milestones (CONTRACT §5, last paragraph).
    # Due 2009-12-31, Q3 row "nej": not reached, due after 2009-09-30 → on_track.
    "1.3-a": dict(unit="milepæl", due="2009-12-31", reached=None, status="on_track"),
    "1.8-a": dict(unit="milepæl", due="2009-12-31", reached=None, status="on_track"),
    "3.3-a": dict(unit="milepæl", due="2009-12-31", reached=None, status="on_track"),
    # Due 2009-06-30 ("inden sommeren 2009"), Q3 row "nej": due has passed → off_track.
    "1.2-a": dict(unit="milepæl", due="2009-06-30", reached=None, status="off_track"),
    # Due 2009-01-31, reached 2009-03-31 (a Q1 row, read as history) → achieved, late.
    "2.2-a": dict(
        unit="milepæl", due="2009-01-31", reached="2009-03-31", status="achieved", late=True
    ),
    # No figure reported in the window → no_data, nothing to compute.
    "1.10-b": dict(actual=None, fulfilment=None, status="no_data"),
    "1.1-r": dict(
        metric="ekstra_beskæftigede",
        target=2000,
        window=["2009Q1", "2010Q4"],
        actual=None,
        status="no_data",
    ),
}

# Every catalogue target whose window contains 2009Q3: all but 1.2-b (window 2010Q1–2010Q4).
ACTIVE = [
    "1.1-a",
    "1.1-r",
    "1.2-a",
    "1.2-r",
    "1.3-a",
    "1.3-b",
    "1.3-r",
    "1.4-a",
    "1.4-b",
    "1.4-r",
    "1.5-a",
    "1.6-a",
    "1.6-r",
    "1.7-a",
    "1.7-b",
    "1.7-c",
    "1.7-r",
    "1.8-a",
    "1.8-r",
    "1.9-a",
    "1.9-b",
    "1.9-r",
    "1.10-a",
    "1.10-b",
    "1.10-r",
    "2.1-a",
    "2.1-r",
    "2.2-a",
    "2.2-b",
    "2.2-r",
    "2.3-a",
    "2.3-b",
    "2.3-c",
    "2.4-a",
    "3.1-a",
    "3.1-r",
    "3.2-a",
    "3.2-r",
    "3.3-a",
    "3.3-b",
    "3.3-c",
    "3.3-r",
    "3.4-a",
    "3.4-r",
]
NOT_ACTIVE = ["1.2-b"]

# The seed's initiatives, numbers and titles as the appendix prints them.
INITIATIVES = {
    "1.1": "Hurtig aktivering af jobparate indvandrere på kontanthjælp",
    "1.2": "Partnerskaber med virksomheder om indslusning til arbejde",
    "1.3": "Pulje til opkvalificering i mindre partnerskabsvirksomheder",
    "1.4": "Ny jobbus i boligområderne",
    "1.5": "Styrket indsats mod langvarigt sygefravær",
    "1.6": "Flere integrationsstillinger i Københavns Kommune",
    "1.7": "Kompetence-udvikling af alle medarbejdere i BIF",
    "1.8": "Mere brugervenligt IT-selvbetjening i jobcentret",
    "1.9": "Vejledning og løntilskud til familieforsørgede indvandrerkvinder",
    "1.10": "Jobklubber for kontanthjælpsmodtagere",
    "2.1": "Hjælp til udsatte indvandrermodre i risiko for marginalisering på grund af "
    "manglende tilknytning til arbejdsmarkedet",
    "2.2": "Opsøgende job - og uddannelsesformidling til unge familieforsørgede",
    "2.3": "Flere personer med handicap i arbejde eller uddannelse",
    "2.4": "Unge psykiske syge i arbejde eller uddannelse",
    "3.1": "Fritidsjob til unge fra problemfyldte boligområder",
    "3.2": "Job baner vejen til uddannelse",
    "3.3": "Praktikbørs og flere elev- og praktikpladser i Københavns Kommune",
    "3.4": "Fra kriminalitet til job og uddannelse",
}
THEMES = [
    "Jobplan: Flere Indvandrere i Arbejde",
    "Styrket indsats mod Fattigdom og Marginalisering",
    "Sikker By",
]
# A few of the seed's sentences that must reach the report unchanged.
SEED_SENTENCES = [
    "Jobbussen har ved udgangen af 3. kvartal været ude på 14 ture med i alt 71 deltagere.",
    "Der er ved udgangen af 3. kvartal henvist og startet i alt 147 personer i forløb.",
    "Målet er 500 deltagere i 2009.",
    "Løntilskud: 2 (8) Praktik: 3 (27) Uddannelse: 6 (12) Ordinær beskæftigelse: 3 (9) "
    "I alt: 14 (56)",
]
PUBLISHED = ["report.html", "report.pdf", "report.xlsx", "fulfilment.json", "manifest.json"]


# --- Running the command ----------------------------------------------------------------


def _command() -> list[str]:
    script = Path(sys.executable).parent / "kvartal"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kvartal.cli"]


def _env(api: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env["DO_NOT_TRACK"] = "1"
    if api:
        env["PREFECT_API_URL"] = api
    return env


def _kvartal(*args: str | Path, api: str | None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [*_command(), *map(str, args)],
        env=_env(api),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(proc.stdout)
    print(proc.stderr, file=sys.stderr)
    return proc


def _run(inbox: Path, publish: Path, review: Path, api: str) -> subprocess.CompletedProcess[str]:
    return _kvartal(
        "run",
        "--quarter",
        QUARTER,
        "--inbox",
        inbox,
        "--publish-to",
        publish,
        "--review-to",
        review,
        api=api,
    )


def _tree(root: Path) -> dict[str, str]:
    """Every file under `root` with its sha256: a version's bytes, to compare later."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@dataclass
class Golden:
    base: Path
    inbox: Path
    publish: Path
    review: Path
    first: subprocess.CompletedProcess[str]
    fulfilment: dict[str, Any]
    manifest: dict[str, Any]
    version1: dict[str, str]


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> Golden:
    """One published run of the example quarter; what it published is kept as it was then."""
    base = tmp_path_factory.mktemp("golden")
    inbox, publish, review = base / "inbox", base / "publish", base / "review"
    shutil.copytree(EXAMPLE_INBOX, inbox)
    first = _run(inbox, publish, review, prefect_api)
    assert first.returncode == 0, first.stderr[-4000:]
    quarter = publish / QUARTER
    return Golden(
        base,
        inbox,
        publish,
        review,
        first,
        json.loads((quarter / "fulfilment.json").read_text(encoding="utf-8")),
        json.loads((quarter / "manifest.json").read_text(encoding="utf-8")),
        _tree(quarter / "versions" / "1"),
    )


def _by_id(fulfilment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["target_id"]: t for t in fulfilment["targets"]}


def _text(page: str) -> str:
    """The words of an HTML page, as a reader sees them."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


# --- Tests that need no Prefect ---------------------------------------------------------


def test_committed_inbox_is_what_the_generator_writes(tmp_path: Path) -> None:
    """The figures a reviewer reads in make_inbox.py are the bytes the pipeline reads."""
    fresh = tmp_path / "inbox"
    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / "make_inbox.py"), str(fresh)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    assert _tree(fresh) == _tree(EXAMPLE_INBOX)


def test_inbox_has_every_format_the_contract_names() -> None:
    q3 = EXAMPLE_INBOX / QUARTER
    suffixes = {p.suffix for p in q3.iterdir()}
    assert {".xlsx", ".ods", ".csv"} <= suffixes
    raw = {p.name: p.read_bytes() for p in q3.glob("*.csv")}
    assert any(b.startswith(b"\xef\xbb\xbf") for b in raw.values()), "a UTF-8 CSV with BOM"
    cp1252 = [b for b in raw.values() if not b.startswith(b"\xef\xbb\xbf")]
    assert cp1252, "a Windows-1252 CSV"
    for b in cp1252:
        with pytest.raises(UnicodeDecodeError):
            b.decode("utf-8")
        text = b.decode("cp1252")
        # Danish numbers as text: thousands with a dot, percentages with "pct."/"%".
        assert ";" in text.splitlines()[0] and "1.032" in text and "86 pct." in text


@slow  # a `kvartal validate` process that imports Great Expectations: over 10 s
def test_validate_accepts_the_example_inbox(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE_INBOX, inbox)
    proc = _kvartal(
        "validate",
        "--quarter",
        QUARTER,
        "--inbox",
        inbox,
        "--review-to",
        tmp_path / "review",
        api=None,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    problems = json.loads(
        (tmp_path / "review" / QUARTER / "validation.json").read_text(encoding="utf-8")
    )
    assert [p for p in problems if p["severity"] == "fejl"] == []


# --- The published quarter --------------------------------------------------------------


@slow
def test_first_run_publishes_every_file(golden: Golden) -> None:
    quarter = golden.publish / QUARTER
    for name in PUBLISHED:
        assert (quarter / name).is_file(), name
        assert (quarter / "versions" / "1" / name).is_file(), name
    assert (golden.publish / "index.html").is_file()
    assert not (quarter / "versions" / "2").exists()
    # Operators' review files never land in the recipients' folder.
    assert (golden.review / QUARTER / "validation.json").is_file()
    assert (golden.review / QUARTER / "validation.html").is_file()
    assert not list(golden.publish.rglob("validation.*"))


@slow
def test_fulfilment_header(golden: Golden) -> None:
    assert golden.fulfilment["quarter"] == QUARTER
    assert golden.fulfilment["version"] == 1


@slow
def test_every_active_target_appears_exactly_once(golden: Golden) -> None:
    ids = [t["target_id"] for t in golden.fulfilment["targets"]]
    assert sorted(ids) == sorted(ACTIVE)
    assert len(ids) == len(set(ids))
    for gone in NOT_ACTIVE:
        assert gone not in ids


def test_active_list_matches_the_catalogue() -> None:
    """ACTIVE is hand-written; this keeps it honest against the catalogue's Mål-id column."""
    from openpyxl import load_workbook

    [path] = (EXAMPLE_INBOX / "targets").glob("*.xlsx")
    ws = load_workbook(path, read_only=True)["Mål"]
    rows = list(ws.iter_rows(values_only=True))
    column = rows[0].index("Mål-id")
    assert sorted(r[column] for r in rows[1:] if r[column]) == sorted(ACTIVE + NOT_ACTIVE)


@slow
@pytest.mark.parametrize("target_id", sorted(EXPECTED))
def test_fulfilment_matches_hand_worked_figures(golden: Golden, target_id: str) -> None:
    result = _by_id(golden.fulfilment)[target_id]
    assert result["initiative"] == target_id.split("-")[0]
    for key, want in EXPECTED[target_id].items():
        got = result.get(key, "<missing>")
        if isinstance(want, float | int) and not isinstance(want, bool):
            assert isinstance(got, int | float) and not isinstance(got, bool), (key, got)
            assert got == pytest.approx(want, abs=1e-4), (target_id, key, got, want)
        else:
            assert got == want, (target_id, key, got, want)


@slow
def test_milestones_carry_due_and_reached(golden: Golden) -> None:
    by_id = _by_id(golden.fulfilment)
    for target_id in ("1.2-a", "1.3-a", "1.8-a", "2.2-a", "2.3-b", "3.3-a"):
        result = by_id[target_id]
        assert result["unit"] == "milepæl"
        assert "due" in result and "reached" in result
    # 2.3-b: due 2009-12-31 (our date), Q3 row "nej" → on_track.
    assert by_id["2.3-b"]["status"] == "on_track"


@slow
def test_ratios_are_fractions_and_missing_values_null(golden: Golden) -> None:
    for result in golden.fulfilment["targets"]:
        for key in ("actual", "expected_to_date", "fulfilment", "pace", "forecast"):
            assert key in result
        if result["status"] == "no_data":
            assert result["actual"] is None and result["fulfilment"] is None


@slow
def test_manifest_names_complete_files(golden: Golden) -> None:
    manifest, quarter = golden.manifest, golden.publish / QUARTER
    assert manifest["version"] == 1
    names = {f["name"] for f in manifest["files"]}
    assert {"report.html", "report.pdf", "report.xlsx", "fulfilment.json"} <= names
    for f in manifest["files"]:
        data = (quarter / f["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"], f["name"]
        assert len(data) == f["size"], f["name"]
    sources = json.dumps(manifest, ensure_ascii=False)
    for path in EXAMPLE_INBOX.rglob("*"):
        # targets/centre.csv holds the centres' contacts for the collection (CONTRACT §9),
        # not figures: it is no source of the report, so a changed address never publishes
        # a new version.
        if path.relative_to(EXAMPLE_INBOX).as_posix() == "targets/centre.csv":
            continue
        if path.is_file() and path.parent.name in ("targets", QUARTER):
            assert hashlib.sha256(path.read_bytes()).hexdigest() in sources, path.name


@slow
def test_manifest_accounts_for_every_row(golden: Golden) -> None:
    """Rows counted by hand in the example inbox: the catalogue has 45 targets; the
    figures have 21 rows in 2009Q1 (3 + 6 + 4 + 8), 22 in 2009Q2 (3 + 6 + 4 + 8 + 1) and 30
    in 2009Q3 (7 + 7 + 5 + 8 + 3). Every row feeds a target; the 16 rows with a problem are
    the catalogue rows of the active targets without a figure (`mangler_tal`)."""
    assert golden.manifest["rows"] == {
        "rows_read": 45 + 21 + 22 + 30,
        "rows_used": 118,
        "rows_with_problems": 16,
    }


@slow
def test_report_html_reproduces_the_appendix(golden: Golden) -> None:
    text = _text((golden.publish / QUARTER / "report.html").read_text(encoding="utf-8"))
    for nr, title in INITIATIVES.items():
        assert nr in text, nr
        assert " ".join(title.split()) in text, title
    for theme in THEMES:
        assert theme in text, theme
    for sentence in SEED_SENTENCES:
        assert sentence in text, sentence


@slow
def test_report_pdf_and_workbook(golden: Golden) -> None:
    from openpyxl import load_workbook

    quarter = golden.publish / QUARTER
    assert (quarter / "report.pdf").read_bytes().startswith(b"%PDF-")
    wb = load_workbook(quarter / "report.xlsx", read_only=True)
    cells = " ".join(
        str(v)
        for ws in wb.worksheets
        for row in ws.iter_rows(values_only=True)
        for v in row
        if v is not None
    )
    for target_id in ("1.5-a", "3.4-a", "3.3-c"):
        assert target_id in cells or EXPECTED[target_id].get("metric", "") in cells


@slow
def test_index_links_the_quarter(golden: Golden) -> None:
    index = (golden.publish / "index.html").read_text(encoding="utf-8")
    assert QUARTER in index and "report.html" in index


@slow
def test_every_link_in_the_published_pages_leads_to_a_published_file(golden: Golden) -> None:
    """index.html, udvikling.html, the version's report and its copy at `<quarter>/`, which
    sits two folders nearer the publish root: its links to each target's course lead there
    from where it lies, and its manifest names the copy's own bytes."""
    assert dead_links(golden.publish) == []
    quarter = golden.publish / QUARTER
    copy = (quarter / "report.html").read_text(encoding="utf-8")
    assert len(re.findall(r'href="\.\./udvikling\.html#[^"]+"', copy)) >= 10
    for entry in json.loads((quarter / "manifest.json").read_text(encoding="utf-8"))["files"]:
        data = (quarter / entry["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["name"]


# --- Idempotency and corrections --------------------------------------------------------


@slow
def test_same_inbox_again_publishes_nothing_new(golden: Golden, prefect_api: str) -> None:
    again = _run(golden.inbox, golden.publish, golden.review, prefect_api)
    assert again.returncode == 0, again.stderr[-4000:]
    quarter = golden.publish / QUARTER
    assert json.loads((quarter / "manifest.json").read_text(encoding="utf-8"))["version"] == 1
    assert not (quarter / "versions" / "2").exists()
    assert _tree(quarter / "versions" / "1") == golden.version1


@slow
def test_corrected_figure_publishes_version_2(golden: Golden, prefect_api: str) -> None:
    corrected = golden.base / "corrected"
    shutil.copytree(golden.inbox, corrected)
    path = corrected / QUARTER / "BIF Stab.csv"
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    [row] = [r for r in rows if r[:3] == ["1.7", "kursister", "2009Q3"]]
    assert row[3] == "26"
    row[3] = "27"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8-sig"))

    third = _run(corrected, golden.publish, golden.review, prefect_api)
    assert third.returncode == 0, third.stderr[-4000:]
    quarter = golden.publish / QUARTER
    assert json.loads((quarter / "manifest.json").read_text(encoding="utf-8"))["version"] == 2
    assert (quarter / "versions" / "2" / "manifest.json").is_file()
    assert _tree(quarter / "versions" / "1") == golden.version1
    fulfilment = json.loads((quarter / "fulfilment.json").read_text(encoding="utf-8"))
    assert fulfilment["version"] == 2
    # 30 + 41 + 27 = 98; 98/200 = 0.49.
    result = _by_id(fulfilment)["1.7-a"]
    assert result["actual"] == 98 and result["fulfilment"] == pytest.approx(0.49, abs=1e-4)
