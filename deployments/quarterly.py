"""The quarterly deployment: the report flow on a cron schedule in Danish time.

The default cron runs at 06:00 on the 10th day after each quarter ends, when the centres'
figures are due. Scheduled runs pass no quarter: the flow reports the quarter before the
run's scheduled time. They are not interactive: a run with errors waits for an operator.

Where the code comes from: the deployment names the flow by module path
(`flows.quarterly.quarterly_report`) and has no pull step. A Prefect process worker runs
each flow run in a fresh temporary folder, so a path relative to the folder `kvartal deploy`
ran in can never be found there; a module is found wherever the worker starts, as long as
kvartal is installed in the worker's Python environment (`uv sync` or `pip install` of this
repository). Upgrading kvartal on the worker's machine is then what changes the code that
runs, and no folder has to exist at a particular place.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kvartal.config import settings

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

DEPLOYMENT_NAME = "kvartalsrapport"
FLOW_NAME = "quarterly-report"
ENTRYPOINT = "flows.quarterly.quarterly_report"


class DeployError(RuntimeError):
    """`kvartal deploy` refused; the message says what to do."""


@dataclass(frozen=True)
class Locations:
    inbox: str
    publish_to: str
    review_to: str
    notes: list[str]

    def parameters(self, *names: str) -> dict[str, str]:
        """The locations as a deployment's parameters: all three, or the ones named."""
        every = {"inbox": self.inbox, "publish_to": self.publish_to, "review_to": self.review_to}
        return {k: every[k] for k in names} if names else every


def absolute_locations() -> Locations:
    """The configured locations as a worker anywhere will read them.

    A relative folder would be resolved in the worker's temporary folder, which Prefect
    deletes after the run: the report would be "published" nowhere. So a relative folder is
    made absolute here, against the folder `kvartal deploy` runs in, and the operator is
    told which folder that became.
    """
    from pathlib import Path

    cfg = settings()
    notes: list[str] = []
    out: dict[str, str] = {}
    for var, value in (
        ("KVARTAL_INBOX", cfg.inbox),
        ("KVARTAL_PUBLISH_TO", cfg.publish_to),
        ("KVARTAL_REVIEW_TO", cfg.review_to),
    ):
        if "://" in value or Path(value).is_absolute():
            out[var] = value
            continue
        absolute = str(Path(value).resolve())
        notes.append(f"{var}={value!r} er en relativ mappe; registreret som {absolute}")
        out[var] = absolute
    return Locations(
        out["KVARTAL_INBOX"], out["KVARTAL_PUBLISH_TO"], out["KVARTAL_REVIEW_TO"], notes
    )


def by_module_path(flow: Any, **options: Any) -> RunnerDeployment:
    """A deployment that names its flow by module path (any worker folder finds it), tagged
    `kvartal`; `to_deployment` called from sync code returns a value, never a coroutine."""
    from prefect.types.entrypoint import EntrypointType

    options.setdefault("tags", ["kvartal"])
    deployment = flow.to_deployment(entrypoint_type=EntrypointType.MODULE_PATH, **options)
    assert not inspect.isawaitable(deployment)
    return deployment  # type: ignore[no-any-return]


def quarterly_deployment(
    work_pool: str | None = None, locations: Locations | None = None
) -> RunnerDeployment:
    from prefect.schedules import Cron

    from flows.quarterly import quarterly_report

    cfg = settings()
    where = locations or absolute_locations()
    return by_module_path(
        quarterly_report,
        name=DEPLOYMENT_NAME,
        description="Kvartalsrapporten: saml, valider, beregn målopfyldelse, dan og udgiv.",
        schedules=[Cron(cfg.schedule_cron, timezone=cfg.timezone)],
        parameters={**where.parameters(), "interactive": False, **run_parameters()},
        work_pool_name=work_pool,
    )


