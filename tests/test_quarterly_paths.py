"""The quarterly flow's paths, each run in this process on the tests' Prefect API
(`prefect_test_harness`), mail to aiosmtpd on loopback, local folders.

The inbox is tests/data/flow/inbox: 2009Q2 is clean (two rows), 2009Q3 has one error,
`1.5` in `Værdi` (cell D3 of 2009Q3/centre.csv), and there is no 2009Q4 folder. An
interactive run (`kvartal run`) stops on an error; a scheduled run of a deployment is
suspended for an operator's decision, or ends in Danish when nothing can be waived.
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support import flowrun
from tests.support.lost_answer import lose_first_answer
from tests.support.smtp import Inbox

FLOW_INBOX = Path(__file__).parent / "data" / "flow" / "inbox"
KEY = "2009Q3/centre.csv:D3:ikke_tal"


@pytest.fixture
def places(tmp_path: Path) -> dict[str, str]:
    shutil.copytree(FLOW_INBOX, tmp_path / "inbox")
    return {
        "inbox": str(tmp_path / "inbox"),
        "publish_to": str(tmp_path / "published"),
        "review_to": str(tmp_path / "review"),
    }


def _overview_waiting(where: Path, quarter: str, name: str) -> None:
    """The register's overview as its run left it: the inbox waits in a run of its own."""
    from kvartal.quarters import Quarter
    from kvartal.storage import open_storage
    from kvartal.summary import InboxOutcome, summary_json, write_summary

    waiting = InboxOutcome(name, "blokeret", errors=1, reason="venter på en operatørs godkendelse")
    write_summary(
        open_storage(str(where)),
        summary_json(Quarter.parse(quarter), [waiting]),
        "Europe/Copenhagen",
    )


def subjects(box: Inbox) -> list[str]:
    return [str(m["Subject"]) for _, m in box.messages]


def test_an_interactive_run_publishes_a_clean_quarter_once(prefect_api, places, tmp_path):
    from flows.quarterly import quarterly_report

    first = quarterly_report(quarter="2009Q2", **places)
    root = tmp_path / "published" / "2009Q2"
    assert (first["quarter"], first["version"], first["published"]) == ("2009Q2", 1, True)
    # one warning: the targets count 2009Q1 in their window, and there is no 2009Q1 folder
    assert (first["warnings"], first["waived"]) == (1, 0)
    manifest = json.loads((root / "manifest.json").read_text("utf-8"))
    assert manifest["version"] == 1
    # 2009Q3/ lies after the report quarter: named as not read, without a finding
    assert [(x["file"], x["rule"], x["severity"]) for x in manifest["left_out"]] == [
        ("2009Q1/", "kvartalsmappe_mangler", "advarsel"),
        ("2009Q3/", "kvartal_ikke_brugt", None),
    ]
    # both rows of 2009Q2/centre.csv are in the report, none left out
    html = (root / "versions" / "1" / "report.html").read_text("utf-8")
    assert "Ny jobbus i boligområderne" in html
    assert "Styrket indsats mod langvarigt sygefravær" in html

    again = quarterly_report(quarter="2009Q2", **places)
    assert (again["version"], again["published"]) == (1, False)  # same inputs: nothing new
    assert sorted(p.name for p in (root / "versions").iterdir()) == ["1"]


def test_an_interactive_run_stops_on_an_error_and_writes_the_review(prefect_api, places, tmp_path):
    from flows.quarterly import QuarterBlocked, quarterly_report

    state = quarterly_report(quarter="2009Q3", **places, return_state=True)
    assert state.is_failed()
    blocked = state.result(raise_on_failure=False)
    assert isinstance(blocked, QuarterBlocked)
    assert [(p.file, p.cell, p.rule) for p in blocked.problems] == [
        ("2009Q3/centre.csv", "D3", "ikke_tal")
    ]
    review = tmp_path / "review" / "2009Q3" / "validation.html"
    assert str(blocked) == f"2009Q3: 1 fejl blokerer udgivelsen. Se {review}"
    assert review.is_file()
    assert not (tmp_path / "published" / "2009Q3").exists()


def test_an_interactive_run_without_the_quarters_folder_says_what_is_missing(
    prefect_api, places, tmp_path
):
    from flows.quarterly import QuarterBlocked, quarterly_report

    state = quarterly_report(quarter="2009Q4", **places, return_state=True)
    blocked = state.result(raise_on_failure=False)
    assert isinstance(blocked, QuarterBlocked)
    assert f"mappen 2009Q4/ i indbakken {places['inbox']} findes ikke eller er tom" in str(blocked)
    assert not (tmp_path / "published").exists() or not any((tmp_path / "published").iterdir())


