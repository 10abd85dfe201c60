"""What an operator may waive, and the decision form Prefect shows (CONTRACT §6)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kvartal.approval import decision_form, record_decision, unwaivable_message, waivable
from kvartal.model import Problem
from kvartal.quarters import Quarter
from kvartal.storage import open_storage

Q3 = Quarter(2009, 3)


def _problem(file: str, cell: str | None, rule: str) -> Problem:
    return Problem(
        file=file,
        sheet=None,
        cell=cell,
        column=None,
        row=None,
        rule=rule,
        severity="fejl",
        value=None,
        message=f"{rule} i {file}",
    )


BAD_CELL = _problem("2009Q3/centre.csv", "D3", "ikke_tal")
NO_QUARTER = _problem("2009Q3/", None, "kvartal_mangler")
NO_CATALOGUE = _problem("targets/", None, "katalog_mangler")
LOCKED_CATALOGUE = _problem("targets/katalog.xlsx", None, "fil_beskyttet")
BAD_TARGET_CELL = _problem("targets/katalog.xlsx", "K4", "ikke_tal")
STRAY_IN_TARGETS = _problem("targets/README.txt", None, "fil_ignoreret")
UNREADABLE_CATALOGUE = _problem("Targets/katalog.xlsx", None, "ulaeselig")
OLD_EXCEL_CATALOGUE = _problem("targets/katalog.xls", None, "xls_fil")


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        (BAD_CELL, True),
        (BAD_TARGET_CELL, True),  # one cell can be left out
        (NO_QUARTER, False),
        (NO_CATALOGUE, False),
        (LOCKED_CATALOGUE, False),
        # A file beside the catalogue that is no workbook at all: the catalogue was read,
        # so the stray file is an error like any other (CONTRACT §6).
        (STRAY_IN_TARGETS, True),
        (UNREADABLE_CATALOGUE, False),  # the folder spelled `Targets/` is the catalogue's too
        (OLD_EXCEL_CATALOGUE, False),  # a catalogue workbook that was not read
    ],
)
def test_what_can_be_waived(problem, expected):
    assert waivable(problem) is expected


def test_the_form_has_the_contract_fields_and_offers_only_waivable_errors():
    form = decision_form(
        [BAD_CELL, LOCKED_CATALOGUE],
        Q3,
        "https://drift.example/x",
        None,
        datetime(2009, 10, 13, 4, 0, tzinfo=UTC),
        zone="Europe/Copenhagen",
    )
    schema = form.model_json_schema()
    assert set(schema["properties"]) == {"beslutning", "afvigelser", "begrundelse", "godkendt_af"}
    answer = form(
        beslutning="godkend",
        afvigelser=["2009Q3/centre.csv:D3:ikke_tal"],
        begrundelse="tastefejl",
        godkendt_af="Olsen",
    )
    assert answer.afvigelser == ["2009Q3/centre.csv:D3:ikke_tal"]
    with pytest.raises(ValueError):  # the catalogue cannot be chosen
        form(
            beslutning="godkend",
            afvigelser=["targets/katalog.xlsx::fil_beskyttet"],
            begrundelse="",
            godkendt_af="Olsen",
        )
    with pytest.raises(ValueError):
        form(beslutning="måske", afvigelser=[], begrundelse="", godkendt_af="Olsen")


def test_messages_name_the_folder_looked_for():
    text = unwaivable_message(Q3, [NO_QUARTER], "s3://indbakke/kbh")
    assert "mappen 2009Q3/ i indbakken s3://indbakke/kbh findes ikke eller er tom" in text


def test_a_decision_is_recorded_once_per_run(tmp_path):
    review = open_storage(str(tmp_path))
    where = record_decision(review, Q3, "run-1", "afvis", "Olsen", "retter filen", [], None)
    record_decision(review, Q3, "run-1", "godkend", "Hansen", "senere", [], None)
    assert where == str(tmp_path / "2009Q3" / "beslutninger" / "run-1.json")
    import json

    record = json.loads((tmp_path / "2009Q3" / "beslutninger" / "run-1.json").read_text())
    assert (record["beslutning"], record["beslutter"], record["begrundelse"]) == (
        "afvis",
        "Olsen",
        "retter filen",
    )


# --- The approval branch of the quarterly flow, run in this process as a worker runs it ---
#
# A deployment's flow run is created on the test API and executed here by Prefect's own
# engine (what `prefect worker start` does in a subprocess): the first execution suspends,
# the operator's input is given through the API (validated by the server against the
# form's schema), and a second execution resumes and ends the run.

FLOW_INBOX = __import__("pathlib").Path(__file__).parent / "data" / "flow" / "inbox"
KEY = "2009Q3/centre.csv:D3:ikke_tal"


@pytest.fixture
def deployed(prefect_api, tmp_path, monkeypatch, mail):
    """The quarterly and deadline deployments on the test API, a copy of the blocked inbox,
    mail to a loopback SMTP server, and results persisted in a folder of the test's own."""
    import shutil
    import uuid

    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, PREFECT_UI_URL, temporary_settings

    from deployments.quarterly import deadline_deployment
    from flows.quarterly import quarterly_report

    mailbox = mail
    monkeypatch.setenv("KVARTAL_REVIEW_URL", "https://ikke.denne.example")  # the run's own wins
    shutil.copytree(FLOW_INBOX, tmp_path / "inbox")
    name = f"test-{uuid.uuid4().hex[:8]}"
    with temporary_settings(
        {
            PREFECT_LOCAL_STORAGE_PATH: str(tmp_path / "results"),
            PREFECT_UI_URL: "http://prefect.kommune.example",
        }
    ):
        quarterly_report.to_deployment(name=name).apply()
        deadline_deployment().apply()
        yield {
            "deployment": f"quarterly-report/{name}",
            "root": tmp_path,
            "mailbox": mailbox,
        }


