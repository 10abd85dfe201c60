"""`kvartal deploy` against a started Prefect server: the quarterly schedule is registered
and the server's scheduler turns it into scheduled runs at the right Danish times."""

from __future__ import annotations

import subprocess
import sys
import time
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.slow

CPH = ZoneInfo("Europe/Copenhagen")


def test_deploy_registers_the_quarterly_schedule(prefect_server, tmp_path):
    env = prefect_server.env(
        KVARTAL_INBOX="s3://kommune-inbox/kvartal",
        KVARTAL_PUBLISH_TO="s3://kommune-rapporter/status",
        KVARTAL_REVIEW_TO=str(tmp_path / "review"),
    )
    done = subprocess.run([sys.executable, "-m", "kvartal.cli", "deploy"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "kvartalsrapport" in done.stdout

    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: prefect_server.api_url}), \
            get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("quarterly-report/kvartalsrapport")
        assert deployment.parameters == {
            "inbox": "s3://kommune-inbox/kvartal",
            "publish_to": "s3://kommune-rapporter/status",
            "review_to": str(tmp_path / "review"),
            "interactive": False,
        }
        (schedule,) = deployment.schedules
        assert schedule.schedule.cron == "0 6 10 1,4,7,10 *"
        assert schedule.schedule.timezone == "Europe/Copenhagen"
        assert schedule.active

        # The scheduler service (every 2 s here) must create runs: with SQLAlchemy 2.1 it
        # silently created none, which only this kind of test catches.
        deadline = time.monotonic() + 120
        runs = []
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(deployment_filter=DeploymentFilter(
                id=DeploymentFilterId(any_=[deployment.id])))
            if len(runs) >= 3:
                break
            time.sleep(2)
        assert len(runs) >= 3, prefect_server.log.read_text()[-3000:]
        for run in runs:
            local = run.expected_start_time.astimezone(CPH)
            assert (local.month, local.day, local.hour, local.minute) in {
                (1, 10, 6, 0), (4, 10, 6, 0), (7, 10, 6, 0), (10, 10, 6, 0)}
            assert run.state.type.value == "SCHEDULED"
