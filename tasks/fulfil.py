from __future__ import annotations

from dataclasses import dataclass

from prefect import task
from prefect.cache_policies import NONE

from kvartal.accounting import Accounting, check_accounting
from kvartal.fulfilment import evaluate
from kvartal.model import Figure, Target, TargetResult
from kvartal.quarters import Quarter
from kvartal.records import parse_figures, parse_targets
from kvartal.review import Frames
from kvartal.validation import ValidationResult


@dataclass
class Fulfilment:
    targets: list[Target]
    figures: list[Figure]
    results: list[TargetResult]
    previous: dict[str, TargetResult]


@task(name="fulfil", cache_policy=NONE)
def calculate_fulfilment(
    frames: Frames, quarter: Quarter, excluded: set[tuple[str, str]], at_risk: float
) -> Fulfilment:
    """Fulfilment for the quarter, and for the one before it (the report's ↑ ↓ →)."""
    targets = parse_targets(frames.catalogue, excluded)
    figures = parse_figures([f for fs in frames.figures.values() for f in fs], excluded)
    results = evaluate(targets, figures, quarter, at_risk=at_risk)
    previous = {r.target_id: r for r in evaluate(targets, figures, quarter - 1, at_risk=at_risk)}
    return Fulfilment(targets, figures, results, previous)


@task(name="account-rows", cache_policy=NONE)
def account_rows(
    frames: Frames, fulfilment: Fulfilment, validation: ValidationResult
) -> Accounting:
    """Every row read feeds a target or is named by a problem, or the run fails here."""
    return check_accounting(
        frames.catalogue,
        frames.figures,
        fulfilment.targets,
        fulfilment.figures,
        validation.problems,
    )
