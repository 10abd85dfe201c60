from __future__ import annotations

from prefect import task
from prefect.cache_policies import NONE

from kvartal.config import setting
from kvartal.gather import Inputs, gather
from kvartal.quarters import Quarter
from kvartal.readers import Limits
from kvartal.storage import open_storage


@task(name="gather", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def gather_inputs(inbox: str, quarter: Quarter) -> Inputs:
    """Read the catalogue and the figures; retried because an S3 inbox can fail in transit."""
    limits = Limits(max_cells=int(setting("KVARTAL_MAX_CELLS")),
                    max_uncompressed=int(setting("KVARTAL_MAX_UNCOMPRESSED")))
    return gather(open_storage(inbox), quarter, limits)
