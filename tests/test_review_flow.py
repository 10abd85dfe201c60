"""The operator's review end to end: a blocked quarter is never published; a deployed
(scheduled) run is suspended for a decision in Prefect, holding no process: it survives a
killed worker and a restarted server, and an approval through the API with CONTRACT §6's
fields publishes with the waiver on record; a rejection and a missed deadline are recorded
in the review location and mailed to the operators; a missing quarter is not waivable."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.operations import Operations, kill, wait_for

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
    return subprocess.run(
        [sys.executable, "-m", "kvartal.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_validate_prints_each_problem_with_its_cell_and_exits_2(places):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kvartal.cli",
            "validate",
            "--quarter",
            "2009Q3",
            "--inbox",
            str(places["inbox"]),
            "--review-to",
            str(places["review"]),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("2009Q3/centre.csv::D3: ikke_tal: ") for line in lines), lines
    problems = json.loads((places["review"] / "2009Q3" / "validation.json").read_text("utf-8"))
    (bad,) = [p for p in problems if p["severity"] == "fejl"]
    assert (bad["file"], bad["sheet"], bad["cell"], bad["column"], bad["row"], bad["value"]) == (
        "2009Q3/centre.csv",
        None,
        "D3",
        "Værdi",
        3,
        "1.5",
    )
    assert (places["review"] / "2009Q3" / "validation.html").is_file()


def test_interactive_run_with_errors_exits_2_and_publishes_nothing(places, prefect_api):
    done = _cli(
        [
            "run",
            "--quarter",
            "2009Q3",
            "--inbox",
            str(places["inbox"]),
            "--publish-to",
            str(places["publish"]),
            "--review-to",
            str(places["review"]),
        ],
        prefect_api,
    )
    assert done.returncode == 2, done.stderr
    assert "D3" in done.stdout
    assert not (places["publish"] / "2009Q3").exists()
    assert (places["review"] / "2009Q3" / "validation.json").is_file()


def test_a_quarter_without_figures_cannot_be_waived_into_publication(places, prefect_api):
    folder = places["inbox"] / "2009Q4"
    folder.mkdir()
    (folder / "afvigelser.csv").write_text(
        "Fil;Celle;Regel;Begrundelse;Godkendt af\r\n"
        "2009Q4/;;kvartal_mangler;Centrene har ikke indberettet;Operatør Olsen\r\n",
        "utf-8",
    )
    done = _cli(
        [
            "run",
            "--quarter",
            "2009Q4",
            "--inbox",
            str(places["inbox"]),
            "--publish-to",
            str(places["publish"]),
            "--review-to",
            str(places["review"]),
        ],
        prefect_api,
    )
    assert done.returncode == 2, done.stderr
    assert f"mappen 2009Q4/ i indbakken {places['inbox']} findes ikke eller er tom" in (done.stderr)
    assert not places["publish"].exists()


REVIEW_URL = "https://drift.kommune.example/kvartal"
DECISION = {
    "beslutning": "godkend",
    "afvigelser": [BAD_CELL],
    "begrundelse": "Centret bekræfter 1,5 er en tastefejl; tallet udelades",
    "godkendt_af": "Operatør Olsen",
}


def _deployed(ops: Operations, places: dict[str, Path], smtp_port: int) -> dict[str, str]:
    """The README's worker set-up: a process work pool and `kvartal deploy`; returns the
    environment the operators' workers run with."""
    created = ops.prefect("work-pool", "create", "kvartal", "--type", "process")
    assert created.returncode == 0, created.stdout + created.stderr
    env = {
        "KVARTAL_INBOX": str(places["inbox"]),
        "KVARTAL_PUBLISH_TO": str(places["publish"]),
        "KVARTAL_REVIEW_TO": str(places["review"]),
        "KVARTAL_REVIEW_URL": REVIEW_URL,
        "KVARTAL_SMTP_HOST": "127.0.0.1",
        "KVARTAL_SMTP_PORT": str(smtp_port),
        "KVARTAL_SMTP_FROM": "kvartal@kommune.example",
        "KVARTAL_OPERATOR_EMAILS": "drift@kommune.example",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "PREFECT_WORKER_PREFETCH_SECONDS": "2",
    }
    done = ops.kvartal("deploy", cwd=places["inbox"].parent, **env)
    assert done.returncode == 0, done.stderr
    return env


def _client(ops: Operations) -> Any:
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: ops.api_url}):
        return get_client(sync_client=True)


def _start_run(ops: Operations, quarter: str, **parameters: Any) -> Any:
    with _client(ops) as client:
        deployment = client.read_deployment_by_name("quarterly-report/kvartalsrapport")
        return client.create_flow_run_from_deployment(
            deployment.id, parameters={"quarter": quarter, **parameters}
        ).id


def _state(ops: Operations, run_id: Any) -> Any:
    with _client(ops) as client:
        return client.read_flow_run(run_id).state


