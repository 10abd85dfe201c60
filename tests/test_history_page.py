"""udvikling.html and a version 2 report with its changes and charts pass axe-core in
Chromium (WCAG 2.1 AA), as the report does (tests/test_accessibility.py)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kvartal.history import Previous, trend_doc
from kvartal.history.page import trend_html
from kvartal.history.trend import PublishedQuarter
from kvartal.report import fulfilment_json, render_html
from tests.test_accessibility import _axe, browser  # noqa: F401  (the fixture)
from tests.test_report import sample_input

pytestmark = pytest.mark.slow


def _keep(shot: Path, name: str, height: int) -> None:
    """The top of the page, for the operators' guide: into `SCREENSHOTS_TO` (which `make
    screenshots` copies to docs/images/), else beside the shot, so a test run never rewrites
    the committed images."""
    from PIL import Image

    folder = Path(os.environ.get("SCREENSHOTS_TO") or shot.parent)
    folder.mkdir(parents=True, exist_ok=True)
    with Image.open(shot) as image:
        top = image.crop((0, 0, image.width, min(height, image.height)))
        top.save(folder / name, optimize=True)


def _quarters() -> list[PublishedQuarter]:
    """2009Q1 to 2009Q3 of the sample report: the same targets, earlier figures lower."""
    ri = sample_input()
    q3 = json.loads(fulfilment_json(ri))["targets"]
    out = []
    for n, quarter in enumerate(["2009Q1", "2009Q2"], start=1):
        targets = []
        for t in q3:
            t = dict(t)
            if isinstance(t.get("actual"), int | float) and t["unit"] == "antal":
                t["actual"] = round(t["actual"] * n / 3)
            targets.append(t)
        out.append(PublishedQuarter(quarter, 1, "", targets))
    out.append(PublishedQuarter("2009Q3", 2, "", q3))
    return out


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("history-site")
    quarters = _quarters()
    (root / "udvikling.html").write_bytes(trend_html(trend_doc(quarters)))
    ri = sample_input()
    old = json.loads(fulfilment_json(ri))
    old["targets"][0]["actual"] = 84
    ri2 = replace(
        ri,
        version=2,
        since=Previous(1, {"sources": [], "waivers": []}, old),
        course=quarters[:2],
    )
    from kvartal.report import changes_of

    report = root / "2009Q3" / "versions" / "2" / "report.html"
    report.parent.mkdir(parents=True)
    report.write_bytes(render_html(ri2, changes_of(ri2, fulfilment_json(ri2))))
    return root


def test_trend_page_has_no_axe_violations(browser: Any, pages: Path, tmp_path: Path) -> None:  # noqa: F811
    shot = tmp_path / "udvikling.png"
    violations = _axe(browser, (pages / "udvikling.html").as_uri(), shot)
    _keep(shot, "udvikling.png", 1100)
    assert violations == [], [v["id"] for v in violations]


def test_version_2_report_has_no_axe_violations(browser: Any, pages: Path, tmp_path: Path) -> None:  # noqa: F811
    shot = tmp_path / "report-v2.png"
    report = pages / "2009Q3" / "versions" / "2" / "report.html"
    html = report.read_text("utf-8")
    assert "Ændret siden version 1" in html and html.count('<svg role="img"') >= 8
    violations = _axe(browser, report.as_uri(), shot)
    _keep(shot, "rapport-version-2.png", 860)
    assert violations == [], [v["id"] for v in violations]
