"""The operator's review end to end: a blocked quarter is never published; a scheduled
(non-interactive) run pauses for a decision in Prefect, and an approval is written down as
a waiver that the published manifest records; a rejection publishes nothing."""

from __future__ import annotations

import contextvars
import csv
import io
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data" / "flow" / "inbox"
BAD_CELL = "2009Q3/centre.csv:D3:ikke_tal"


@pytest.fixture
def places(tmp_path: Path) -> dict[str, Path]:
    inbox = tmp_path / "inbox"
    shutil.copytree(DATA, inbox)
    return {"inbox": inbox, "publish": tmp_path / "published", "review": tmp_path / "review"}


def _cli(args: list[str], api: str) -> subprocess.CompletedProcess[str]:
    import os

    env = dict(os.environ, PREFECT_API_URL=api)
    return subprocess.run([sys.executable, "-m", "kvartal.cli", *args], env=env,
                          capture_output=True, text=True, timeout=600)


def test_validate_prints_each_problem_with_its_cell_and_exits_2(places):
    done = subprocess.run(
        [sys.executable, "-m", "kvartal.cli", "validate", "--quarter", "2009Q3",
         "--inbox", str(places["inbox"]), "--review-to", str(places["review"])],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("2009Q3/centre.csv::D3: ikke_tal: ") for line in lines), lines
    problems = json.loads((places["review"] / "2009Q3" / "validation.json").read_text("utf-8"))
    (bad,) = [p for p in problems if p["severity"] == "fejl"]
    assert (bad["file"], bad["sheet"], bad["cell"], bad["column"], bad["row"], bad["value"]) == (
        "2009Q3/centre.csv", None, "D3", "Værdi", 3, "1.5")
    assert (places["review"] / "2009Q3" / "validation.html").is_file()


def test_interactive_run_with_errors_exits_2_and_publishes_nothing(places, prefect_api):
    done = _cli(["run", "--quarter", "2009Q3", "--inbox", str(places["inbox"]),
                 "--publish-to", str(places["publish"]), "--review-to", str(places["review"])],
                prefect_api)
    assert done.returncode == 2, done.stderr
    assert "D3" in done.stdout
    assert not (places["publish"] / "2009Q3").exists()
    assert (places["review"] / "2009Q3" / "validation.json").is_file()


def _run_in_thread(places: dict[str, Path]) -> tuple[threading.Thread, dict[str, Any]]:
    from flows.quarterly import quarterly_report

    out: dict[str, Any] = {}

    def run() -> None:
        out["state"] = quarterly_report(
            quarter="2009Q3", inbox=str(places["inbox"]), publish_to=str(places["publish"]),
            review_to=str(places["review"]), interactive=False, return_state=True)

    ctx = contextvars.copy_context()  # the test harness's API settings live in the context
    thread = threading.Thread(target=ctx.run, args=(run,), daemon=True)
    thread.start()
    return thread, out


def _paused_run_id(timeout: float = 240) -> Any:
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=["PAUSED"]))))
            if runs:
                return runs[0].id
            time.sleep(1)
    raise AssertionError("the run never paused for the operator")


def test_paused_run_approved_in_prefect_publishes_with_the_waiver_on_record(
        places, prefect_api, monkeypatch, smtp):
    monkeypatch.setenv("KVARTAL_APPROVAL_TIMEOUT", "300")
    mailbox, smtp_settings = smtp
    monkeypatch.setenv("KVARTAL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KVARTAL_SMTP_PORT", str(smtp_settings.port))
    monkeypatch.setenv("KVARTAL_SMTP_FROM", "kvartal@kommune.example")
    monkeypatch.setenv("KVARTAL_OPERATOR_EMAILS", "drift@kommune.example")
    from prefect.flow_runs import resume_flow_run

    thread, out = _run_in_thread(places)
    run_id = _paused_run_id()
    # the operators are told the run waits for them, with the problem and where to look
    ((to, told),) = mailbox.messages
    assert to == ["drift@kommune.example"]
    assert "3. kvartal 2009" in told["Subject"]
    assert "2009Q3/centre.csv::D3: ikke_tal" in told.get_content()
    resume_flow_run(run_id, run_input={
        "beslutning": "godkend", "afvigelser": [BAD_CELL],
        "begrundelse": "Centret bekræfter 1,5 er en tastefejl; tallet udelades",
        "godkendt_af": "Operatør Olsen"})
    thread.join(300)
    state = out["state"]
    assert state.is_completed(), state
    assert state.result()["version"] == 1

    # the decision is on the record in the inbox, where a re-run finds it
    text = (places["inbox"] / "2009Q3" / "afvigelser.csv").read_text("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert rows == [{"Fil": "2009Q3/centre.csv", "Celle": "D3", "Regel": "ikke_tal",
                     "Begrundelse": "Centret bekræfter 1,5 er en tastefejl; tallet udelades",
                     "Godkendt af": "Operatør Olsen"}]

    manifest = json.loads((places["publish"] / "2009Q3" / "manifest.json").read_text("utf-8"))
    (waiver,) = manifest["waivers"]
    assert (waiver["file"], waiver["cell"], waiver["rule"], waiver["approved_by"]) == (
        "2009Q3/centre.csv", "D3", "ikke_tal", "Operatør Olsen")
    assert "2009Q3/afvigelser.csv" in {s["path"] for s in manifest["sources"]}

    # the waived value is left out: 1.4 has only its 2009Q2 figure (40)
    fulfilment = json.loads((places["publish"] / "2009Q3" / "fulfilment.json").read_text())
    by_id = {t["target_id"]: t for t in fulfilment["targets"]}
    assert by_id["1.4-a"]["actual"] == 40
    assert by_id["1.5-a"]["actual"] == 147  # 95 + 52
    report = (places["publish"] / "2009Q3" / "report.html").read_text("utf-8")
    assert "Operatør Olsen" in report


def test_a_paused_run_nobody_answers_fails_after_the_timeout(places, prefect_api, monkeypatch):
    monkeypatch.setenv("KVARTAL_APPROVAL_TIMEOUT", "4")
    thread, out = _run_in_thread(places)
    thread.join(300)
    state = out["state"]
    assert state.is_failed()
    assert not (places["publish"] / "2009Q3").exists()


def test_paused_run_rejected_publishes_nothing(places, prefect_api, monkeypatch):
    monkeypatch.setenv("KVARTAL_APPROVAL_TIMEOUT", "300")
    from prefect.flow_runs import resume_flow_run

    from flows.quarterly import QuarterBlocked

    thread, out = _run_in_thread(places)
    run_id = _paused_run_id()
    resume_flow_run(run_id, run_input={"beslutning": "afvis", "afvigelser": [],
                                       "begrundelse": "Centret retter filen",
                                       "godkendt_af": "Operatør Olsen"})
    thread.join(300)
    state = out["state"]
    assert state.is_failed()
    assert isinstance(state.result(raise_on_failure=False), QuarterBlocked)
    assert not (places["publish"] / "2009Q3").exists()
    assert not (places["inbox"] / "2009Q3" / "afvigelser.csv").exists()
