"""The quarterly deployment: the report flow on a cron schedule in Danish time.

The default cron runs at 06:00 on the 10th day after each quarter ends, when the centres'
figures are due. Scheduled runs pass no quarter: the flow reports the quarter before the
run's scheduled time. They are not interactive: a run with errors waits for an operator.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

from kvartal.config import setting

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

DEPLOYMENT_NAME = "kvartalsrapport"


def quarterly_deployment(work_pool: str | None = None) -> RunnerDeployment:
    from prefect.schedules import Cron

    from flows.quarterly import quarterly_report

    deployment = quarterly_report.to_deployment(
        name=DEPLOYMENT_NAME,
        description="Kvartalsrapporten: saml, valider, beregn målopfyldelse, dan og udgiv.",
        schedules=[Cron(setting("KVARTAL_SCHEDULE_CRON"), timezone=setting("KVARTAL_TIMEZONE"))],
        parameters={
            "inbox": setting("KVARTAL_INBOX"),
            "publish_to": setting("KVARTAL_PUBLISH_TO"),
            "review_to": setting("KVARTAL_REVIEW_TO"),
            "interactive": False,
        },
        work_pool_name=work_pool,
        tags=["kvartal"],
    )
    assert not inspect.isawaitable(deployment)  # called from sync code it is a value
    return deployment


def deploy(work_pool: str | None = None) -> list[str]:
    """Register the deployments with the server at PREFECT_API_URL; say what was done."""
    deployment = quarterly_deployment(work_pool)
    deployment_id = deployment.apply()
    where = f"work pool {work_pool!r}" if work_pool else "`kvartal serve`"
    return [f"quarterly-report/{DEPLOYMENT_NAME} registreret ({deployment_id}); "
            f"cron {setting('KVARTAL_SCHEDULE_CRON')!r} i {setting('KVARTAL_TIMEZONE')}; "
            f"kørslerne afvikles af {where}"]


def serve() -> None:
    """Register and run the scheduled deployments in this process until stopped."""
    from prefect import serve as prefect_serve

    prefect_serve(quarterly_deployment())
