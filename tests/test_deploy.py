"""`kvartal deploy` as the README's worker section does it, against a started Prefect server:
the schedule is registered at the right Danish times, the deployment refuses what would
leave runs nobody can run, and a run executes to completion on a worker started in another
folder than the one `kvartal deploy` ran in."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.operations import Operations, wait_for

pytestmark = pytest.mark.slow

CPH = ZoneInfo("Europe/Copenhagen")
FLOW_INBOX = Path(__file__).parent / "data" / "flow" / "inbox"


def _clean_inbox(where: Path) -> Path:
    """The test inbox with its one bad cell corrected (D3: 1.5 -> 31)."""
    shutil.copytree(FLOW_INBOX, where)
    centre = where / "2009Q3" / "centre.csv"
    centre.write_text(centre.read_text("utf-8").replace(";1.5;", ";31;"), "utf-8")
    return where


def _client(ops: Operations):  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: ops.api_url}):
        from prefect import get_client

        client: SyncPrefectClient = get_client(sync_client=True)
    return client


def test_deploy_refuses_without_a_server_or_work_pool(operations, tmp_path):
    ops = operations
    no_server = ops.kvartal("deploy", cwd=tmp_path, PREFECT_API_URL="")
    assert no_server.returncode == 1
    assert "PREFECT_API_URL er ikke sat" in no_server.stderr

    no_pool = ops.kvartal("deploy", "--work-pool", "findes-ikke", cwd=tmp_path)
    assert no_pool.returncode == 1
    assert "Work poolen 'findes-ikke' findes ikke" in no_pool.stderr
    assert "prefect work-pool create findes-ikke --type process" in no_pool.stderr

    bad_setting = ops.kvartal("deploy", cwd=tmp_path, KVARTAL_APPROVAL_TIMEOUT="tre dage")
    assert bad_setting.returncode == 1
    assert "KVARTAL_APPROVAL_TIMEOUT='tre dage' skal være et helt tal" in bad_setting.stderr


def test_a_deployed_run_completes_on_a_worker_started_in_another_folder(operations, tmp_path):
    ops = operations
    inbox = _clean_inbox(tmp_path / "inbox")
    deployer = tmp_path / "checkout"  # where the operator runs `kvartal deploy`
    deployer.mkdir()
    created = ops.prefect("work-pool", "create", "kvartal", "--type", "process")
    assert created.returncode == 0, created.stdout + created.stderr

    done = ops.kvartal(
        "deploy",
        "--work-pool",
        "kvartal",
        cwd=deployer,
        KVARTAL_INBOX=str(inbox),
        KVARTAL_PUBLISH_TO="udgivet",
        KVARTAL_REVIEW_TO="gennemsyn",
        KVARTAL_APPROVAL_TIMEOUT="7200",
        KVARTAL_AT_RISK="0.8",
        KVARTAL_REVIEW_URL="https://drift.kommune.example/kvartal",
    )
    assert done.returncode == 0, done.stderr
    # relative folders are made absolute against the deploying folder, and said so
    assert (
        f"KVARTAL_PUBLISH_TO='udgivet' er en relativ mappe; registreret som "
        f"{deployer / 'udgivet'}" in done.stdout
    )
    assert "quarterly-report/kvartalsrapport registreret" in done.stdout
    assert "approval-deadline/kvartal-frist registreret" in done.stdout
    assert (
        "fastlagt i deploymentet (ændres med kvartal deploy igen): approval_timeout=7200, "
        "at_risk=0.8, review_url='https://drift.kommune.example/kvartal'" in done.stdout
    )

    with _client(ops) as client:
        deployment = client.read_deployment_by_name("quarterly-report/kvartalsrapport")
        assert deployment.entrypoint == "flows.quarterly.quarterly_report"
        assert deployment.work_pool_name == "kvartal"
        assert deployment.parameters == {
            "inbox": str(inbox),
            "publish_to": str(deployer / "udgivet"),
            "review_to": str(deployer / "gennemsyn"),
            "interactive": False,
            # fixed when deployed: the worker's own environment does not decide these
            "approval_timeout": 7200,
            "at_risk": 0.8,
            "review_url": "https://drift.kommune.example/kvartal",
        }
        (schedule,) = deployment.schedules
        assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == (
            "0 6 10 1,4,7,10 *",
            "Europe/Copenhagen",
            True,
        )

        # The scheduler service (every 2 s here) must create runs at 06:00 Danish time on
        # the 10th of January, April, July and October.
        from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

        def scheduled():  # type: ignore[no-untyped-def]
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
            )
            return runs if len(runs) >= 3 else None

        for run in wait_for("scheduled runs", scheduled, 120, ops.log):
            local = run.expected_start_time.astimezone(CPH)
            assert (local.month, local.day, local.hour, local.minute) in {
                (1, 10, 6, 0),
                (4, 10, 6, 0),
                (7, 10, 6, 0),
                (10, 10, 6, 0),
            }

        # A worker started elsewhere runs an explicit quarter to completion.
        ops.start_worker("kvartal", cwd=tmp_path / "somewhere-else")
        run = client.create_flow_run_from_deployment(
            deployment.id, parameters={"quarter": "2009Q3"}
        )

        def finished():  # type: ignore[no-untyped-def]
            state = client.read_flow_run(run.id).state
            return state if state is not None and state.is_final() else None

        state = wait_for("the run to finish", finished, 420, ops.worker_logs)
        assert state.is_completed(), (state, ops.worker_logs()[-6000:])

    published = deployer / "udgivet" / "2009Q3"
    fulfilment = json.loads((published / "fulfilment.json").read_text("utf-8"))
    by_id = {t["target_id"]: t for t in fulfilment["targets"]}
    assert by_id["1.4-a"]["actual"] == 71  # 40 in 2009Q2 + 31 in 2009Q3
    assert by_id["1.5-a"]["actual"] == 147  # 95 + 52
    manifest = json.loads((published / "manifest.json").read_text("utf-8"))
    assert manifest["run_id"] == str(run.id)
    assert (deployer / "gennemsyn" / "2009Q3" / "validation.json").is_file()
    assert not (tmp_path / "somewhere-else" / "udgivet").exists()
