from __future__ import annotations

from datetime import datetime
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
) -> dict[str, bytes]:
    """The recipients' files, a function of the inputs and the publication time alone.

    No clock is read here: a run that finishes a version an interrupted run began must
    render exactly the bytes already written, so "Sidst opdateret" is the day the version
    was first published (in the operators' time zone), not the day of this run.
    """
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
    )
    return render_all(ri)


@task(name="render", cache_policy=NONE)
def render_report(
    quarter: Quarter,
    version: int,
    published_at: datetime,
    fulfilment: Fulfilment,
    validation: ValidationResult,
) -> dict[str, bytes]:
    return render_files(quarter, version, published_at, fulfilment, validation)