def test_a_scheduled_run_without_the_quarters_folder_ends_in_danish_and_is_mailed(
    prefect_api, places, mail, tmp_path
):
    """Nothing the operator could approve: no suspension, a Danish ending, one mail, and
    the register's overview line says the inbox is blocked and why."""
    from flows.quarterly import quarterly_report

    _overview_waiting(tmp_path / "drift", "2009Q4", "Vejen")
    state = quarterly_report(
        quarter="2009Q4",
        **places,
        interactive=False,
        inbox_name="Vejen",
        summary_to=str(tmp_path / "drift"),
        return_state=True,
    )
    assert (state.type.value, state.name) == ("FAILED", "Kan ikke udgives")
    assert state.message.startswith(
        "2009Q4: der er ingen tal for 4. kvartal 2009: mappen 2009Q4/ i indbakken "
    )
    assert subjects(mail) == ["kvartal: Vejen, 4. kvartal 2009 kan ikke udgives"]
    (_, told) = mail.messages[0]
    assert state.message in told.get_content()
    overview = json.loads((tmp_path / "drift" / "2009Q4" / "oversigt.json").read_text("utf-8"))
    (line,) = overview["inboxes"]
    assert (line["name"], line["status"], line["reason"]) == ("Vejen", "blokeret", state.message)


# --- scheduled runs of a deployment, executed here as a worker executes them ---


@pytest.fixture
def deployment(prefect_api, places, mail, tmp_path):
    """The quarterly flow and the deadline's flow deployed on the test API, results kept in
    the test's own folder (a suspended run's cached steps are read back from there)."""
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    from deployments.quarterly import deadline_deployment
    from flows.quarterly import quarterly_report

    name = f"test-{uuid.uuid4().hex[:8]}"
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: str(tmp_path / "results")}):
        quarterly_report.to_deployment(name=name).apply()
        deadline_deployment().apply()
        yield f"quarterly-report/{name}"


def _scheduled(**params: Any) -> dict[str, Any]:
    return {"interactive": False, "inbox_name": "Vejen", "approval_timeout": 3600, **params}


def test_an_approval_is_not_enough_when_new_errors_came_meanwhile(
    deployment, places, mail, tmp_path
):
    """The operator waives D3; before the run resumes, the centre's file gets a second bad
    cell (`mange` in D2). The waiver is written, but the quarter is not published: the run
    ends in Danish, says why, and the operators are told."""
    run = flowrun.create(deployment, _scheduled(quarter="2009Q3", **places))
    assert flowrun.execute(run).state.name == "Suspended"
    assert subjects(mail) == ["kvartal venter på godkendelse: Vejen, 3. kvartal 2009"]

    centre = tmp_path / "inbox" / "2009Q3" / "centre.csv"
    centre.write_text(centre.read_text("utf-8").replace(";52;", ";mange;"), "utf-8")
    verdict = flowrun.answer(
        run, beslutning="godkend", afvigelser=[KEY], begrundelse="tastefejl", godkendt_af="Olsen"
    )
    assert verdict == "ACCEPT"
    state = flowrun.execute(run).state

    assert (state.type.value, state.name) == ("FAILED", "Kan ikke udgives")
    assert state.message.startswith(
        "2009Q3: 1 fejl blokerer udgivelsen (også efter godkendelsen: nye fejl er kommet til)."
    )
    waivers = (tmp_path / "inbox" / "2009Q3" / "afvigelser.csv").read_text("utf-8-sig")
    assert "2009Q3/centre.csv;D3;ikke_tal;tastefejl;Olsen" in waivers
    assert not (tmp_path / "published" / "2009Q3").exists()
    assert subjects(mail)[1:] == [
        "kvartal: Vejen, 3. kvartal 2009 godkendt af Olsen",
        "kvartal: Vejen, 3. kvartal 2009 kan ikke udgives",
    ]
    decision = json.loads(
        (tmp_path / "review" / "2009Q3" / "beslutninger" / f"{run}.json").read_text("utf-8")
    )
    assert (decision["beslutning"], decision["beslutter"]) == ("godkend", "Olsen")


def test_a_scheduled_run_reports_the_quarter_before_its_scheduled_time(
    deployment, places, mail, tmp_path
):
    """No quarter given: a run scheduled for 5 July 2009 reports 2009Q2, even when it runs
    later; the clean quarter is published without waiting for anyone."""
    run = flowrun.create(deployment, _scheduled(**places), at=datetime(2009, 7, 5, 6, tzinfo=UTC))
    ended = flowrun.execute(run)
    assert ended.state.is_completed(), ended.state
    assert (tmp_path / "published" / "2009Q2" / "manifest.json").is_file()
    assert not (tmp_path / "published" / "2009Q3").exists()
    assert mail.messages == []  # nothing to decide, nothing to tell the operators


