"""CONTRACT §5: how far each target has come, as of one report quarter.

This is the one home of the fulfilment arithmetic. It knows nothing of Prefect, files or
cells: it takes typed `Target`s and `Figure`s and returns `TargetResult`s, un-rounded, so
that rounding happens once, where a number is shown (`TargetResult.to_json`, the report).

Choices the contract leaves open, made here once so every report agrees:

- A figure "counts" for a quarter only when it carries a number: a `Værdi`, or (for
  `pct.`) a `Tæller`/`Nævner` pair with a non-zero `Nævner`. A row whose value validation
  excluded (waived) arrives with no number and is no data; its `Forventet` is still read.
- When one quarter holds several figures for the same target (which validation reports as
  a duplicate unless it was waived), a row that names the target by `Mål-id` wins over rows
  that only share `Nr.`+`Nøgletal`; whole figures win over parts; parts are only summed when
  no whole was reported. Figures that remain tied are all summed for `sum` and pooled for a
  `pct.` rate; for `seneste` the last one given wins.
- A pooled `pct.` rate pools only the quarters that gave `Tæller`/`Nævner`: a quarter that
  reported just a percentage has no weight to pool with.
- `pace` follows §5's list in order: `sum` with `mindst`/`interval` is A / E even when a
  baseline is given; a baseline then gives the progress ratio, (A − B) / (E − B) for
  `mindst` and `interval` (E from T_min), (B − A) / (B − E) for `højst`; anything else is
  fulfilment.
- A milestone without `Frist` is due at the end of its window.
- The arithmetic is done in exact fractions from the decimals the cells show (`exact`), so
  comparisons with thresholds are exact: 1 000 + 500,14 meets 1 500,14, and a pace of
  exactly 0.9 is `at_risk`. Results become floats only when they leave this module.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from fractions import Fraction
from typing import assert_never

from kvartal.model import Figure, Target, TargetResult
from kvartal.quarters import Quarter
from kvartal.typed import Feed, feeds
from kvartal.units import (
    Aggregation,
    Direction,
    Status,
    Unit,
    exact,
    percentage,
    unit_spec,
    usable_denominator,
)

NO_DATA = Status.NO_DATA
ACHIEVED = Status.ACHIEVED
ON_TRACK = Status.ON_TRACK
AT_RISK = Status.AT_RISK
OFF_TRACK = Status.OFF_TRACK
STATUSES = tuple(Status)


def evaluate(
    targets: list[Target],
    figures: list[Figure],
    quarter: Quarter,
    *,
    at_risk: float = 0.9,
) -> list[TargetResult]:
    """Every target whose window contains `quarter`, once each, in catalogue order.

    Targets whose window ended before the quarter or starts after it are left out, as §7
    asks: a report on 2009Q3 says nothing about a target for 2011.
    """
    return [
        evaluate_target(target, figures, quarter, at_risk=at_risk)
        for target in targets
        if target.start <= quarter <= target.end
    ]


def figures_for(target: Target, figures: list[Figure], quarter: Quarter) -> list[Figure]:
    """The figures that feed `target`, from its window's first quarter up to `quarter`.

    A row naming a target by `Mål-id` feeds that target alone; a row without one feeds
    every target of its `Nr.` and `Nøgletal`. Parts (`placeret/løntilskud`) never feed a
    target on their own: where a quarter has no whole figure they are summed into one,
    returned as a new `Figure` for the whole (without a source cell, since it has none).
    Milestone rows are matched by `Mål-id` only, as the contract has them name their target.

    The result is in quarter order, input order within a quarter. Rows without a number are
    kept (they may carry a `Forventet` or, for milestones, `Milepæl nået`).
    """
    in_window = [
        f for f in figures if target.start <= f.quarter <= target.end and f.quarter <= quarter
    ]
    if target.is_milestone:
        return sorted(
            (
                f
                for f in in_window
                if feeds(target, f.target_id, f.initiative, f.metric) is not None
            ),
            key=lambda f: f.quarter,
        )

    out: list[Figure] = []
    for q in sorted({f.quarter for f in in_window}):
        named_wholes: list[Figure] = []
        generic_wholes: list[Figure] = []
        named_parts: list[Figure] = []
        generic_parts: list[Figure] = []
        for f in in_window:
            if f.quarter != q:
                continue
            feed = feeds(target, f.target_id, f.initiative, f.metric)
            if feed is None:
                continue
            if f.target_id is not None:
                (named_parts if feed is Feed.PART else named_wholes).append(f)
            else:
                (generic_parts if feed is Feed.PART else generic_wholes).append(f)

        wholes = [f for f in named_wholes if _has_number(f, target)] or [
            f for f in generic_wholes if _has_number(f, target)
        ]
        blanks = [f for f in named_wholes + generic_wholes if not _has_number(f, target)]
        parts = [f for f in named_parts if _has_number(f, target)] or [
            f for f in generic_parts if _has_number(f, target)
        ]
        if wholes or not parts:
            keep = {id(f) for f in wholes + blanks}
            out.extend(f for f in in_window if id(f) in keep)
        else:
            out.append(_sum_parts(target, parts))
            out.extend(blanks)
    return out


def evaluate_target(
    target: Target,
    figures: list[Figure],
    quarter: Quarter,
    *,
    at_risk: float = 0.9,
) -> TargetResult:
    """§5 for one target as of `quarter`; `at_risk` is the pace below which a target is
    off track rather than at risk."""
    window = target.window
    n = len(window)
    elapsed = min(sum(1 for q in window if q <= quarter), n)
    feeding = figures_for(target, figures, quarter)
    if target.is_milestone:
        return _milestone(target, feeding, quarter, elapsed)
    return _numeric(target, feeding, quarter, elapsed, n, at_risk)


def _start(target: Target, elapsed: int) -> TargetResult:
    """The result before any figure is read: the target's own fields and `no_data`."""
    return TargetResult(
        target_id=target.target_id,
        initiative=target.initiative,
        metric=target.metric,
        unit=target.unit,
        direction=target.direction,
        target=target.value,
        target_max=target.value_max,
        window=(target.start, target.end),
        elapsed=elapsed,
        actual=None,
        expected_to_date=None,
        fulfilment=None,
        pace=None,
        forecast=None,
        status=NO_DATA,
        approximate=target.approximate,
    )


