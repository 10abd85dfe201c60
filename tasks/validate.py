from __future__ import annotations

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NONE

from kvartal.gather import Inputs
from kvartal.model import Problem
from kvartal.review import Frames, frames_of, write_review
from kvartal.storage import open_storage
from kvartal.validation import ValidationResult, validate


@task(name="validate", cache_policy=NONE)
def validate_inputs(inputs: Inputs) -> tuple[Frames, ValidationResult]:
    frames = frames_of(inputs)
    result = validate(
        inputs.quarter, frames.catalogue, frames.figures, frames.waivers, inputs.problems
    )
    return frames, result


@task(name="write-review", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def write_review_files(
    result: ValidationResult,
    inputs: Inputs,
    review_to: str,
    inbox: str | None = None,
    frames: Frames | None = None,
) -> str:
    """The operator's report, and the same problems as Prefect artifacts on the run."""
    rows = None
    if inbox is not None and frames is not None:  # the collection table (CONTRACT §9)
        from kvartal.collection.render import rows_for_review

        rows = rows_for_review(open_storage(inbox), inputs, frames, result, open_storage(review_to))
    location = write_review(open_storage(review_to), inputs.quarter, result, rows)
    key = f"kvartal-{str(inputs.quarter).lower()}-validering"
    create_markdown_artifact(
        key=key,
        markdown=review_markdown(result, inputs, location),
        description=f"Valideringen af {inputs.quarter.label_da}",
    )
    if location.startswith(("http://", "https://")):
        create_link_artifact(
            key=key + "-rapport",
            link=location,
            link_text=f"Valideringsrapporten for {inputs.quarter.label_da}",
        )
    return location


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def review_markdown(result: ValidationResult, inputs: Inputs, location: str) -> str:
    """The problems as a list per file, not a table: Prefect's UI cuts a table's long
    messages off at the width of a laptop screen, and a list wraps whole. A waived error
    reads as waived, not as `fejl`."""
    waived = {p for p, _ in result.waived}
    q = inputs.quarter
    lines = [
        f"# Validering af {q.label_da}",
        "",
        f"{len(result.blocking)} fejl, {_plural(len(result.warnings), 'advarsel', 'advarsler')}, "
        f"{_plural(len(result.waived), 'godkendt afvigelse', 'godkendte afvigelser')}.",
        "",
        f"Valideringsrapporten: {location}",
    ]
    by_file: dict[str, list[Problem]] = {}
    for p in result.problems:
        by_file.setdefault(p.file or "(indbakken)", []).append(p)
    for file, problems in by_file.items():
        lines += ["", f"## {file}", ""]
        for p in problems:
            where = f"{p.sheet}!{p.cell}" if p.sheet and p.cell else (p.cell or "hele filen")
            severity = "godkendt afvigelse" if p in waived else p.severity
            value = f" · værdi `{p.value}`" if p.value not in (None, "") else ""
            message = " ".join(str(p.message).split())
            lines.append(f"- **{where}** · {p.rule} · {severity}{value}: {message}")
    return "\n".join(lines) + "\n"
