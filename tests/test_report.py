"""The files recipients receive, from a small hand-made quarter modelled on seed 000.

The figures are written out by hand (not computed by kvartal.fulfilment) so that these tests
pin down how results are *said*, independently of how they are calculated.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from datetime import date
from html.parser import HTMLParser
from typing import Any

import pytest

from kvartal.model import Figure, Problem, Target, TargetResult, Waiver
from kvartal.quarters import Quarter
from kvartal.report import (
    IndexQuarter,
    IndexVersion,
    PdfAccessibilityError,
    ReportInput,
    danish,
    fulfilment_json,
    render_all,
    render_html,
    render_index,
    render_pdf,
    render_xlsx,
    view,
)

Q3 = Quarter(2009, 3)
Q1, Q4 = Quarter(2009, 1), Quarter(2009, 4)
AGREEMENT = "Beskæftigelsesaftale 2009"
JOBPLAN = "Jobplan: Flere Indvandrere i Arbejde"
SAFE_CITY = "Sikker By"
EVIL = (
    '<p onclick="alert(1)">Jobbussen har været ude på 14 ture.</p>'
    '<script>alert(1)</script><a href="javascript:alert(2)">se mere</a>'
    '<img src="http://example.invalid/x.png" onerror="alert(3)">'
)
OL_COMMENT = (
    "<p>Det er valgt at koncentrere indsatsen om 3 projekter:</p>"
    '<ol style="list-style-type: none"><li><i>Jobspor</i>: under implementering.</li>'
    "<li><b>SMS-indkaldelse</b> fra februar 2010.</li></ol>"
)


def _target(
    tid: str,
    nr: str,
    title: str,
    kind: str,
    desc: str,
    unit: str,
    direction: str | None,
    value: float | None,
    *,
    theme: str = JOBPLAN,
    value_max: float | None = None,
    aggregation: str = "sum",
    due: date | None = None,
    metric: str | None = "deltagere",
    approximate: bool = False,
) -> Target:
    return Target(
        target_id=tid,
        agreement=AGREEMENT,
        theme=theme,
        initiative=nr,
        title=title,
        kind=kind,
        description=desc,
        metric=None if unit == "milepæl" else metric,
        unit=unit,
        direction=direction,
        value=value,
        value_max=value_max,
        aggregation=aggregation,
        baseline=None,
        start=Q1,
        end=Q4,
        due=due,
        responsible="Beskæftigelsescentrene",
        approximate=approximate,
    )


def _result(
    t: Target,
    status: str,
    actual: float | None,
    expected: float | None,
    fulfilment: float | None,
    pace: float | None,
    forecast: float | None,
    *,
    elapsed: int = 3,
    **kw: object,
) -> TargetResult:
    return TargetResult(
        target_id=t.target_id,
        initiative=t.initiative,
        metric=t.metric,
        unit=t.unit,
        direction=t.direction,
        target=t.value,
        target_max=t.value_max,
        window=(Q1, Q4),
        elapsed=elapsed,
        actual=actual,
        expected_to_date=expected,
        fulfilment=fulfilment,
        pace=pace,
        forecast=forecast,
        status=status,
        **kw,  # type: ignore[arg-type]
    )


T11 = _target(
    "1.1-a",
    "1.1",
    "Hurtig aktivering af jobparate indvandrere på kontanthjælp",
    "Indsatsmål",
    "Mindst 90 pct. skal have et aktivt tilbud inden 6 måneders ledighed.",
    "pct.",
    "mindst",
    90,
    aggregation="seneste",
    metric="aktiveret",
)
T12A = _target(
    "1.2-a",
    "1.2",
    "Partnerskaber med virksomheder om indslusning til arbejde",
    "Indsatsmål",
    "Der gennemføres årligt mindst 1.800 forløb.",
    "antal",
    "mindst",
    1800,
    metric="forløb",
)
T12B = _target(
    "1.2-b",
    "1.2",
    "Partnerskaber med virksomheder om indslusning til arbejde",
    "Resultatmål",
    "Partnerskaberne udmøntes for 3,5 mio. kr.",
    "kr.",
    "mindst",
    3_500_000,
    metric="udmøntet",
)
T12C = _target(
    "1.2-c",
    "1.2",
    "Partnerskaber med virksomheder om indslusning til arbejde",
    "Indsatsmål",
    "Samarbejdsaftalerne indgås inden sommeren 2009.",
    "milepæl",
    None,
    None,
    due=date(2009, 6, 30),
)
T14 = _target(
    "1.4-a",
    "1.4",
    "Ny jobbus i boligområderne",
    "Indsatsmål",
    "Målet er 500 deltagere i 2009.",
    "antal",
    "mindst",
    500,
)
T15 = _target(
    "1.5-a",
    "1.5",
    "Styrket indsats mod langvarigt sygefravær",
    "Indsatsmål",
    "Der henvises årligt 150 borgere til forløb.",
    "antal",
    "mindst",
    150,
    metric="henviste",
)
T18 = _target(
    "1.8-a",
    "1.8",
    "Mere brugervenligt IT-selvbetjening i jobcentret",
    "Indsatsmål",
    "Selvbetjeningsværktøjer implementeres i løbet af 2009.",
    "milepæl",
    None,
    None,
    due=date(2009, 12, 31),
)
T22 = _target(
    "2.2-a",
    "2.2",
    "Opsøgende job- og uddannelsesformidling til unge familieforsørgede",
    "Indsatsmål",
    "De gennemfører årligt vejledning for 480 unge.",
    "antal",
    "mindst",
    480,
    theme="Styrket indsats mod Fattigdom og Marginalisering",
    metric="vejledte",
)
T24 = _target(
    "2.4-a",
    "2.4",
    "Unge psykisk syge i arbejde eller uddannelse",
    "Indsatsmål",
    "Kombinationstilbud for mindst 40 personer om året.",
    "antal",
    "mindst",
    40,
    theme="Styrket indsats mod Fattigdom og Marginalisering",
)
T31 = _target(
    "3.1-a",
    "3.1",
    "Fritidsjob til unge fra problemfyldte boligområder",
    "Indsatsmål",
    "Der oprettes i alt 60-70 nye fritidsjob.",
    "antal",
    "interval",
    60,
    value_max=70,
    theme=SAFE_CITY,
    metric="fritidsjob",
)
T32 = _target(
    "3.2-b",
    "3.2",
    "Job baner vejen til uddannelse",
    "Effektmål",
    "Frafaldet må højst være 6,5 pct.",
    "pct.",
    "højst",
    6.5,
    theme=SAFE_CITY,
    aggregation="seneste",
    metric="frafald",
)
TARGETS = [T11, T12A, T12B, T12C, T14, T15, T18, T22, T24, T31, T32]

RESULTS = [
    _result(T11, "at_risk", 86, 90, 0.9556, 0.9556, 86),
    _result(T12A, "on_track", 1400, 1350, 0.7778, 1.037, 1866.67),
    _result(T12B, "off_track", 2_100_000, 2_625_000, 0.6, 0.8, 2_800_000),
    _result(
        T12C,
        "achieved",
        None,
        None,
        None,
        None,
        None,
        due=date(2009, 6, 30),
        reached=date(2009, 8, 15),
        late=True,
    ),
    _result(T14, "off_track", 71, 375, 0.142, 0.1893, 94.67),
    _result(T15, "on_track", 147, 112.5, 0.98, 1.3067, 196),
    _result(T18, "on_track", None, None, None, None, None, due=date(2009, 12, 31)),
    _result(T22, "on_track", 400, 360, 0.8333, 1.1111, 533.33, approximate=True),
    _result(T24, "no_data", None, 30, None, None, None),
    _result(T31, "achieved", 75, 45, 1.25, 1.6667, 100, above_range=True),
    _result(T32, "achieved", 5.2, 6.5, 1.25, 1.25, 5.2),
]
PREVIOUS = {
    "1.1-a": _result(T11, "at_risk", 83, 90, 0.92, 0.92, 83, elapsed=2),
    "1.5-a": _result(T15, "on_track", 100, 75, 0.6667, 1.3333, 200, elapsed=2),
    "1.4-a": _result(T14, "off_track", 47, 250, 0.094, 0.1893, 94, elapsed=2),
}
FIGURES = [
    Figure(
        "1.5",
        "henviste",
        Q3,
        40,
        comment="Der er ved udgangen af 3. kvartal henvist og "
        "startet i alt 147 personer i forløb.\n\n43 forløb er afsluttede.",
    ),
    Figure("1.4", "deltagere", Q3, 20, comment=EVIL),
    Figure("1.2", "forløb", Q3, 500, comment="=SUM(A1)"),
    Figure("1.8", None, Q3, target_id="1.8-a", reached=False, comment=OL_COMMENT),
    Figure("1.5", "henviste", Quarter(2009, 2), 50, comment="Gammel kommentar fra 2. kvartal"),
]
WARNING_PROBLEM = Problem(
    file="2009Q3/center_nord.xlsx",
    sheet="Tal",
    cell=None,
    column=None,
    row=None,
    rule="mangler-tal",
    severity="advarsel",
    value=None,
    message="Mål 2.4-a har ingen tal for 3. kvartal 2009.",
)
WAIVED_PROBLEM = Problem(
    file="2009Q3/center_syd.xlsx",
    sheet="Tal",
    cell="D9",
    column="Værdi",
    row=9,
    rule="ikke-et-tal",
    severity="fejl",
    value="ca 12",
    message="Værdien 'ca 12' er ikke et tal.",
)
WAIVER = Waiver(
    file="center_syd.xlsx",
    cell="D9",
    rule="ikke-et-tal",
    reason="Tallet indberettes særskilt i 4. kvartal",
    approved_by="Kontorchef Birgit Hansen",
)


def sample_input() -> ReportInput:
    return ReportInput(
        quarter=Q3,
        version=1,
        targets=list(TARGETS),
        results=list(RESULTS),
        previous=dict(PREVIOUS),
        figures=list(FIGURES),
        warnings=[WARNING_PROBLEM],
        waivers=[(WAIVED_PROBLEM, WAIVER)],
        updated=date(2009, 11, 26),
    )


def sample_index() -> list[IndexQuarter]:
    return [
        IndexQuarter(
            "2009Q2",
            [
                IndexVersion(1, "2009-08-20T09:00:00", "2009Q2/versions/1/report.html"),
            ],
        ),
        IndexQuarter(
            "2009Q3",
            [
                IndexVersion(1, "2009-11-20T10:15:00", "2009Q3/versions/1/report.html"),
                IndexVersion(2, "2009-11-26T08:30:00", "2009Q3/versions/2/report.html"),
            ],
        ),
        IndexQuarter("2008Q4", [IndexVersion(1, "2009-02-01", "2008Q4/versions/1/report.html")]),
    ]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "title"):
            self.skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def text_of(html: bytes) -> str:
    """What a reader sees, tags gone and white space collapsed."""
    p = _Text()
    p.feed(html.decode("utf-8"))
    return " ".join(" ".join(p.parts).split())


@pytest.fixture(scope="module")
def html() -> bytes:
    return render_html(sample_input())


@pytest.fixture(scope="module")
def text(html: bytes) -> str:
    return text_of(html)


# --- fulfilment.json ------------------------------------------------------------------------


def test_fulfilment_json_is_contract_shape() -> None:
    raw = fulfilment_json(sample_input())
    doc = json.loads(raw)
    assert list(doc) == ["quarter", "version", "targets"]
    assert doc["quarter"] == "2009Q3" and doc["version"] == 1
    assert [t["target_id"] for t in doc["targets"]] == [r.target_id for r in RESULTS]
    t15 = next(t for t in doc["targets"] if t["target_id"] == "1.5-a")
    assert t15 | {} == t15 and {
        k: t15[k]
        for k in (
            "initiative",
            "metric",
            "unit",
            "direction",
            "target",
            "target_max",
            "window",
            "elapsed",
            "actual",
            "expected_to_date",
            "fulfilment",
            "pace",
            "forecast",
            "status",
        )
    } == {
        "initiative": "1.5",
        "metric": "henviste",
        "unit": "antal",
        "direction": "mindst",
        "target": 150,
        "target_max": None,
        "window": ["2009Q1", "2009Q4"],
        "elapsed": 3,
        "actual": 147,
        "expected_to_date": 112.5,
        "fulfilment": 0.98,
        "pace": 1.3067,
        "forecast": 196,
        "status": "on_track",
    }
    milestone = next(t for t in doc["targets"] if t["target_id"] == "1.2-c")
    assert milestone["unit"] == "milepæl" and milestone["due"] == "2009-06-30"
    assert milestone["reached"] == "2009-08-15"
    assert "milepæl".encode() in raw  # ensure_ascii=False: Danish letters as UTF-8
    assert raw.startswith(b'{\n  "quarter"')  # indented


# --- report.html ----------------------------------------------------------------------------


def test_html_head_is_danish_self_contained_and_titled(html: bytes) -> None:
    s = html.decode("utf-8")
    assert '<html lang="da">' in s
    assert "<title>Status: Beskæftigelsesaftale 2009 – 3. kvartal 2009</title>" in s
    assert (
        '<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; '
        'style-src &#39;unsafe-inline&#39;; img-src data:">'
    ) in s
    assert "<script" not in s.lower()
    assert not re.search(r"<link\b", s)
    assert not re.search(r"\bsrc\s*=", s)
    assert "@import" not in s and "url(" not in s
    # the only URL is the SVG namespace, which is a name, never fetched
    assert set(re.findall(r"https?://[^\s\"'<>]+", s)) == {"http://www.w3.org/2000/svg"}


def test_html_has_every_initiative_and_theme(text: str) -> None:
    for t in TARGETS:
        assert t.initiative in text
        assert t.title in text
        assert t.description in text
        assert f"Mål {t.target_id}" in text
    for theme in (JOBPLAN, "Styrket indsats mod Fattigdom og Marginalisering", SAFE_CITY):
        assert theme in text
    for header in ("Nr.", "Indsats", "Indsatsmål", "Resultatmål", "Status"):
        assert header in text


def test_html_says_values_in_danish(text: str) -> None:
    for phrase in (
        "147 af 150 (98 %)",
        "71 af 500 (14 %)",
        "86 pct. mod mål 90 pct.",
        "75, over intervallet 60–70",
        "ca. 400 af 480 (83 %)",
        "1.400 af 1.800 (78 %)",
        "2,1 mio. kr. af 3,5 mio. kr. (60 %)",
        "5,2 pct. mod mål højst 6,5 pct.",
        "Forventet til dato: 112,5",
        "Prognose: 196",
        "Sidst opdateret: 26.11.2009",
        "3. kvartal 2009",
    ):
        assert phrase in text, phrase
    assert "1,400" not in text and "112.5" not in text


def test_html_states_every_status_in_words_and_symbols(html: bytes, text: str) -> None:
    for word, symbol in (
        ("Opfyldt", "✓"),
        ("På sporet", "●"),
        ("I risiko", "▲"),
        ("Bagud", "✕"),
        ("Ingen data", "?"),
    ):
        assert f"{symbol} {word}" in text
    # the symbol is a visual second cue; the word carries the meaning for screen readers
    assert '<span aria-hidden="true">✓</span> Opfyldt' in html.decode("utf-8")


def test_summary_counts_and_names_off_track(text: str) -> None:
    page = view.build(sample_input())
    (a,) = page.agreements
    counts = {c.status: c.count for c in a.counts}
    assert counts == {"achieved": 3, "on_track": 4, "at_risk": 1, "off_track": 2, "no_data": 1}
    assert a.total == 11
    summary = text.split("Sammenfatning", 1)[1].split("Sådan læses rapporten", 1)[0]
    assert "Opfyldt 3" in summary and "På sporet 4" in summary and "I risiko 1" in summary
    assert "Bagud 2" in summary and "Ingen data 1" in summary and "I alt 11" in summary
    assert "1.4 Ny jobbus i boligområderne (mål 1.4-a)" in summary
    assert "(mål 1.2-b)" in summary
    assert text.index("Sammenfatning") < text.index("Målet er 500 deltagere i 2009.")


def test_trend_since_last_quarter(text: str) -> None:
    assert "↑ Bedre end i 2. kvartal 2009" in text  # 1.1: 92 % -> 96 %
    assert "↓ Dårligere end i 2. kvartal 2009" in text  # 1.5: pace 133 % -> 131 %
    assert "→ Uændret siden 2. kvartal 2009" in text  # 1.4
    assert text.count("2. kvartal 2009") == 4  # three trends and the reading guide


def test_bar_has_text_alternative(html: bytes) -> None:
    s = html.decode("utf-8")
    bars = re.findall(r"<svg class=\"bar\"[^>]*>.*?</svg>", s, re.S)
    assert len(bars) == 8  # every target with a fulfilment
    first = bars[0]
    assert 'role="img"' in first
    assert "<title>Opfyldelse 96 % af målet; forventet til dato 100 %</title>" in first


def test_milestones_with_due_and_reached_dates(text: str) -> None:
    assert "Milepæl nået 15.8.2009, efter fristen 30.6.2009." in text
    assert "Milepæl ikke nået endnu; frist 31.12.2009." in text


def test_comments_keep_simple_html_and_nothing_else(html: bytes, text: str) -> None:
    s = html.decode("utf-8")
    low = s.lower()
    assert "<script" not in low and "onclick" not in low and "javascript:" not in low
    assert "onerror" not in low and "<img" not in low and "example.invalid" not in low
    # only the report's own anchors and the trend page (CONTRACT §10)
    assert not re.search(r"<a (?!href=\"#|href=\"\.\./\.\./\.\./udvikling\.html)", low)
    assert "alert(" not in low and 'style="list-style' not in low
    assert "Jobbussen har været ude på 14 ture." in text
    assert "<ol><li><i>Jobspor</i>: under implementering.</li>" in s
    assert "<b>SMS-indkaldelse</b>" in s
    # plain text keeps its paragraphs; other quarters' comments stay out
    assert "<p>Der er ved udgangen af 3. kvartal henvist" in s
    assert "<p>43 forløb er afsluttede.</p>" in s
    assert "Gammel kommentar" not in text
    assert "=SUM(A1)" in text


def test_data_quality_notes(text: str) -> None:
    notes = text.split("Noter om datakvalitet")[-1]
    assert "2009Q3/center_nord.xlsx, ark Tal: Mål 2.4-a har ingen tal for 3. kvartal 2009." in notes
    assert "2009Q3/center_syd.xlsx, ark Tal, celle D9: Værdien 'ca 12' er ikke et tal." in notes
    assert "Begrundelse: Tallet indberettes særskilt i 4. kvartal." in notes
    assert "Godkendt af: Kontorchef Birgit Hansen." in notes


def test_text_from_spreadsheets_is_escaped() -> None:
    evil_title = _target(
        "9.9-a",
        "9.9",
        "<b>Fed</b> & <script>x()</script>",
        "Indsatsmål",
        '"><img src=x onerror=alert(1)>',
        "antal",
        "mindst",
        10,
    )
    ri = sample_input()
    ri.targets.append(evil_title)
    ri.results.append(_result(evil_title, "no_data", None, 7.5, None, None, None))
    s = render_html(ri).decode("utf-8")
    assert "&lt;b&gt;Fed&lt;/b&gt; &amp; &lt;script&gt;x()&lt;/script&gt;" in s
    assert "<img" not in s and "<script" not in s


def test_empty_quarter_still_renders() -> None:
    ri = sample_input()
    ri.results, ri.previous, ri.figures, ri.warnings, ri.waivers = [], {}, [], [], []
    s = text_of(render_html(ri))
    assert "Ingen advarsler." in s and "Ingen godkendte afvigelser." in s


def test_danish_number_forms() -> None:
    assert danish.number(1400) == "1.400"
    assert danish.number(6.5) == "6,5"
    assert danish.number(0.25) == "0,3"  # half up, as people round
    assert danish.number(-0.01) == "0"
    assert danish.amount(3_500_000, "kr.") == "3,5 mio. kr."
    assert danish.amount(450_000, "kr.") == "450.000 kr."
    assert danish.amount(86, "pct.") == "86 pct."
    assert danish.percent(0.98) == "98 %"
    assert danish.day(date(2009, 11, 26)) == "26.11.2009"
    assert danish.day(date(2010, 1, 5)) == "5.1.2010"
    assert danish.moment("2009-11-26T08:30:00") == "26.11.2009 kl. 08.30"
    assert Q3.label_da == "3. kvartal 2009"


def test_importing_the_package_stays_cheap() -> None:
    code = (
        "import sys, kvartal.report; "
        "heavy = {'weasyprint', 'openpyxl', 'babel', 'jinja2', 'nh3'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- report.pdf -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdf(html: bytes) -> bytes:
    return render_pdf(html)


def test_pdf_text_holds_initiatives_and_numbers(pdf: bytes) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    text = " ".join(text.split())
    for t in TARGETS:
        assert t.initiative in text
    for phrase in (
        "Ny jobbus i boligområderne",
        "Hurtig aktivering",
        "147 af 150",
        "98 %",
        "86 pct. mod mål 90 pct.",
        "1.400",
        "3,5 mio. kr.",
        "Bagud",
        "Opfyldt",
        "Kontorchef Birgit Hansen",
    ):
        assert phrase in text, phrase


def test_pdf_is_tagged_a4_titled_and_danish(pdf: bytes) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    root: Any = reader.trailer["/Root"]
    assert root["/Lang"] == "da"
    assert root["/MarkInfo"]["/Marked"] in (True, "true")
    assert "/StructTreeRoot" in root
    assert reader.metadata is not None
    assert reader.metadata.title == "Status: Beskæftigelsesaftale 2009 – 3. kvartal 2009"
    xmp = root["/Metadata"].get_object().get_data()
    assert b"pdfuaid" in xmp and b'pdfuaid:part="1"' in xmp  # declares PDF/UA-1
    box = reader.pages[0].mediabox
    assert sorted((round(float(box.width)), round(float(box.height)))) == [595, 842]


def test_pdf_refuses_an_inaccessible_document() -> None:
    page = b"<html><head><title>x</title></head><body><p>uden sprog</p></body></html>"
    with pytest.raises(PdfAccessibilityError, match="lang"):
        render_pdf(page)


def test_pdf_refuses_external_resources() -> None:
    page = (
        b'<html lang="da"><head><title>x</title></head><body>'
        b'<img alt="x" src="http://127.0.0.1:9/x.png"></body></html>'
    )
    with pytest.raises(PdfAccessibilityError):
        render_pdf(page)


# --- report.xlsx ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xlsx() -> bytes:
    return render_xlsx(sample_input())


def test_xlsx_rows_hold_numbers_as_numbers(xlsx: bytes) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(xlsx))
    ws = wb["Status 2009Q3"]
    header = [c.value for c in ws[1]]
    assert header[:20] == [
        "Nr.",
        "Indsats",
        "Mål-id",
        "Målbeskrivelse",
        "Enhed",
        "Retning",
        "Mål",
        "Mål maks.",
        "Fra",
        "Til",
        "Forløbne kvartaler",
        "Faktisk",
        "Forventet til dato",
        "Opfyldelse",
        "Tempo",
        "Prognose",
        "Status",
        "Frist",
        "Nået",
        "Kommentar",
    ]
    assert ws.freeze_panes == "A2"
    rows = {
        r[2]: dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)
    }
    assert list(rows) == [r.target_id for r in RESULTS]
    r15 = rows["1.5-a"]
    assert r15["Nr."] == "1.5" and r15["Mål"] == 150 and r15["Faktisk"] == 147
    assert r15["Forventet til dato"] == 112.5 and r15["Opfyldelse"] == 0.98
    assert r15["Tempo"] == 1.3067 and r15["Prognose"] == 196 and r15["Forløbne kvartaler"] == 3
    assert r15["Status"] == "På sporet" and r15["Fra"] == "2009Q1"
    assert rows["1.4-a"]["Status"] == "Bagud" and rows["2.4-a"]["Status"] == "Ingen data"
    assert rows["1.2-c"]["Frist"].date() == date(2009, 6, 30)
    assert rows["1.2-c"]["Nået"].date() == date(2009, 8, 15)
    assert rows["3.1-a"]["Mål maks."] == 70
    assert rows["2.4-a"]["Faktisk"] is None  # missing stays empty, not zero
    comment_1_4 = rows["1.4-a"]["Kommentar"]
    assert comment_1_4 == "Jobbussen har været ude på 14 ture.\nse mere"
    assert "Det er valgt" in rows["1.8-a"]["Kommentar"]
    assert "Jobspor: under implementering." in rows["1.8-a"]["Kommentar"]
    cells = {c.column_letter: c for c in ws[3]}  # 1.2-a
    header_letters = {c.value: c.column_letter for c in ws[1]}
    assert cells[header_letters["Opfyldelse"]].number_format == "0%"
    assert cells[header_letters["Faktisk"]].data_type == "n"


def test_xlsx_never_holds_a_formula(xlsx: bytes) -> None:
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(xlsx))["Status 2009Q3"]
    header = {c.value: c.column for c in ws[1]}
    found = [ws.cell(row=r, column=header["Kommentar"]) for r in range(2, ws.max_row + 1)]
    formula_like = [c for c in found if c.value == "=SUM(A1)"]
    assert len(formula_like) == 3  # every 1.2 target carries the comment
    assert all(c.data_type == "s" for c in formula_like)
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name)


def test_xlsx_strings_starting_with_formula_characters_stay_strings() -> None:
    from openpyxl import load_workbook

    ri = sample_input()
    ri.figures = [
        Figure("1.5", "henviste", Q3, 1, comment=c)
        for c in ("+1+1", "-2+3", "@SUM(A1)", '=HYPERLINK("http://x","y")')
    ]
    ri.warnings = [
        Problem("=cmd|' /C calc'!A0", "Tal", "A1", None, 1, "x", "advarsel", None, "=1+1")
    ]
    wb = load_workbook(io.BytesIO(render_xlsx(ri)))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str):
                    assert c.data_type == "s", (c.coordinate, c.value)
    assert wb["Noter"]["B2"].value == "=cmd|' /C calc'!A0"


# --- index.html -----------------------------------------------------------------------------


def test_index_lists_newest_quarter_and_version_first() -> None:
    raw = render_index(sample_index())
    s = raw.decode("utf-8")
    assert '<html lang="da">' in s and "Content-Security-Policy" in s
    assert "<script" not in s and "<link" not in s
    hrefs = re.findall(r'href="([^"]+)"', s)
    assert hrefs == [
        "udvikling.html",  # every target's course (CONTRACT §10)
        "2009Q3/versions/2/report.html",
        "2009Q3/versions/1/report.html",
        "2009Q2/versions/1/report.html",
        "2008Q4/versions/1/report.html",
    ]
    t = text_of(raw)
    assert t.index("3. kvartal 2009") < t.index("2. kvartal 2009") < t.index("4. kvartal 2008")
    assert "3. kvartal 2009, version 2 – offentliggjort 26.11.2009 kl. 08.30 (gældende)" in t


def test_index_refuses_script_links() -> None:
    with pytest.raises(ValueError):
        render_index([IndexQuarter("2009Q3", [IndexVersion(1, "x", "javascript:alert(1)")])])


def test_index_when_nothing_is_published() -> None:
    assert "Der er endnu ikke offentliggjort nogen rapporter." in text_of(render_index([]))


# --- all together ---------------------------------------------------------------------------


def test_render_all_gives_the_four_files(pdf: bytes) -> None:
    files = render_all(sample_input())
    assert set(files) == {"report.html", "report.pdf", "report.xlsx", "fulfilment.json"}
    assert files["report.pdf"].startswith(b"%PDF-1.7")
    assert files["report.xlsx"].startswith(b"PK")
    assert files["report.html"] == render_html(sample_input())  # deterministic


def test_pdf_holds_no_link_into_the_published_folder(pdf: bytes) -> None:
    """A PDF is read apart from the folder it was published in (downloaded, mailed on):
    a relative link there (to udvikling.html) would lead nowhere. Links within the
    document stay; the page of charts names the trend page in words instead."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    uris = [
        str(annot.get_object()["/A"]["/URI"])
        for page in reader.pages
        for annot in page.get("/Annots") or []
        if "/A" in annot.get_object() and "/URI" in annot.get_object()["/A"]
    ]
    assert [u for u in uris if "://" not in u and not u.startswith("mailto:")] == []
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    assert "udviklingssiden, udvikling.html, hvor rapporterne er udgivet" in " ".join(text.split())
