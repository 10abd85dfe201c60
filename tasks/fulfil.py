"""The evaluate stage as a task: the arithmetic and the row accounting that guards it."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NONE

from kvartal import pipeline
from kvartal.config import RunSettings
from kvartal.pipeline import Checked, Evaluated


@task(name="fulfil", cache_policy=NONE)
def evaluate(checked: Checked, run: RunSettings) -> Evaluated:
    """Fails the run on a row read that neither feeds a target nor is named by a problem."""
    return pipeline.evaluate(checked, run)
