"""The operator's guide shows the Prefect UI as an operator meets it: the server is started
as the README's server block says (PostgreSQL, a port other than 4200, `PREFECT_UI_API_URL`,
basic auth, the V1 UI as default), the operator logs in with the auth string in headless
Chromium, sees the suspended run and its form, cannot approve part of the errors by
accident, and an unauthenticated API call is refused.

The screenshots go to a folder of the test's own (or `SCREENSHOTS_TO`); `make screenshots`
runs this test and copies them to docs/images/, so running the tests never rewrites
committed files."""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.operations import Operations
from tests.test_accessibility import ARGS, CHROMIUM, _wait_for_chromium
from tests.test_review_flow import DATA, _client, _deployed, _start_run, _wait_state

pytestmark = pytest.mark.slow

AUTH = "drift:hemmeligt-kodeord"


class AuthenticatedOperations(Operations):
    """The README's block: every client and worker has PREFECT_API_AUTH_STRING, the server
    PREFECT_SERVER_API_AUTH_STRING, and the server's UI opens V1 (the links' UI) at its root."""

    def env(self, **extra: str) -> dict[str, str]:
        env = super().env(**extra)
        env.update(
            PREFECT_API_AUTH_STRING=AUTH,
            PREFECT_SERVER_API_AUTH_STRING=AUTH,
            PREFECT_SERVER_UI_V2_ENABLED="false",
        )
        return env


@pytest.fixture
def ui_operations(tmp_path: Path, postgres: Any) -> Any:
    from tests.support.operations import _database

    ops = AuthenticatedOperations(
        root=tmp_path / "prefect",
        ui=True,
        database_url=_database(postgres, f"ops_ui_{uuid.uuid4().hex[:12]}"),
    )
    assert ops.port != 4200
    ops.root.mkdir()
    ops.start_server()
    try:
        yield ops
    finally:
        ops.close()


def test_the_ui_behind_basic_auth_shows_the_waiting_run_and_refuses_a_partial_approval(
    tmp_path, ui_operations, smtp
):
    _wait_for_chromium()
    from playwright.sync_api import sync_playwright
    from prefect.settings import PREFECT_API_AUTH_STRING, temporary_settings

    ops, (_, smtp_settings) = ui_operations, smtp
    shots = Path(os.environ.get("SCREENSHOTS_TO") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)

    # without the auth string the API refuses, whoever asks
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(
            urllib.request.Request(f"{ops.api_url}/flow_runs/filter", data=b"{}", method="POST"),
            timeout=10,
        )
    assert refused.value.code == 401

    places = {
        "inbox": tmp_path / "inbox",
        "publish": tmp_path / "published",
        "review": tmp_path / "review",
    }
    shutil.copytree(DATA, places["inbox"])
    with temporary_settings({PREFECT_API_AUTH_STRING: AUTH}):
        env = _deployed(ops, places, smtp_settings.port)
        ops.start_worker("kvartal", cwd=tmp_path / "worker", **env)
        run_id = _start_run(ops, "2009Q3")
        _wait_state(ops, run_id, "the run to be suspended", lambda s: s.is_paused())

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            # the UI's root asks for the auth string, once per browser (a mail's link
            # opened before that shows only "Authentication failed"; the guide says so)
            page.goto(ops.ui_url, wait_until="networkidle")
            page.get_by_role("heading", name="Login").wait_for(timeout=60000)
            page.locator("input").first.fill(AUTH)
            page.get_by_role("button", name="Login").click()
            page.wait_for_load_state("networkidle")
            page.goto(f"{ops.ui_url}/runs/flow-run/{run_id}", wait_until="networkidle")
            page.get_by_text("Suspended").first.wait_for(timeout=60000)
            page.get_by_text("venter på en operatørs beslutning").first.wait_for(timeout=60000)
            page.screenshot(path=str(shots / "run-suspended.png"))

            page.get_by_role("button", name="Resume").first.click()
            page.get_by_text("blokerer udgivelsen").first.wait_for(timeout=60000)
            page.get_by_text("udgives kun, hvis alle 1 fejl").first.wait_for(timeout=10000)
            page.get_by_text("2009Q3/centre.csv:D3:ikke_tal").first.wait_for(timeout=10000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(shots / "decision-form.png"), full_page=True)

            # an approval with the error taken out of `afvigelser` is refused by the server
            modal = page.locator("#p-modal-teleport-target")
            choice = modal.locator("button.p-select-button__control").first
            choice.click()
            page.wait_for_timeout(500)
            if not page.get_by_role("option").count():
                choice.press("ArrowDown")
                page.wait_for_timeout(500)
            page.get_by_role("option", name="godkend").first.click()
            fields = modal.locator("textarea.p-textarea__control")
            assert fields.count() == 3  # the one error, Begrundelse, Godkendt af
            modal.locator(".p-draggable-list button.p-button--outline").first.click()  # 🗑
            assert fields.count() == 2
            reason, who = fields.all()
            reason.fill("prøve")
            who.fill("Olsen")
            modal.get_by_role("button", name="Submit").click()
            page.wait_for_timeout(3000)
            page.screenshot(path=str(shots / "partial-refused.png"), full_page=True)
        finally:
            browser.close()
    with temporary_settings({PREFECT_API_AUTH_STRING: AUTH}), _client(ops) as client:
        assert client.read_flow_run(run_id).state.name == "Suspended"
    assert (shots / "run-suspended.png").stat().st_size > 10_000
    assert (shots / "decision-form.png").stat().st_size > 10_000
