from __future__ import annotations

from prefect import State, task
from prefect.cache_policies import NONE

from kvartal.config import settings
from kvartal.gather import InboxNotFound, Inputs, gather
from kvartal.quarters import Quarter
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
def gather_inputs(inbox: str, quarter: Quarter) -> Inputs:
    """Read the catalogue and the figures; retried because an S3 inbox can fail in transit."""
    return gather(open_storage(inbox), quarter, settings().read_limits())
