"""The operator's guide shows the Prefect UI as an operator meets it: these screenshots are
taken here, in headless Chromium, of a real suspended run on a PostgreSQL-backed server with
its UI, and saved under docs/images/ where the guide links them."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.operations import Operations
from tests.test_accessibility import ARGS, CHROMIUM, _wait_for_chromium
from tests.test_review_flow import DATA, _deployed, _start_run, _wait_state

pytestmark = pytest.mark.slow

IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"


@pytest.fixture
def ui_operations(tmp_path: Path, postgres: Any) -> Any:
    from tests.support.operations import _database

    ops = Operations(
        root=tmp_path / "prefect",
        ui=True,
        database_url=_database(postgres, f"ops_ui_{uuid.uuid4().hex[:12]}"),
    )
    ops.root.mkdir()
    ops.start_server()
    try:
        yield ops
    finally:
        ops.close()


def test_screenshots_of_a_run_waiting_for_a_decision(tmp_path, ui_operations, smtp):
    _wait_for_chromium()
    from playwright.sync_api import sync_playwright

    ops, (_, smtp_settings) = ui_operations, smtp
    places = {
        "inbox": tmp_path / "inbox",
        "publish": tmp_path / "published",
        "review": tmp_path / "review",
    }
    shutil.copytree(DATA, places["inbox"])
    env = _deployed(ops, places, smtp_settings.port)
    ops.start_worker("kvartal", cwd=tmp_path / "worker", **env)
    run_id = _start_run(ops, "2009Q3")
    _wait_state(ops, run_id, "the run to be suspended", lambda s: s.is_paused())

    IMAGES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{ops.ui_url}/runs/flow-run/{run_id}", wait_until="networkidle")
            page.get_by_text("Suspended").first.wait_for(timeout=60000)
            page.get_by_text("venter på en operatørs beslutning").first.wait_for(timeout=60000)
            page.screenshot(path=str(IMAGES / "run-suspended.png"))

            page.get_by_role("button", name="Resume").first.click()
            page.get_by_text("blokerer udgivelsen").first.wait_for(timeout=60000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(IMAGES / "decision-form.png"))
        finally:
            browser.close()
    assert (IMAGES / "run-suspended.png").stat().st_size > 10_000
    assert (IMAGES / "decision-form.png").stat().st_size > 10_000