def _create(deployed, **params):
    from prefect import get_client

    base = {
        "quarter": "2009Q3",
        "inbox": str(deployed["root"] / "inbox"),
        "publish_to": str(deployed["root"] / "published"),
        "review_to": str(deployed["root"] / "review"),
        "interactive": False,
        "inbox_name": "Vejen",
        "review_url": "https://drift.kommune.example/kvartal/vejen",
        "approval_timeout": 3600,
    }
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(deployed["deployment"])
        return client.create_flow_run_from_deployment(
            deployment.id, parameters={**base, **params}
        ).id


def _execute(run_id):
    """One execution of the run, as a worker's subprocess does it."""
    import contextlib

    from prefect.exceptions import FailedRun, Pause
    from prefect.flow_engine import flow_run_logger, load_flow, load_flow_run, run_flow

    run = load_flow_run(run_id)
    with contextlib.suppress(Pause, FailedRun):  # suspended, or ended as kvartal meant
        run_flow(load_flow(run), flow_run=run, error_logger=flow_run_logger(run))
    return _read(run_id)


def _read(run_id):
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id)


def _mail(deployed, part):
    return [m for _, m in deployed["mailbox"].messages if part in m["Subject"]]


def test_an_approved_run_waits_then_publishes_with_every_error_waived(deployed):
    from prefect import get_client

    run_id = _create(deployed)
    run = _execute(run_id)
    assert run.state.name == "Suspended"
    (told,) = _mail(deployed, "venter på godkendelse: Vejen, 3. kvartal 2009")
    text = told.get_content()
    assert f"- {KEY}: " in text
    assert (
        "Valideringsrapport: https://drift.kommune.example/kvartal/vejen/2009Q3/validation.html"
        in text
    )
    assert f"Kørslen i Prefect: http://prefect.kommune.example/runs/flow-run/{run_id}" in text
    # the deadline has a run of its own, scheduled for the deadline
    with get_client(sync_client=True) as client:
        (deadline_run,) = [
            r for r in client.read_flow_runs() if r.parameters.get("flow_run_id") == str(run_id)
        ]
        assert deadline_run.state.is_scheduled()
        assert deadline_run.parameters["inbox_name"] == "Vejen"

        # an approval that leaves an error out is refused by the server, before any resume
        partial = client.resume_flow_run(
            run_id,
            run_input={
                "beslutning": "godkend",
                "afvigelser": [],
                "begrundelse": "x",
                "godkendt_af": "Olsen",
            },
        )
        assert partial.status.value == "REJECT", partial
        # ... also one that leaves the field out (what the UI sends when the list is emptied)
        omitted = client.resume_flow_run(
            run_id,
            run_input={"beslutning": "godkend", "begrundelse": "x", "godkendt_af": "Olsen"},
        )
        assert omitted.status.value == "REJECT", omitted
        assert _read(run_id).state.name == "Suspended"
        answer = client.resume_flow_run(
            run_id,
            run_input={
                "beslutning": "godkend",
                "afvigelser": [KEY],
                "begrundelse": "tastefejl",
                "godkendt_af": "Olsen",
            },
        )
        assert answer.status.value == "ACCEPT", answer
    run = _execute(run_id)
    assert run.state.is_completed(), run.state
    # decided in time: its deadline run is cancelled, not left scheduled
    assert _read(deadline_run.id).state.is_cancelled()
    waivers = (deployed["root"] / "inbox" / "2009Q3" / "afvigelser.csv").read_text("utf-8-sig")
    assert "2009Q3/centre.csv;D3;ikke_tal;tastefejl;Olsen" in waivers
    assert (deployed["root"] / "published" / "2009Q3" / "manifest.json").is_file()
    (approved,) = _mail(deployed, "Vejen, 3. kvartal 2009 godkendt af Olsen")
    assert "Olsen har godkendt 1 afvigelse for Vejen, 3. kvartal 2009" in (approved.get_content())
    assert len(_mail(deployed, "venter på godkendelse")) == 1


