from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NONE

from kvartal import pipeline
from kvartal.pipeline import Fulfilment
from kvartal.quarters import Quarter
from kvartal.storage import open_storage
from kvartal.validation import ValidationResult


@task(name="render", cache_policy=NONE)
def render_report(
    quarter: Quarter,
    version: int,
    published_at: datetime,
    fulfilment: Fulfilment,
    validation: ValidationResult,
    timezone: str,
    publish_to: str,
    sources: list[dict[str, Any]],
) -> dict[str, bytes]:
    return pipeline.render_files(
        quarter,
        version,
        published_at,
        fulfilment,
        validation,
        timezone=timezone,
        publish_to=open_storage(publish_to),
        sources=sources,
    )
