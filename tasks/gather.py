from __future__ import annotations

from prefect import task
from prefect.cache_policies import NONE

from kvartal.gather import Inputs, gather
from kvartal.quarters import Quarter
from kvartal.storage import open_storage


@task(name="gather", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def gather_inputs(inbox: str, quarter: Quarter) -> Inputs:
    """Read the catalogue and the figures; retried because an S3 inbox can fail in transit."""
    return gather(open_storage(inbox), quarter)
