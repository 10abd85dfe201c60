from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from prefect import task
from prefect.cache_policies import NONE

from kvartal.config import settings
from kvartal.quarters import Quarter
from kvartal.report import ReportInput, render_all
from kvartal.validation import ValidationResult
from tasks.fulfil import Fulfilment


def render_files(
    quarter: Quarter,
    version: int,
    published_at: datetime,
    fulfilment: Fulfilment,
    validation: ValidationResult,
    publish_to: str | None = None,
    sources: list[dict[str, Any]] | None = None,
) -> dict[str, bytes]:
    """The recipients' files, a function of the inputs and the publication time alone.

    No clock is read here: a run that finishes a version an interrupted run began must
    render exactly the bytes already written, so "Sidst opdateret" is the day the version
    was first published (in the operators' time zone), not the day of this run.

    With `publish_to`, what is published there is read too (CONTRACT §10): version n−1 of
    the quarter, for changes.json and the first page's changes (`sources` are this
    version's source files as its manifest lists them), and the other quarters' newest
    versions, for the page of charts.
    """
    since, course = None, []
    if publish_to is not None:
        from kvartal.history import previous_version, published_quarters
        from kvartal.storage import open_storage

        storage = open_storage(publish_to)
        since = previous_version(storage, str(quarter), version)
        course = published_quarters(storage)
    ri = ReportInput(
        quarter=quarter,
        version=version,
        targets=fulfilment.targets,
        results=fulfilment.results,
        previous=fulfilment.previous,
        figures=[f for f in fulfilment.figures if f.quarter == quarter],
        warnings=validation.warnings,
        waivers=validation.waived,
        updated=published_at.astimezone(ZoneInfo(settings().timezone)).date(),
        since=since,
        sources=list(sources or []),
        course=course,
    )
    return render_all(ri)


@task(name="render", cache_policy=NONE)
def render_report(
    quarter: Quarter,
    version: int,
    published_at: datetime,
    fulfilment: Fulfilment,
    validation: ValidationResult,
    publish_to: str | None = None,
    sources: list[dict[str, Any]] | None = None,
) -> dict[str, bytes]:
    return render_files(quarter, version, published_at, fulfilment, validation, publish_to, sources)