def test_a_deadline_after_a_decision_changes_nothing_and_a_missed_one_updates_the_overview(
    deployment, places, mail, tmp_path
):
    """The deadline's run of a rejected run finds it decided and leaves it be; the deadline
    of an undecided run ends it and puts its reason in the register's overview."""
    from flows.deadline import approval_deadline

    drift = tmp_path / "drift"
    _overview_waiting(drift, "2009Q3", "Vejen")
    rejected = flowrun.create(deployment, _scheduled(quarter="2009Q3", **places))
    late = flowrun.create(deployment, _scheduled(quarter="2009Q3", summary_to=str(drift), **places))
    assert flowrun.execute(rejected).state.name == "Suspended"
    assert flowrun.execute(late).state.name == "Suspended"
    assert (
        flowrun.answer(
            rejected,
            beslutning="afvis",
            afvigelser=[],
            begrundelse="forkert fil",
            godkendt_af="Olsen",
        )
        == "ACCEPT"
    )
    assert flowrun.execute(rejected).state.name == "Afvist"

    deadline = {
        "quarter": "2009Q3",
        "review_to": places["review_to"],
        "deadline": "2009-10-13T04:00:00+00:00",
        "inbox_name": "Vejen",
    }
    assert approval_deadline(flow_run_id=str(rejected), **deadline) == "besluttet"
    assert flowrun.read(rejected).state.name == "Afvist"

    assert approval_deadline(flow_run_id=str(late), **deadline) == "frist_overskredet"
    state = flowrun.read(late).state
    assert state.name == "Frist overskredet"
    overview = json.loads((drift / "2009Q3" / "oversigt.json").read_text("utf-8"))
    (line,) = overview["inboxes"]
    assert (line["status"], line["reason"]) == ("blokeret", state.message)
    assert line["reason"].startswith(
        "Vejen, 3. kvartal 2009: ingen beslutning inden fristen 13.10.2009 kl. 06:00"
    )


def test_a_waiting_run_that_crashes_is_mailed_and_its_overview_line_says_failed(
    prefect_api, places, mail, tmp_path
):
    """A scheduled run with errors started as a child of another run cannot be suspended
    (Prefect suspends only a deployment's top-level run): an ending kvartal did not mean.
    The operators get a mail, and the register's overview shows the inbox as failed."""
    from prefect import flow

    from flows.quarterly import quarterly_report

    drift = tmp_path / "drift"
    _overview_waiting(drift, "2009Q3", "Vejen")

    @flow
    def parent() -> object:
        return quarterly_report(
            quarter="2009Q3",
            **places,
            interactive=False,
            inbox_name="Vejen",
            summary_to=str(drift),
            return_state=True,
        )

    assert parent(return_state=True).is_failed()
    assert "kvartal: kørslen for Vejen, 3. kvartal 2009 er fejlet" in subjects(mail)
    overview = json.loads((drift / "2009Q3" / "oversigt.json").read_text("utf-8"))
    (line,) = overview["inboxes"]
    assert (line["name"], line["status"]) == ("Vejen", "fejl")
    assert line["reason"].startswith("godkendelseskørslen endte som Failed: ")
    assert "Cannot suspend subflows" in line["reason"]
    assert overview["counts"] == {"udgivet": 0, "blokeret": 0, "fejl": 1}
    assert not (tmp_path / "published" / "2009Q3").exists()


def test_a_suspension_whose_answer_was_lost_still_takes_the_operators_decision(
    deployment, places, mail, tmp_path, monkeypatch
):
    """The API records the suspension, but its answer never reaches the run (a read
    timeout while the server waited on its database): Prefect's client sends the same
    suspension again and is told the run is paused already. The decision form must still
    be stored, or the server refuses every operator's answer ("Run input schema not
    found") and the quarter can only run out of time. The lost answer is made below
    Prefect's client, in httpx's transport, so Prefect's own retry is what runs
    (tests/support/lost_answer.py)."""
    lost = lose_first_answer(monkeypatch, "POST", "/set_state", b'"Suspended"')
    run = flowrun.create(deployment, _scheduled(quarter="2009Q3", **places))
    assert flowrun.execute(run).state.name == "Suspended"
    assert lost  # the fault happened: the suspension was sent twice

    verdict = flowrun.answer(
        run, beslutning="godkend", afvigelser=[KEY], begrundelse="tastefejl", godkendt_af="Olsen"
    )
    assert verdict == "ACCEPT"
    assert flowrun.execute(run).state.is_completed()
    assert (tmp_path / "published" / "2009Q3" / "manifest.json").is_file()


def _deadline_runs(run: uuid.UUID) -> list[Any]:
    """The deadline deployment's runs that watch `run`."""
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    from tasks.notify import DEADLINE_DEPLOYMENT

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(
                name=DeploymentFilterName(any_=[DEADLINE_DEPLOYMENT])
            )
        )
    return [r for r in runs if r.parameters.get("flow_run_id") == str(run)]


def test_a_deadline_run_whose_creation_was_answered_twice_is_made_once(
    deployment, places, mail, monkeypatch
):
    """The answer to the deadline run's creation is lost and Prefect's client sends it
    again: one deadline run still watches the waiting run, and a decision in time leaves
    no deadline run scheduled to fire later (the UI shows none waiting)."""
    run = flowrun.create(deployment, _scheduled(quarter="2009Q3", **places))
    lost = lose_first_answer(monkeypatch, "POST", "/create_flow_run", b'"deadline"')
    assert flowrun.execute(run).state.name == "Suspended"
    assert lost  # the creation was sent twice
    assert len(_deadline_runs(run)) == 1

    verdict = flowrun.answer(
        run, beslutning="afvis", afvigelser=[], begrundelse="forkert fil", godkendt_af="Olsen"
    )
    assert verdict == "ACCEPT"
    assert flowrun.execute(run).state.name == "Afvist"
    assert [r.state.name for r in _deadline_runs(run)] == ["Cancelled"]
