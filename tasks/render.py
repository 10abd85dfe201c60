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


@task(name="render", cache_policy=NONE)
def render_report(quarter: Quarter, version: int, fulfilment: Fulfilment,
                  validation: ValidationResult) -> dict[str, bytes]:
    today = datetime.now(ZoneInfo(settings().timezone)).date()
    ri = ReportInput(
        quarter=quarter,
        version=version,
        targets=fulfilment.targets,
        results=fulfilment.results,
        previous=fulfilment.previous,
        figures=[f for f in fulfilment.figures if f.quarter == quarter],
        warnings=validation.warnings,
        waivers=validation.waived,
        updated=today,
    )
    return render_all(ri)
