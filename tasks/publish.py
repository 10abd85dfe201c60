from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import State, Task, task
from prefect.cache_policies import NONE
from prefect.client.schemas.objects import TaskRun

from kvartal.config import settings
from kvartal.publish import (
    IndexEntry,
    Plan,
    PublishConflict,
    PublishResult,
    plan,
    publish,
    this_process,
)
from kvartal.quarters import Quarter
from kvartal.report import IndexQuarter, IndexVersion, render_index
from kvartal.storage import ConditionalWritesUnsupported, open_storage
from kvartal.validation import ValidationResult
from tasks.fulfil import Fulfilment
from tasks.render import render_files


def worth_retrying(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Storage in transit fails and recovers; a run at work elsewhere or a server without
    conditional writes will still be so in ten seconds, so those fail at once."""
    failure = state.result(raise_on_failure=False)
    return not isinstance(failure, (PublishConflict, ConditionalWritesUnsupported))


@task(name="plan-version", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def plan_version(publish_to: str, quarter: Quarter, fingerprint: str) -> Plan:
    """The version to render and the publication time it carries: the same inputs again
    publish nothing, and an interrupted version is rendered again with its first time."""
    return plan(open_storage(publish_to), str(quarter), fingerprint)


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
) -> PublishResult:
    """Retried because object storage fails in transit; the claim makes a retry resume."""

    def render(n: int, published_at: datetime) -> dict[str, bytes]:
        if files and (n, published_at) == (planned.version, planned.published_at):
            return files
        # Someone published or claimed meanwhile: render for what is actually owed.
        return render_files(
            quarter,
            n,
            published_at,
            fulfilment,
            validation,
            publish_to,
            manifest_extra.get("sources"),
        )

    # `now`: a new version carries the planned time, so the files rendered for it are used
    return publish(
        open_storage(publish_to),
        str(quarter),
        fingerprint=fingerprint,
        render=render,
        manifest_extra=manifest_extra,
        index_renderer=_index,
        now=planned.published_at,
        actor=this_process(settings().publish_lease),
    )


def _index(entries: list[IndexEntry]) -> bytes:
    return render_index(
        [
            IndexQuarter(
                quarter=e.quarter,
                versions=[
                    IndexVersion(
                        version=v[0],
                        published_at=v[1],
                        href=f"{e.quarter}/versions/{v[0]}/report.html",
                    )
                    for v in e.versions
                ],
            )
            for e in entries
        ]
    )
