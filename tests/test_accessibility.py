"""WCAG 2.1 AA, proven in a real browser: axe-core in headless Chromium on both pages.

The browser is the system's Chromium, driven by Playwright; no browser is ever downloaded.
The pages are loaded from files, as a recipient opening the published folder would.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kvartal.report import render_html, render_index
from tests.test_report import sample_index, sample_input

CHROMIUM = os.environ.get("KVARTAL_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}

pytestmark = pytest.mark.slow


def _wait_for_chromium(timeout: float = 300) -> None:
    """The browser may still be being installed when the suite starts."""
    deadline = time.monotonic() + timeout
    while not (Path(CHROMIUM).exists() and os.access(CHROMIUM, os.X_OK)):
        if time.monotonic() > deadline:
            pytest.skip(f"no Chromium at {CHROMIUM}")
        time.sleep(5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("axe_playwright_python")
    _wait_for_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    (root / "2009Q3").mkdir()
    (root / "2009Q3" / "report.html").write_bytes(render_html(sample_input()))
    (root / "index.html").write_bytes(render_index(sample_index()))
    return root


def _axe(browser: Any, url: str, screenshot: Path | None = None) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="da-DK")
    # Nothing but the file itself may load: a request elsewhere is a failure in itself.
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    try:
        page.goto(url)
        results = Axe().run(page, options=AXE_OPTIONS)
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        assert page.evaluate("document.documentElement.lang") == "da"
        violations: list[dict[str, Any]] = results.response["violations"]
        if violations:
            print(results.generate_report())
        assert [u for u in requests if u != url] == []
        return violations
    finally:
        context.close()


def test_report_has_no_axe_violations(browser: Any, site: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"  # for a person to look at; never committed
    violations = _axe(browser, (site / "2009Q3" / "report.html").as_uri(), shot)
    print(f"screenshot: {shot}")
    assert violations == [], [v["id"] for v in violations]


def test_index_has_no_axe_violations(browser: Any, site: Path) -> None:
    violations = _axe(browser, (site / "index.html").as_uri())
    assert violations == [], [v["id"] for v in violations]


def test_axe_does_find_violations(browser: Any, tmp_path: Path) -> None:
    """The check above means something only if it can fail."""
    broken = tmp_path / "broken.html"
    broken.write_text(
        "<!DOCTYPE html><html><head><title>x</title></head><body>"
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        '<p style="color:#bbb;background:#fff">svag kontrast</p></body></html>',
        encoding="utf-8",
    )
    from axe_playwright_python.sync_playwright import Axe

    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(broken.as_uri())
        found = {v["id"] for v in Axe().run(page, options=AXE_OPTIONS).response["violations"]}
    finally:
        context.close()
    assert {"html-has-lang", "image-alt", "color-contrast"} <= found
