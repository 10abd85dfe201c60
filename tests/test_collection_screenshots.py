"""The operator's guide shows `indsamling.html` and a centre's mail as people meet them:
taken here in headless Chromium from a copy of the example inbox, with one centre's file
corrected badly, and saved for the guide's docs/images/ by `make screenshots`."""

from __future__ import annotations

import html
import os
import shutil
from pathlib import Path

import pytest

from kvartal.cli import main
from tests.support.smtp import Inbox
from tests.test_accessibility import ARGS, CHROMIUM, _wait_for_chromium

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent


def test_screenshots_of_the_collection(
    tmp_path: Path, smtp: tuple[Inbox, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("playwright.sync_api")
    _wait_for_chromium()
    from playwright.sync_api import sync_playwright

    box, cfg = smtp
    monkeypatch.setenv("KVARTAL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KVARTAL_SMTP_PORT", str(cfg.port))  # type: ignore[attr-defined]
    inbox, review = tmp_path / "inbox", tmp_path / "review"
    shutil.copytree(REPO / "examples" / "inbox", inbox)
    bad = inbox / "2009Q3" / "Center for Jobindsats.csv"
    text = bad.read_bytes().decode("cp1252")
    bad.write_bytes(text.replace("1.032", "1.03").encode("cp1252"))
    loc = ["--quarter", "2009Q3", "--inbox", str(inbox), "--review-to", str(review)]
    assert main(["check", *loc]) == 0
    mails = {to[0]: m for to, m in box.messages}
    mail = mails["jobindsats@kommune.example"]
    assert "fejl" in str(mail["Subject"])
    assert main(["collection", *loc]) == 2
    page = tmp_path / "mail.html"
    page.write_text(
        '<!DOCTYPE html><html lang="da"><meta charset="utf-8"><body style="font-family:'
        'system-ui;max-width:48rem;margin:1rem auto"><p><b>Til:</b> jobindsats@kommune.example'
        f"<br><b>Emne:</b> {html.escape(str(mail['Subject']))}</p><pre style='white-space:"
        f"pre-wrap;font-size:14px'>{html.escape(mail.get_content())}</pre></body></html>",
        encoding="utf-8",
    )
    # into SCREENSHOTS_TO, which `make screenshots` copies to docs/images/; a test run never
    # rewrites the committed images
    images = Path(os.environ.get("SCREENSHOTS_TO") or tmp_path / "screenshots")
    images.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            tab = browser.new_page(viewport={"width": 1200, "height": 700})
            tab.goto((review / "2009Q3" / "indsamling.html").as_uri())
            tab.screenshot(path=str(images / "indsamling.png"), full_page=True)
            tab = browser.new_page(viewport={"width": 900, "height": 700})
            tab.goto(page.as_uri())
            tab.screenshot(path=str(images / "indsamling-mail.png"), full_page=True)
        finally:
            browser.close()
    for name in ("indsamling.png", "indsamling-mail.png"):
        assert (images / name).read_bytes().startswith(b"\x89PNG")