# --- numeric targets -------------------------------------------------------------------


def _numeric(
    target: Target,
    feeding: list[Figure],
    quarter: Quarter,
    e: int,
    n: int,
    at_risk: float,
) -> TargetResult:
    t = exact(target.value)
    b = exact(target.baseline)
    direction = target.direction
    pooled = target.pooled
    # A pooled rate is a level, not a count that accumulates over the window.
    level = target.aggregation == Aggregation.LATEST or pooled

    expected = _expected(t, b, e, n, level)
    numbered = [f for f in feeding if _has_number(f, target)]

    result = _start(target, e)
    result.expected_to_date = _float(expected)
    if not numbered:
        return result

    actual, used = _actual(target, numbered, pooled)

    fulfilment = _fulfilment(direction, actual, t, b)
    pace = _pace(direction, actual, expected, b, fulfilment, level)

    with_forecast = [f for f in feeding if f.forecast is not None]
    forecast: Fraction | None
    if with_forecast:
        source = with_forecast[-1]  # `feeding` is in quarter order
        forecast = exact(source.forecast)
        used.append(source)
        forecast_source = "centre"
    elif not level:
        forecast = _div(actual * n, Fraction(e))
        forecast_source = "projected"
    else:
        forecast = actual
        forecast_source = "actual"

    achieved, above = _achieved(target, actual, quarter)
    result.actual = _float(actual)
    result.fulfilment = _float(fulfilment)
    result.pace = _float(pace)
    result.forecast = _float(forecast)
    result.above_range = above
    result.approximate = target.approximate or any(f.approximate for f in used)
    result.status = ACHIEVED if achieved else _status_from_pace(pace, exact(at_risk))
    result.extra = {"forecast_source": forecast_source, "pooled": pooled}
    return result


def _expected(
    t: Fraction | None, b: Fraction | None, e: int, n: int, level: bool
) -> Fraction | None:
    if t is None or n == 0:
        return None
    if not level:
        return t * e / n
    if b is not None:
        return b + (t - b) * e / n
    return t


def _actual(target: Target, numbered: list[Figure], pooled: bool) -> tuple[Fraction, list[Figure]]:
    """A and the figures it was made from (their `approximate` flags travel to the result)."""
    if pooled:
        pairs = [f for f in numbered if _has_ratio(f)]
        if pairs:
            num = sum((exact(f.numerator) or Fraction(0) for f in pairs), Fraction(0))
            den = sum((exact(f.denominator) or Fraction(0) for f in pairs), Fraction(0))
            return 100 * num / den, list(pairs)
    if pooled or target.aggregation == Aggregation.LATEST:
        latest = numbered[-1]  # the last figure of the latest quarter: quarter order
        return _value(latest, target), [latest]
    return sum((_value(f, target) for f in numbered), Fraction(0)), list(numbered)


def _fulfilment(
    direction: Direction | None, a: Fraction, t: Fraction | None, b: Fraction | None
) -> Fraction | None:
    if t is None:
        return None
    match direction:
        case Direction.AT_LEAST | Direction.RANGE:  # T_min for interval
            return _div(a - b, t - b) if b is not None else _div(a, t)
        case Direction.AT_MOST:
            if b is not None:
                return _div(b - a, b - t)
            return Fraction(1) if a == 0 else t / a
        case None:
            return None
        case _:
            assert_never(direction)


def _pace(
    direction: Direction | None,
    a: Fraction,
    expected: Fraction | None,
    b: Fraction | None,
    fulfilment: Fraction | None,
    level: bool,
) -> Fraction | None:
    if expected is None:
        return fulfilment if b is None else None
    match direction:
        case Direction.AT_LEAST | Direction.RANGE:  # E from T_min for interval
            if not level:
                return _div(a, expected)
            if b is not None:
                return _div(a - b, expected - b)
        case Direction.AT_MOST:
            if b is not None:
                return _div(b - a, b - expected)
        case None:
            pass
        case _:
            assert_never(direction)
    return fulfilment


