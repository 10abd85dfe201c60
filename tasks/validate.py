from __future__ import annotations

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NONE

from kvartal import pipeline
from kvartal.config import settings
from kvartal.gather import Inputs
from kvartal.links import ReviewLinks
from kvartal.pipeline import Checked
from kvartal.storage import open_storage


@task(name="validate", cache_policy=NONE)
def validate_inputs(inputs: Inputs) -> Checked:
    return pipeline.validate_inputs(inputs)


@task(name="write-review", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def write_review_files(
    checked: Checked, review_to: str, links: ReviewLinks, inbox: str | None = None
) -> str:
    """The operator's report, and the same problems as Prefect artifacts on the run."""
    collection = None if inbox is None else (open_storage(inbox), settings().collection())
    location = pipeline.write_review(checked, open_storage(review_to), links, collection)
    quarter = checked.quarter
    key = f"kvartal-{str(quarter).lower()}-validering"
    create_markdown_artifact(
        key=key,
        markdown=pipeline.review_markdown(checked.validation, checked.inputs, location),
        description=f"Valideringen af {quarter.label_da}",
    )
    if location.startswith(("http://", "https://")):
        create_link_artifact(
            key=key + "-rapport",
            link=location,
            link_text=f"Valideringsrapporten for {quarter.label_da}",
        )
    return location
