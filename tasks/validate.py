from __future__ import annotations

from prefect import task
from prefect.artifacts import create_link_artifact, create_table_artifact
from prefect.cache_policies import NONE

from kvartal.gather import Inputs
from kvartal.review import Frames, frames_of, write_review
from kvartal.storage import open_storage
from kvartal.validation import ValidationResult, validate


@task(name="validate", cache_policy=NONE)
def validate_inputs(inputs: Inputs) -> tuple[Frames, ValidationResult]:
    frames = frames_of(inputs)
    result = validate(inputs.quarter, frames.catalogue, frames.figures, frames.waivers,
                      inputs.problems)
    return frames, result


@task(name="write-review", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def write_review_files(result: ValidationResult, inputs: Inputs, review_to: str) -> str:
    """The operator's report, and the same problems as Prefect artifacts on the run."""
    location = write_review(open_storage(review_to), inputs.quarter, result)
    key = f"kvartal-{str(inputs.quarter).lower()}-validering"
    create_table_artifact(
        key=key,
        table=[{"fil": p.file, "ark": p.sheet or "", "celle": p.cell or "", "regel": p.rule,
                "alvor": p.severity, "værdi": p.value or "", "besked": p.message}
               for p in result.problems],
        description=f"Valideringen af {inputs.quarter.label_da}: "
                    f"{len(result.blocking)} fejl, {len(result.warnings)} advarsler",
    )
    create_link_artifact(key=key + "-rapport", link=location,
                         link_text=f"validation.html for {inputs.quarter}")
    return location
