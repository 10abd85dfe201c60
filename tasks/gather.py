from __future__ import annotations

from prefect import State, task
from prefect.cache_policies import NONE

from kvartal import pipeline
from kvartal.gather import InboxNotFound, Inputs
from kvartal.quarters import Quarter
from kvartal.readers import Limits
from kvartal.storage import open_storage


def _worth_retrying(task: object, task_run: object, state: State) -> bool:
    """A missing inbox stays missing; a dropped connection may not."""
    try:
        state.result()
    except InboxNotFound:
        return False
    except Exception:
        return True
    return False


@task(
    name="gather",
    retries=2,
    retry_delay_seconds=[2, 10],
    cache_policy=NONE,
    retry_condition_fn=_worth_retrying,
)
def gather_inputs(inbox: str, quarter: Quarter, limits: Limits) -> Inputs:
    """Read the catalogue and the figures; retried because an S3 inbox can fail in transit."""
    return pipeline.gather_inputs(open_storage(inbox), quarter, limits)
