"""CONTRACT §5 case rows for what the main table leaves open: parts that carry
`Tæller`/`Nævner`, rows whose `Nævner` is zero, `Tæller`/`Nævner` on a count, and
milestones without `Frist` or with date-and-time cells.

Every expected value was worked by hand; the arithmetic sits beside each row.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from kvartal.fulfilment import evaluate_target, figures_for
from kvartal.model import CellRef, Figure
from tests.test_fulfilment import Q, fig, milestone, mrow, tgt

SHARE = "andel placeret"
# a pooled rate: pct. summed over the window as one Tæller / Nævner (CONTRACT §5)
POOLED = tgt(50, nr="3.4", metric=SHARE, unit="pct.", aggregation="sum")
CELL = CellRef("2009Q3/jobcenter.xlsx", "Tal", 5, "D5", "Tæller")


def part(name: str, **kw: object) -> Figure:
    return fig("2009Q3", nr="3.4", metric=f"{SHARE}/{name}", **kw)  # type: ignore[arg-type]


def whole(**kw: object) -> Figure:
    """The figure a quarter of parts becomes: no source cell, no comment of its own."""
    fields: dict[str, object] = {"initiative": "3.4", "metric": SHARE, "quarter": Q("2009Q3")}
    fields.update(kw)
    return Figure(**fields)  # type: ignore[arg-type]


def test_parts_sharing_one_naevner_add_their_taeller() -> None:
    parts = [
        part("løntilskud", num=0, den=40, forecast=0),
        part("praktik", num=6, den=40, forecast=6),
    ]
    parts[0] = replace(parts[0], comment="ingen i år", source=CELL)
    # Tæller 0 + 6 = 6 over the shared Nævner 40; Værdi = 100*0/40 + 100*6/40 = 0 + 15 = 15;
    # forecasts 0 + 6 = 6; the whole has no cell and no comment of its own
    assert figures_for(POOLED, parts, Q("2009Q3")) == [
        whole(value=15.0, numerator=6.0, denominator=40, forecast=6.0)
    ]
    result = evaluate_target(POOLED, parts, Q("2009Q3"))
    # pooled A = 100 * 6 / 40 = 15; E = T = 50 (a level); f = pace = 15/50 = 0.3;
    # forecast = the centre's 6; 0.3 < 0.9 -> off_track
    assert (result.actual, result.fulfilment, result.pace, result.forecast, result.status) == (
        15,
        pytest.approx(0.3),
        pytest.approx(0.3),
        6,
        "off_track",
    )
    assert result.extra == {"forecast_source": "centre", "pooled": True}


def test_one_part_with_taeller_and_naevner_is_the_whole() -> None:
    parts = [part("løntilskud", num=3, den=40)]
    # 100 * 3 / 40 = 7.5; Tæller/Nævner kept; no forecast given
    assert figures_for(POOLED, parts, Q("2009Q3")) == [
        whole(value=7.5, numerator=3.0, denominator=40)
    ]


def test_parts_with_different_naevner_add_only_their_percentages() -> None:
    parts = [part("løntilskud", num=3, den=40), part("praktik", num=5, den=50, forecast=9)]
    # 7.5 + 10 = 17.5; shares of different groups do not add up: no Tæller/Nævner;
    # one part without a forecast: no forecast
    assert figures_for(POOLED, parts, Q("2009Q3")) == [whole(value=17.5)]


def test_parts_of_a_count_give_no_taeller_and_naevner() -> None:
    target = tgt(50, nr="3.4", metric="placeret")
    parts = [
        fig("2009Q3", 2, nr="3.4", metric="placeret/løntilskud", forecast=4),
        fig("2009Q3", 3, nr="3.4", metric="placeret/praktik", forecast=5),
    ]
    # 2 + 3 = 5; forecasts 4 + 5 = 9; no Tæller/Nævner anywhere
    assert figures_for(target, parts, Q("2009Q3")) == [
        Figure("3.4", "placeret", Q("2009Q3"), value=5.0, forecast=9.0)
    ]


def test_a_pooled_rate_leaves_out_a_row_whose_naevner_is_zero() -> None:
    target = tgt(40, metric="andel", unit="pct.", aggregation="sum")
    figures = [
        fig("2009Q1", 30, metric="andel", num=30, den=100),
        # Nævner 0: no rate to pool; its Værdi makes it a figure all the same
        fig("2009Q2", 50, metric="andel", num=5, den=0),
    ]
    result = evaluate_target(target, figures, Q("2009Q2"))
    # pooled A = 100 * 30 / 100 = 30 (Q2 has no weight); E = T = 40 (a level);
    # f = pace = 30/40 = 0.75; forecast = A = 30; 0.75 < 0.9 -> off_track
    assert (
        result.actual,
        result.expected_to_date,
        result.fulfilment,
        result.pace,
        result.forecast,
        result.status,
    ) == (30, 40, 0.75, 0.75, 30, "off_track")


def test_a_zero_naevner_without_a_vaerdi_is_no_data() -> None:
    target = tgt(40, metric="andel", unit="pct.")
    result = evaluate_target(target, [fig("2009Q2", metric="andel", num=5, den=0)], Q("2009Q2"))
    # 100 * 5 / 0 has no value and there is no Værdi: nothing counts; E = T = 40
    assert (result.status, result.actual, result.expected_to_date) == ("no_data", None, 40)


def test_taeller_and_naevner_on_a_count_are_not_a_percentage() -> None:
    target = tgt(100)  # antal, sum, mindst, window 2009Q1-2009Q4
    result = evaluate_target(target, [fig("2009Q1", 12, num=3, den=4)], Q("2009Q1"))
    # A = the Værdi 12, not 100*3/4 = 75; e = 1; E = 100*1/4 = 25; f = 12/100 = 0.12;
    # pace = 12/25 = 0.48; forecast = 12*4/1 = 48; off_track
    assert (
        result.actual,
        result.expected_to_date,
        result.fulfilment,
        result.pace,
        result.forecast,
        result.status,
    ) == (12, 25, 0.12, 0.48, 48, "off_track")


# --- milestones -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "quarter", "status", "reached", "late"),
    [
        # no Frist: due at the end of the window, 2009-12-31; 2009Q2 ends 2009-06-30
        ([mrow("2009Q2", False)], "2009Q2", "on_track", None, False),
        # 2009Q4 ends on the due day itself: not reached by then is off track
        ([mrow("2009Q4", False)], "2009Q4", "off_track", None, False),
        ([mrow("2009Q4", date(2009, 12, 31))], "2009Q4", "achieved", date(2009, 12, 31), False),
        ([mrow("2009Q4", date(2010, 1, 4))], "2009Q4", "achieved", date(2010, 1, 4), True),
    ],
)
def test_a_milestone_without_frist_is_due_at_the_end_of_its_window(
    rows: list[Figure], quarter: str, status: str, reached: date | None, late: bool
) -> None:
    result = evaluate_target(milestone(None), rows, Q(quarter))
    assert (result.status, result.reached, result.late, result.due) == (
        status,
        reached,
        late,
        None,
    )
    assert (result.initiative, result.unit) == ("1.8", "milepæl")


def test_a_milestone_frist_and_reached_as_date_and_time_count_as_their_day() -> None:
    target = milestone(datetime(2009, 9, 30, 0, 0))  # type: ignore[arg-type]
    result = evaluate_target(target, [mrow("2009Q4", datetime(2009, 10, 2, 9, 15))], Q("2009Q4"))
    # reached 2009-10-02 > due 2009-09-30: achieved, late
    assert (result.status, result.late) == ("achieved", True)
    assert type(result.due) is date and result.due == date(2009, 9, 30)
    assert type(result.reached) is date and result.reached == date(2009, 10, 2)


@pytest.mark.parametrize(
    ("target_approx", "row_approx", "shown"),
    [(False, False, False), (False, True, True), (True, False, True)],
)
def test_a_milestone_is_approximate_when_its_target_or_a_row_is(
    target_approx: bool, row_approx: bool, shown: bool
) -> None:
    target = replace(milestone(), approximate=target_approx)
    row = replace(mrow("2009Q3", True), approximate=row_approx)
    assert evaluate_target(target, [row], Q("2009Q3")).approximate is shown


def test_an_interval_reached_exactly_at_its_minimum_is_achieved() -> None:
    # A = 60 = T_min at 2009Q2, half way: achieved, not merely on track; 60 <= 70: not above
    result = evaluate_target(
        tgt(60, direction="interval", value_max=70, aggregation="seneste"),
        [fig("2009Q2", 60)],
        Q("2009Q2"),
    )
    assert (result.status, result.above_range) == ("achieved", False)


def test_an_interval_without_figures_keeps_its_range_and_its_approximate_target() -> None:
    # no figure yet: no data, but the report still shows "ca. 60–70"
    target = replace(tgt(60, direction="interval", value_max=70), approximate=True)
    result = evaluate_target(target, [], Q("2009Q2"))
    assert (result.status, result.target, result.target_max) == ("no_data", 60, 70)
    assert result.approximate is True


def test_a_pooled_rate_counts_a_row_whose_taeller_is_zero() -> None:
    target = tgt(40, metric="andel", unit="pct.", aggregation="sum")
    figures = [
        fig("2009Q1", 0, metric="andel", num=0, den=60),
        fig("2009Q2", 50, metric="andel", num=20, den=40),
    ]
    result = evaluate_target(target, figures, Q("2009Q2"))
    # pooled A = 100 * (0 + 20) / (60 + 40) = 20; f = pace = 20/40 = 0.5 -> off_track
    assert (result.actual, result.fulfilment, result.status) == (20, 0.5, "off_track")


def test_parts_naming_their_target_by_maal_id_are_summed_into_one_level() -> None:
    target = tgt(40, nr="3.4", metric=SHARE, aggregation="seneste")  # a count, a level
    parts = [part("løntilskud", value=10, target_id="t"), part("praktik", value=5, target_id="t")]
    result = evaluate_target(target, parts, Q("2009Q3"))
    # the quarter's level is 10 + 5 = 15, not its last part; f = 15/40 = 0.375
    assert (result.actual, result.fulfilment) == (15, 0.375)