def _wait_state(ops: Operations, run_id: Any, what: str, ok: Any, timeout: float = 420) -> Any:
    def check() -> Any:
        state = _state(ops, run_id)
        return state if state is not None and ok(state) else None

    return wait_for(what, check, timeout, lambda: ops.worker_logs() + ops.log())


def _mails(mailbox: Any, subject_part: str) -> list[Any]:
    return [m for _, m in mailbox.messages if subject_part in m["Subject"]]


def test_a_suspended_run_survives_worker_and_server_restarts_and_publishes_when_approved(
    places, operations, smtp
):
    ops, (mailbox, smtp_settings) = operations, smtp
    env = _deployed(ops, places, smtp_settings.port)
    first = ops.start_worker("kvartal", cwd=places["inbox"].parent / "worker-1", **env)
    run_id = _start_run(ops, "2009Q3")
    state = _wait_state(ops, run_id, "the run to be suspended", lambda s: s.is_paused())
    assert state.name == "Suspended"

    # the operators are told once, with the problem, a link they can open, the run, a deadline
    (told,) = _mails(mailbox, "venter på godkendelse: 3. kvartal 2009")
    text = told.get_content()
    assert "- 2009Q3/centre.csv:D3:ikke_tal: " in text  # named as the form names it
    assert f"Valideringsrapport: {REVIEW_URL}/2009Q3/validation.html" in text
    assert f"Kørslen i Prefect: {ops.ui_url}/runs/flow-run/{run_id}" in text
    assert "Frist: " in text
    assert "file://" not in text

    # nothing holds the decision: kill the worker, restart the server, start a new worker
    kill(first)
    ops.stop_server()
    ops.start_server()
    assert _state(ops, run_id).is_paused()
    ops.start_worker("kvartal", cwd=places["inbox"].parent / "worker-2", **env)
    with _client(ops) as client:
        response = client.resume_flow_run(run_id, run_input=DECISION)
    assert response.status.value == "ACCEPT", response
    state = _wait_state(ops, run_id, "the resumed run to finish", lambda s: s.is_final())
    assert state.is_completed(), (state, ops.worker_logs()[-6000:])

    # the decision is on the record in the inbox, where a re-run finds it
    text = (places["inbox"] / "2009Q3" / "afvigelser.csv").read_text("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert rows == [
        {
            "Fil": "2009Q3/centre.csv",
            "Celle": "D3",
            "Regel": "ikke_tal",
            "Begrundelse": "Centret bekræfter 1,5 er en tastefejl; tallet udelades",
            "Godkendt af": "Operatør Olsen",
        }
    ]
    # ... and in the review location, with who, why and when
    record = json.loads(
        (places["review"] / "2009Q3" / "beslutninger" / f"{run_id}.json").read_text("utf-8")
    )
    assert (record["beslutning"], record["beslutter"], record["afvigelser"]) == (
        "godkend",
        "Operatør Olsen",
        [BAD_CELL],
    )
    assert record["tidspunkt"]

    manifest = json.loads((places["publish"] / "2009Q3" / "manifest.json").read_text("utf-8"))
    (waiver,) = manifest["waivers"]
    assert (waiver["file"], waiver["cell"], waiver["rule"], waiver["approved_by"]) == (
        "2009Q3/centre.csv",
        "D3",
        "ikke_tal",
        "Operatør Olsen",
    )
    assert manifest["run_id"] == str(run_id)
    # the waived value is left out: 1.4 has only its 2009Q2 figure (40)
    fulfilment = json.loads((places["publish"] / "2009Q3" / "fulfilment.json").read_text())
    by_id = {t["target_id"]: t for t in fulfilment["targets"]}
    assert by_id["1.4-a"]["actual"] == 40
    assert by_id["1.5-a"]["actual"] == 147  # 95 + 52

    # the resumed run did not tell the operators again that it waits; it told the decision
    assert len(_mails(mailbox, "venter på godkendelse")) == 1
    (approved,) = _mails(mailbox, "godkendt af Operatør Olsen")
    assert f"{ops.ui_url}/runs/flow-run/{run_id}" in approved.get_content()


