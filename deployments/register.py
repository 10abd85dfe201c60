"""The register's deployments: every inbox of a register, each quarter, on a work pool.

Three deployments share one name, taken from the register's file name:
- `quarterly-reports/<name>`: the parent, on the quarterly cron in Danish time. It runs the
  first share of the inboxes itself and submits the other shares;
- `quarterly-reports-shard/<name>`: a share of the inboxes, on whichever worker is free;
- `quarterly-report/<name>-godkendelse`: one blocked inbox waiting for its operator's
  decision, in a top-level run of its own (only such a run can be suspended), so it holds
  neither a share nor the other inboxes;
and beside them `approval-deadline/kvartal-frist`, whose runs end an undecided approval run.

The register's contents travel in the parameters: workers on other machines need no copy
of the file. Flows are named by module path, so a worker started in any folder finds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from kvartal.config import settings
from kvartal.register import Register, slug

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment


def deployment_name(register: Register) -> str:
    return slug(Path(register.source).stem) if register.source else "register"


def register_deployments(
    register: Register, work_pool: str, shards: int | None = None
) -> list[RunnerDeployment]:
    from prefect.schedules import Cron

    from deployments.quarterly import by_module_path, run_parameters
    from flows.quarterly import quarterly_report
    from flows.quarterly_reports import quarterly_reports, quarterly_reports_shard

    name = deployment_name(register)
    shard_name = f"quarterly-reports-shard/{name}"
    approval_name = f"quarterly-report/{name}-godkendelse"
    parts = shards if shards is not None else settings().shards
    common: dict[str, Any] = {
        "work_pool_name": work_pool,
        "tags": ["kvartal", f"register:{name}"],
    }
    return [
        by_module_path(
            quarterly_reports,
            name=name,
            description=f"Alle {len(register.inboxes)} indbakker i {register.source}: "
            "kvartalsrapporterne og operatørernes oversigt.",
            schedules=[Cron(settings().register_cron, timezone=settings().timezone)],
            parameters={
                "inbox_register": register.to_dict(),
                "shards": parts,
                "shard_deployment": shard_name,
                "approval_deployment": approval_name,
                "at_risk": settings().at_risk,
            },
            **common,
        ),
        by_module_path(
            quarterly_reports_shard,
            name=name,
            description=f"En andel af registrets indbakker; startes af quarterly-reports/{name}.",
            **common,
        ),
        by_module_path(
            quarterly_report,
            name=f"{name}-godkendelse",
            description="Én blokeret indbakke, der venter på en operatørs beslutning; "
            f"startes af quarterly-reports/{name}.",
            parameters={"interactive": False, **run_parameters()},
            **common,
        ),
    ]


def deploy_register(
    register: Register, work_pool: str | None, shards: int | None = None
) -> list[str]:
    """Register the three deployments with the server at PREFECT_API_URL; say what was done."""
    if not work_pool:
        raise ValueError(
            "--register kræver --work-pool: registrets kørsler fordeles på en "
            "work pools workers (opret den med `prefect work-pool create "
            "<navn> --type process`)"
        )
    from deployments.quarterly import deadline_deployment, run_parameters

    lines = []
    for deployment in [
        *register_deployments(register, work_pool, shards),
        deadline_deployment(work_pool),
    ]:
        deployment_id = deployment.apply()
        lines.append(f"{deployment.flow_name}/{deployment.name} registreret ({deployment_id})")
    fixed = ", ".join(f"{k}={v!r}" for k, v in run_parameters().items())
    lines.append(f"fastlagt i deploymentet (ændres med kvartal deploy igen): {fixed}")
    lines.append(
        f"cron {settings().register_cron!r} i {settings().timezone}; "
        f"{len(register.inboxes)} indbakker; kørslerne afvikles af work pool "
        f"{work_pool!r}"
    )
    return lines