def run_parameters() -> dict[str, object]:
    """The settings that decide what a scheduled run does, fixed when it is deployed.

    A run may start on any worker, and a suspended run resumes on whichever worker is free:
    reading these from the worker's environment would let the machine decide the deadline
    or the arithmetic. They become deployment parameters instead (visible, and changeable
    per run, in the UI). What stays with the worker is where and how it reaches things:
    SMTP, S3 credentials, PREFECT_UI_URL, the operators' addresses.
    """
    cfg = settings()
    return {
        "approval_timeout": cfg.approval_timeout,
        "at_risk": cfg.at_risk,
        "review_url": cfg.review_url,
    }


def deadline_deployment(work_pool: str | None = None) -> RunnerDeployment:
    """Runs of this deployment are created by a suspended quarterly run, for its deadline."""
    from flows.deadline import approval_deadline
    from tasks.notify import DEADLINE_DEPLOYMENT

    return by_module_path(
        approval_deadline,
        name=DEADLINE_DEPLOYMENT,
        description="Fristen for en operatørs beslutning: registrer og fortæl, hvis den "
        "overskrides.",
        work_pool_name=work_pool,
    )


def api_url() -> str:
    from prefect.settings import get_current_settings

    return str(get_current_settings().api.url or "")


def check_server(work_pool: str) -> None:
    """Refuse before registering anything: no server, a server that does not answer, or a
    work pool that does not exist would all leave scheduled runs nobody ever runs."""
    url = api_url()
    if not url:
        raise DeployError(
            "PREFECT_API_URL er ikke sat: deploy skal registrere hos den Prefect-server, som "
            "workerne henter kørsler fra (fx PREFECT_API_URL=http://127.0.0.1:4200/api). "
            "Uden den ville registreringen gå til en midlertidig server, der forsvinder."
        )
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
        if problem is not None:
            raise DeployError(
                f"Prefect-serveren ved PREFECT_API_URL={url} svarer ikke "
                f"({problem}). Start den med `prefect server start`."
            )
        try:
            client.read_work_pool(work_pool)
        except ObjectNotFound:
            raise DeployError(
                f"Work poolen {work_pool!r} findes ikke hos {url}. Opret den med "
                f"`prefect work-pool create {work_pool} --type process`, eller vælg en anden "
                "med --work-pool eller KVARTAL_WORK_POOL."
            ) from None


def deploy(work_pool: str | None = None) -> list[str]:
    """Register the deployments with the server at PREFECT_API_URL; say what was done."""
    cfg = settings()
    pool = work_pool or cfg.work_pool
    check_server(pool)
    locations = absolute_locations()
    deployment = quarterly_deployment(pool, locations)
    deployment_id = deployment.apply()
    deadline = deadline_deployment(pool)
    deadline_id = deadline.apply()
    fixed = ", ".join(f"{k}={v!r}" for k, v in run_parameters().items())
    # Collection (CONTRACT §9): the centres' check and the reminders.
    from deployments.collection import collection_deployments

    collection = []
    for d in collection_deployments(pool, locations):
        d.apply()
        collection.append(f"{d.flow_name}/{d.name} registreret hos {api_url()}")
    return [
        *locations.notes,
        f"{FLOW_NAME}/{DEPLOYMENT_NAME} registreret hos {api_url()} ({deployment_id}); "
        f"cron {cfg.schedule_cron!r} i {cfg.timezone}; koden hentes som modulet "
        f"{ENTRYPOINT}; kørslerne afvikles af en worker i work poolen {pool!r} "
        f"(`prefect worker start --pool {pool}`)",
        f"{deadline.flow_name}/{deadline.name} registreret ({deadline_id}): fristen for en "
        "operatørs beslutning; dens kørsler startes af en kørsel, der venter",
        f"fastlagt i deploymentet (ændres med kvartal deploy igen): {fixed}",
        *collection,
    ]


def serve() -> None:
    """Register and run the scheduled deployments in this process until stopped."""
    from prefect import serve as prefect_serve

    from deployments.collection import collection_deployments

    prefect_serve(quarterly_deployment(), deadline_deployment(), *collection_deployments())
