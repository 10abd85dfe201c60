"""The same inputs and publication time render the same bytes, whatever the clock says.

A run that takes over a version an interrupted run began renders it again and must produce
exactly the bytes already written; so no file may carry the wall clock. Each test renders,
lets the clock move on by more than the two-second resolution of zip timestamps, renders
again and compares bytes.
"""

from __future__ import annotations

import io
import time
import zipfile
from datetime import UTC, datetime

from kvartal.pipeline import Fulfilment, render_files
from kvartal.report import render_all, render_index
from kvartal.validation import ValidationResult
from tests.test_report import (
    FIGURES,
    PREVIOUS,
    Q3,
    RESULTS,
    TARGETS,
    WAIVED_PROBLEM,
    WAIVER,
    WARNING_PROBLEM,
    sample_index,
    sample_input,
)

CLOCK_STEP = 2.1  # zip entries keep even seconds
COPENHAGEN = "Europe/Copenhagen"  # KVARTAL_TIMEZONE's default


def test_report_files_are_byte_identical_across_time() -> None:
    first = render_all(sample_input())
    first_index = render_index(sample_index())
    time.sleep(CLOCK_STEP)
    second = render_all(sample_input())
    assert sorted(first) == ["fulfilment.json", "report.html", "report.pdf", "report.xlsx"]
    for name in first:
        assert first[name] == second[name], f"{name} differs between two renderings"
    assert render_index(sample_index()) == first_index


def test_workbook_carries_the_report_date_not_the_clock() -> None:
    xlsx = render_all(sample_input())["report.xlsx"]  # sample_input: updated 26.11.2009
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        core = z.read("docProps/core.xml").decode()
        stamps = {info.date_time for info in z.infolist()}
    assert '<dcterms:created xsi:type="dcterms:W3CDTF">2009-11-26T00:00:00Z' in core
    assert '<dcterms:modified xsi:type="dcterms:W3CDTF">2009-11-26T00:00:00Z' in core
    assert stamps == {(2009, 11, 26, 0, 0, 0)}


def test_the_flows_rendering_takes_its_date_from_the_publication() -> None:
    fulfilment = Fulfilment(list(TARGETS), list(FIGURES), list(RESULTS), dict(PREVIOUS))
    validation = ValidationResult(
        problems=[WARNING_PROBLEM, WAIVED_PROBLEM], waived=[(WAIVED_PROBLEM, WAIVER)]
    )
    # 23:30 UTC on 25 November is 00:30 on the 26th in Copenhagen
    published_at = datetime(2009, 11, 25, 23, 30, tzinfo=UTC)
    first = render_files(Q3, 1, published_at, fulfilment, validation, timezone=COPENHAGEN)
    time.sleep(CLOCK_STEP)
    second = render_files(Q3, 1, published_at, fulfilment, validation, timezone=COPENHAGEN)
    assert first == second
    assert "26.11.2009" in first["report.html"].decode()
    assert "25.11.2009" not in first["report.html"].decode()
