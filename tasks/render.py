"""The render stage as a task: no retries, it writes nothing and reads only what is
published (version n−1, the other quarters)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NONE

from kvartal import pipeline

render_report = task(name="render", cache_policy=NONE)(pipeline.render_files)