def test_a_rejected_run_ends_in_danish_and_a_missed_deadline_is_recorded(deployed, caplog):
    import json

    from flows.deadline import approval_deadline

    rejected, late = _create(deployed), _create(deployed)
    assert _execute(rejected).state.name == "Suspended"
    assert _execute(late).state.name == "Suspended"
    from prefect import get_client

    with get_client(sync_client=True) as client:
        client.resume_flow_run(
            rejected,
            run_input={
                "beslutning": "afvis",
                "afvigelser": [],
                "begrundelse": "Centret retter filen",
                "godkendt_af": "Olsen",
            },
        )
    caplog.clear()
    state = _execute(rejected).state
    assert (state.type.value, state.name) == ("FAILED", "Afvist")
    # a clean ending: no "unexpected exception", no traceback in the run's log
    assert not [r for r in caplog.records if r.exc_info or "unexpected" in r.getMessage()]
    assert state.message.startswith(
        "Vejen, 3. kvartal 2009: udgivelsen er afvist af Olsen: Centret retter filen."
    )
    assert _mail(deployed, "Vejen, 3. kvartal 2009 afvist af Olsen")
    assert not _mail(deployed, "er fejlet")  # a rejection is no crash

    # the deadline's run, as it runs at the deadline
    late_run = _read(late)
    assert (
        approval_deadline(
            flow_run_id=str(late),
            quarter="2009Q3",
            review_to=str(deployed["root"] / "review"),
            deadline="2009-10-13T04:00:00+00:00",
            inbox_name="Vejen",
        )
        == "frist_overskredet"
    )
    state = _read(late).state
    assert (state.type.value, state.name) == ("FAILED", "Frist overskredet")
    assert "Vejen, 3. kvartal 2009: ingen beslutning inden fristen 13.10.2009 kl. 06:00" in (
        state.message
    )
    record = json.loads(
        (deployed["root"] / "review" / "2009Q3" / "beslutninger" / f"{late}.json").read_text()
    )
    assert record["beslutning"] == "frist_overskredet"
    assert _mail(deployed, "fristen for Vejen, 3. kvartal 2009 er overskredet")
    assert late_run.state.name == "Suspended"
    assert not (deployed["root"] / "published" / "2009Q3").exists()