def _achieved(target: Target, a: Fraction, quarter: Quarter) -> tuple[bool, bool]:
    """Whether the target is met now, and whether an interval's value lies above its range.

    A `højst` count that adds up over the window can only grow, so staying below the ceiling
    part-way says nothing yet: it is judged once the window has ended. A level
    (`seneste`, and a pooled rate, which is a level too) is judged at any time.
    """
    t = exact(target.value)
    if t is None:
        return False, False
    direction = target.direction
    match direction:
        case Direction.AT_LEAST:
            return a >= t, False
        case Direction.RANGE:
            t_max = exact(target.value_max)
            return a >= t, t_max is not None and a > t_max
        case Direction.AT_MOST:
            level = target.aggregation == Aggregation.LATEST or target.pooled
            judged = level or quarter >= target.end
            return judged and a <= t, False
        case None:
            return False, False
        case _:
            assert_never(direction)


def _status_from_pace(pace: Fraction | None, at_risk: Fraction | None) -> Status:
    """The status of a target that is not yet met, from its pace.

    A pace that cannot be computed (a zero or missing expectation, e.g. a target value equal
    to its baseline) gives `off_track`: nothing shows the target is moving as it should, and
    a status that asks someone to look is safer than one that reassures without evidence.
    """
    if pace is None:
        return OFF_TRACK
    if pace >= 1:
        return ON_TRACK
    if at_risk is not None and pace >= at_risk:
        return AT_RISK
    return OFF_TRACK


# --- milestones ------------------------------------------------------------------------


def _milestone(target: Target, rows: list[Figure], quarter: Quarter, e: int) -> TargetResult:
    due = _as_date(target.due) if target.due is not None else target.end.last_day
    result = _start(target, e)
    result.approximate = target.approximate or any(f.approximate for f in rows)
    result.due = _as_date(target.due) if target.due is not None else None
    if not rows:
        return result
    reached = _reached(rows)
    result.reached = reached
    if reached is not None:
        result.status = ACHIEVED
        result.late = isinstance(reached, date) and reached > due
    elif due > quarter.last_day:
        result.status = ON_TRACK
    else:
        result.status = OFF_TRACK
    return result


def _reached(rows: list[Figure]) -> date | bool | None:
    """When the milestone was reached: the earliest date any row gives, else True when a row
    says `ja` without a date, else None. A later `nej` does not undo an earlier date: a
    milestone once reached stays reached."""
    dates = [_as_date(f.reached) for f in rows if isinstance(f.reached, date)]
    if dates:
        return min(dates)
    if any(f.reached is True for f in rows):
        return True
    return None


# --- helpers ---------------------------------------------------------------------------


def _float(x: Fraction | None) -> float | None:
    return None if x is None else float(x)


def _has_ratio(f: Figure) -> bool:
    return f.numerator is not None and usable_denominator(f.denominator)


def _number(f: Figure, target: Target) -> Fraction | None:
    """The figure's value; for a percentage, 100 × Tæller / Nævner wins over `Værdi`
    because it is the exact count the rounded percentage was made from."""
    if unit_spec(Unit(target.unit)).ratio:
        rate = percentage(f.numerator, f.denominator)
        if rate is not None:
            return rate
    return exact(f.value)


def _value(f: Figure, target: Target) -> Fraction:
    """`_number` for a figure already known to carry one."""
    number = _number(f, target)
    if number is None:
        raise ValueError(f"figure for {f.initiative} {f.metric} {f.quarter} has no number")
    return number


def _has_number(f: Figure, target: Target) -> bool:
    return _number(f, target) is not None


def _sum_parts(target: Target, parts: list[Figure]) -> Figure:
    """One whole figure for a quarter that reported only parts.

    Tæller/Nævner survive only when every part shares one Nævner (shares of the same group
    add up); a forecast only when every part gives one.
    """
    values = [_value(f, target) for f in parts]
    denominators = {f.denominator for f in parts}
    numerator: float | None = None
    denominator: float | None = None
    if all(_has_ratio(f) for f in parts) and len(denominators) == 1:
        numerator = float(sum((exact(f.numerator) or Fraction(0) for f in parts), Fraction(0)))
        denominator = parts[0].denominator
    forecasts = [f.forecast for f in parts]
    forecast = (
        float(sum((exact(x) or Fraction(0) for x in forecasts), Fraction(0)))
        if all(x is not None for x in forecasts)
        else None
    )
    first = parts[0]
    return replace(
        first,
        metric=target.metric,
        value=float(sum(values, Fraction(0))),
        numerator=numerator,
        denominator=denominator,
        forecast=forecast,
        comment=None,
        approximate=any(f.approximate for f in parts),
        source=None,
    )


def _div(a: Fraction, b: Fraction) -> Fraction | None:
    return None if b == 0 else a / b


def _as_date(d: date | datetime) -> date:
    return d.date() if isinstance(d, datetime) else d
