"""The collection's deployments: the centres' check every `KVARTAL_CHECK_INTERVAL` seconds,
and the reminders daily at 08:00 Danish time (CONTRACT §9).

Like the quarterly deployment they name their flows by module path, so a worker started in
any folder finds them, and they take the locations made absolute by `kvartal deploy`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kvartal.config import settings

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

    from deployments.quarterly import Locations

CHECK_DEPLOYMENT = "indsamling-kontrol"
REMINDER_DEPLOYMENT = "indsamling-paamindelser"
REMINDER_CRON = "0 8 * * *"


def collection_deployments(
    work_pool: str | None = None, locations: Locations | None = None
) -> list[RunnerDeployment]:
    from prefect.schedules import Cron, Interval

    from deployments.quarterly import absolute_locations, by_module_path
    from flows.collection import collection_check, collection_reminders

    cfg = settings()
    where = locations or absolute_locations()
    check = by_module_path(
        collection_check,
        name=CHECK_DEPLOYMENT,
        description="Centrenes egen kontrol: nye filer i indbakken valideres og besvares.",
        schedules=[Interval(cfg.check_interval, timezone=cfg.timezone)],
        parameters=where.parameters(),
        work_pool_name=work_pool,
    )
    remind = by_module_path(
        collection_reminders,
        name=REMINDER_DEPLOYMENT,
        description="Påmindelser til centre, der skylder tal, og operatørernes mail efter fristen.",
        schedules=[Cron(REMINDER_CRON, timezone=cfg.timezone)],
        parameters=where.parameters("inbox", "review_to"),
        work_pool_name=work_pool,
    )
    return [check, remind]