def test_rejection_deadline_and_missing_quarter_are_recorded_and_told(places, operations, smtp):
    ops, (mailbox, smtp_settings) = operations, smtp
    env = _deployed(ops, places, smtp_settings.port)
    first = ops.start_worker("kvartal", cwd=places["inbox"].parent / "worker", **env)

    rejected = _start_run(ops, "2009Q3")
    # the deadline is the run's parameter, fixed at deploy time or given per run
    late = _start_run(ops, "2009Q3", approval_timeout=90)
    missing = _start_run(ops, "2009Q4")  # the inbox has no 2009Q4 folder

    _wait_state(ops, rejected, "the run to be suspended", lambda s: s.is_paused())
    _wait_state(ops, late, "the late run to be suspended", lambda s: s.is_paused())
    _wait_state(ops, missing, "the run without figures to end", lambda s: s.is_final())

    # no worker slot at all when the deadline comes: the server ends the run on time anyway
    from datetime import UTC, datetime

    kill(first)
    with _client(ops) as client:
        (deadline_run,) = [
            r for r in client.read_flow_runs() if r.parameters.get("flow_run_id") == str(late)
        ]
    due = datetime.fromisoformat(deadline_run.parameters["deadline"])
    assert datetime.now(UTC) < due, "the worker was stopped only after the deadline"
    state = _wait_state(ops, late, "the server to end the undecided run", lambda s: s.is_final())
    assert state.is_failed()
    assert (state.timestamp - due).total_seconds() < 15, (state.timestamp, due)
    ops.start_worker("kvartal", cwd=places["inbox"].parent / "worker-2", **env)
    with _client(ops) as client:
        client.resume_flow_run(
            rejected,
            run_input={
                "beslutning": "afvis",
                "afvigelser": [],
                "begrundelse": "Centret retter filen",
                "godkendt_af": "Operatør Olsen",
            },
        )
    state = _wait_state(ops, rejected, "the rejected run to end", lambda s: s.is_final())
    assert state.is_failed() and state.name == "Afvist"
    assert "afvist af Operatør Olsen: Centret retter filen" in state.message
    record = json.loads(
        (places["review"] / "2009Q3" / "beslutninger" / f"{rejected}.json").read_text("utf-8")
    )
    assert (record["beslutning"], record["beslutter"], record["begrundelse"]) == (
        "afvis",
        "Operatør Olsen",
        "Centret retter filen",
    )
    (told,) = _mails(mailbox, "afvist af Operatør Olsen")
    assert "Centret retter filen" in told.get_content()

    # nobody decides: the deadline run ends it in Danish, records it and tells the operators
    state = _wait_state(
        ops, late, "the deadline run's Danish ending", lambda s: s.name == "Frist overskredet"
    )
    assert state.is_failed()
    assert "ingen beslutning inden fristen" in state.message
    record = json.loads(
        (places["review"] / "2009Q3" / "beslutninger" / f"{late}.json").read_text("utf-8")
    )
    assert (record["beslutning"], record["beslutter"]) == ("frist_overskredet", None)
    (timeout_mail,) = _mails(mailbox, "fristen for 3. kvartal 2009 er overskredet")
    assert f"{ops.ui_url}/runs/flow-run/{late}" in timeout_mail.get_content()

    # a quarter without figures is not offered for approval: the run fails at once
    state = _wait_state(ops, missing, "the run without figures to end", lambda s: s.is_final())
    assert state.is_failed(), state
    assert f"mappen 2009Q4/ i indbakken {places['inbox']} findes ikke eller er tom" in (
        state.message
    )
    (failed,) = _mails(mailbox, "4. kvartal 2009 kan ikke udgives")
    assert "2009Q4/" in failed.get_content()

    assert not (places["publish"] / "2009Q3").exists()
    assert not (places["publish"] / "2009Q4").exists()
    assert not (places["inbox"] / "2009Q3" / "afvigelser.csv").exists()


def test_kvartal_serve_restarted_runs_the_approved_run_to_the_end(places, operations, tmp_path):
    ops = operations
    env = {
        "KVARTAL_INBOX": str(places["inbox"]),
        "KVARTAL_PUBLISH_TO": str(places["publish"]),
        "KVARTAL_REVIEW_TO": str(places["review"]),
    }

    def serve(n: int) -> subprocess.Popen[bytes]:
        folder = tmp_path / f"serve-{n}"
        folder.mkdir()
        log = (ops.root / f"serve-{n}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "kvartal.cli", "serve"],
            env=ops.env(**env),
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    first = serve(1)
    try:

        def registered() -> Any:
            with _client(ops) as client:
                from prefect.exceptions import ObjectNotFound

                try:
                    return client.read_deployment_by_name("quarterly-report/kvartalsrapport")
                except ObjectNotFound:
                    return None

        wait_for("kvartal serve to register", registered, 180, lambda: ops.log("serve-1.log"))
        run_id = _start_run(ops, "2009Q3")
        _wait_state(ops, run_id, "the run to be suspended", lambda s: s.is_paused())
    finally:
        kill(first)
    second = serve(2)
    try:
        with _client(ops) as client:
            client.resume_flow_run(run_id, run_input=DECISION)
        state = _wait_state(ops, run_id, "the resumed run to finish", lambda s: s.is_final())
        assert state.is_completed(), (state, ops.log("serve-2.log")[-6000:])
    finally:
        kill(second)
    manifest = json.loads((places["publish"] / "2009Q3" / "manifest.json").read_text("utf-8"))
    assert [w["approved_by"] for w in manifest["waivers"]] == ["Operatør Olsen"]
