from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import State, Task, task
from prefect.cache_policies import NONE
from prefect.client.schemas.objects import TaskRun

from kvartal import pipeline
from kvartal.pipeline import Fulfilment
from kvartal.publish import Plan, PublishConflict, PublishResult, this_process
from kvartal.quarters import Quarter
from kvartal.storage import ConditionalWritesUnsupported, open_storage
from kvartal.validation import ValidationResult


def worth_retrying(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Storage in transit fails and recovers; a run at work elsewhere or a server without
    conditional writes will still be so in ten seconds, so those fail at once."""
    failure = state.result(raise_on_failure=False)
    return not isinstance(failure, (PublishConflict, ConditionalWritesUnsupported))


@task(name="plan-version", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def plan_version(publish_to: str, quarter: Quarter, fingerprint: str) -> Plan:
    return pipeline.plan_version(open_storage(publish_to), quarter, fingerprint)


@task(
    name="publish",
    retries=3,
    retry_delay_seconds=[2, 10, 30],
    cache_policy=NONE,
    retry_condition_fn=worth_retrying,
)
def publish_report(
    publish_to: str,
    quarter: Quarter,
    planned: Plan,
    files: dict[str, bytes],
    fingerprint: str,
    manifest_extra: dict[str, Any],
    fulfilment: Fulfilment,
    validation: ValidationResult,
    timezone: str,
    lease: float,
) -> PublishResult:
    """Retried because object storage fails in transit; the claim makes a retry resume."""
    storage = open_storage(publish_to)

    def render(n: int, published_at: datetime) -> dict[str, bytes]:
        return pipeline.render_files(
            quarter,
            n,
            published_at,
            fulfilment,
            validation,
            timezone=timezone,
            publish_to=storage,
            sources=manifest_extra.get("sources"),
        )

    version = pipeline.Version(quarter, fingerprint, manifest_extra)
    return pipeline.publish_files(storage, version, planned, files, render, this_process(lease))