def test_an_approval_run_that_cannot_wait_is_mailed(deployed):
    """What once happened to a register's blocked inbox: its run was started as a child of
    another run, which Prefect cannot suspend. The run fails, and the operators hear of it."""
    from prefect import flow

    from flows.quarterly import quarterly_report

    @flow
    def parent() -> object:
        return quarterly_report(
            quarter="2009Q3",
            inbox=str(deployed["root"] / "inbox"),
            publish_to=str(deployed["root"] / "published"),
            review_to=str(deployed["root"] / "review"),
            interactive=False,
            inbox_name="Vejen",
            return_state=True,
        )

    assert parent(return_state=True).is_failed()
    (crash,) = _mail(deployed, "kvartal: kørslen for Vejen, 3. kvartal 2009 er fejlet")
    assert "Cannot suspend subflows" in crash.get_content()
    assert "intet er udgivet" in crash.get_content()


@pytest.mark.slow
def test_a_stray_file_beside_the_catalogue_or_at_the_root_is_waived_and_the_run_publishes(
    tmp_path, prefect_api
):
    """The audit's case: a `README.txt` in targets/ and a `løs.csv` at the inbox root.
    Both are errors (every file is read or named, CONTRACT §1), but the catalogue reads
    fine, so they block as ordinary errors, not as an unreadable catalogue, and once
    waived by the names their problems carry, the quarter is published (CONTRACT §6)."""
    import json
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    inbox = tmp_path / "inbox"
    shutil.copytree(repo / "examples" / "inbox", inbox)
    (inbox / "targets" / "README.txt").write_text("Kataloget ligger her.\n", encoding="utf-8")
    (inbox / "løs.csv").write_text("Nr.;Værdi\n1.1;3\n", encoding="utf-8")
    publish = tmp_path / "publish"

    def run():
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "kvartal.cli",
                "run",
                "--quarter",
                "2009Q3",
                "--inbox",
                str(inbox),
                "--publish-to",
                str(publish),
                "--review-to",
                str(tmp_path / "review"),
            ],
            env=dict(os.environ, PREFECT_API_URL=prefect_api),
            capture_output=True,
            text=True,
            timeout=900,
            cwd=repo,
        )

    blocked = run()
    assert blocked.returncode == 2, blocked.stderr[-3000:]
    assert "2 fejl blokerer udgivelsen" in blocked.stderr
    assert "kan ikke godkendes" not in blocked.stderr
    assert "målkataloget mangler" not in blocked.stderr
    assert not (publish / "2009Q3" / "manifest.json").exists()

    (inbox / "2009Q3" / "afvigelser.csv").write_text(
        "Fil;Celle;Regel;Begrundelse;Godkendt af\n"
        "targets/README.txt;;fil_ignoreret;En note til kollegerne;Olsen\n"
        "løs.csv;;;Gammel kopi, slettes;Olsen\n",
        encoding="utf-8",
    )
    published = run()
    assert published.returncode == 0, published.stderr[-3000:]
    manifest = json.loads((publish / "2009Q3" / "manifest.json").read_text(encoding="utf-8"))
    assert "afvigelse_uden_fund" not in json.dumps(manifest)
    assert sorted((w["problem"]["file"], w["reason"]) for w in manifest["waivers"]) == [
        ("løs.csv", "Gammel kopi, slettes"),
        ("targets/README.txt", "En note til kollegerne"),
    ]
