"""CONTRACT §5, case by case.

Every expected value below was worked out by hand; the arithmetic sits beside each case.
Never fill in an expectation by running the code: a table copied from the implementation
tests nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from kvartal.fulfilment import evaluate, evaluate_target, figures_for
from kvartal.model import Figure, Target, TargetResult
from kvartal.quarters import Quarter

Q = Quarter.parse


def tgt(
    value: float | None = 100,
    *,
    id: str = "t",
    nr: str = "1.1",
    metric: str | None = "deltagere",
    unit: str = "antal",
    direction: str | None = "mindst",
    value_max: float | None = None,
    aggregation: str | None = None,
    baseline: float | None = None,
    start: str = "2009Q1",
    end: str = "2009Q4",
    due: date | None = None,
    approximate: bool = False,
) -> Target:
    """A catalogue row with defaults; `aggregation` defaults from the unit as §2 says."""
    if aggregation is None:
        aggregation = "seneste" if unit == "pct." else "sum"
    return Target(
        target_id=id,
        agreement="Beskæftigelsesaftale 2009",
        theme=None,
        initiative=nr,
        title="Indsats",
        kind="Indsatsmål",
        description="Mål",
        metric=metric,
        unit=unit,
        direction=direction,
        value=value,
        value_max=value_max,
        aggregation=aggregation,
        baseline=baseline,
        start=Q(start),
        end=Q(end),
        due=due,
        responsible=None,
        approximate=approximate,
    )


def milestone(
    due: date | None = date(2009, 12, 31),
    *,
    id: str = "m",
    start: str = "2009Q1",
    end: str = "2009Q4",
) -> Target:
    return tgt(
        None,
        id=id,
        nr="1.8",
        metric=None,
        unit="milepæl",
        direction=None,
        aggregation="sum",
        start=start,
        end=end,
        due=due,
    )


def fig(
    quarter: str,
    value: float | None = None,
    *,
    nr: str = "1.1",
    metric: str | None = "deltagere",
    num: float | None = None,
    den: float | None = None,
    forecast: float | None = None,
    target_id: str | None = None,
    reached: date | bool | None = None,
    approximate: bool = False,
) -> Figure:
    return Figure(
        initiative=nr,
        metric=metric,
        quarter=Q(quarter),
        value=value,
        numerator=num,
        denominator=den,
        forecast=forecast,
        target_id=target_id,
        reached=reached,
        approximate=approximate,
    )


def mrow(quarter: str, reached: date | bool | None = None, *, target_id: str = "m") -> Figure:
    return fig(quarter, nr="1.8", metric=None, target_id=target_id, reached=reached)


def quarterly(values: list[float], start: str = "2009Q1", **kw: Any) -> list[Figure]:
    """Consecutive quarters' figures from `start`."""
    first = Q(start)
    return [fig(str(first + i), v, **kw) for i, v in enumerate(values)]


def exp(
    status: str,
    elapsed: int,
    actual: float | None = None,
    expected: float | None = None,
    fulfilment: float | None = None,
    pace: float | None = None,
    forecast: float | None = None,
    **flags: Any,
) -> dict[str, Any]:
    out = {
        "status": status,
        "elapsed": elapsed,
        "actual": actual,
        "expected_to_date": expected,
        "fulfilment": fulfilment,
        "pace": pace,
        "forecast": forecast,
        "above_range": False,
        "approximate": False,
        "late": False,
        "reached": None,
    }
    out.update(flags)
    return out


@dataclass
class Case:
    id: str
    target: Target
    figures: list[Figure]
    quarter: str
    expected: dict[str, Any]
    at_risk: float = 0.9
    extra: dict[str, Any] = field(default_factory=dict)


# B = 5000 young unemployed, T = 4500 (reduce by 10 pct.), levels, window 2014Q1-2015Q4, n = 8.
YOUTH = tgt(
    4500,
    id="u",
    metric="ledige unge",
    direction="højst",
    aggregation="seneste",
    baseline=5000,
    start="2014Q1",
    end="2015Q4",
)
YOUTH_FIGURES = quarterly(
    [4980, 4890, 4850, 4800, 4650, 4480], start="2014Q1", metric="ledige unge"
)
# 95 pct. of the young get an education: mindst with a baseline, B = 80, T = 95, n = 8.
EDUCATION = tgt(
    95, id="e", metric="andel i uddannelse", unit="pct.", baseline=80, start="2014Q1", end="2015Q4"
)

CASES = [
    # --- the contract's worked examples from seed 000 (window 2009Q1-2009Q4, n = 4) ---
    Case(
        "seed000-1.5-sum-on-track",
        tgt(150, nr="1.5", metric="henviste"),
        quarterly([50, 52, 45], nr="1.5", metric="henviste"),
        "2009Q3",
        # e = 3; A = 50+52+45 = 147; E = 150*3/4 = 112.5; f = 147/150 = 0.98;
        # pace = 147/112.5 = 1.30667; forecast = 147*4/3 = 196; pace >= 1 -> on_track
        exp("on_track", 3, 147, 112.5, 0.98, 147 / 112.5, 196),
    ),
    Case(
        "seed000-1.4-sum-off-track",
        tgt(500, nr="1.4"),
        quarterly([20, 30, 21], nr="1.4"),
        "2009Q3",
        # A = 20+30+21 = 71; E = 500*3/4 = 375; f = 71/500 = 0.142; pace = 71/375 = 0.18933;
        # forecast = 71*4/3 = 94.6667; 0.189 < 0.9 -> off_track
        exp("off_track", 3, 71, 375, 0.142, 71 / 375, 284 / 3),
    ),
    Case(
        "seed000-1.1-pct-seneste-at-risk",
        tgt(90, metric="aktiveret inden 6 mdr.", unit="pct."),
        quarterly([80, 84, 86], metric="aktiveret inden 6 mdr."),
        "2009Q3",
        # seneste: A = latest = 86; E = T = 90; f = 86/90 = 0.95556 = pace; forecast = A = 86;
        # 0.9 <= 0.956 < 1 -> at_risk
        exp("at_risk", 3, 86, 90, 86 / 90, 86 / 90, 86),
    ),
    Case(
        "seed000-3.1-interval-above-range",
        tgt(60, nr="3.1", metric="fritidsjob", direction="interval", value_max=70),
        [
            fig("2009Q2", 40, nr="3.1", metric="fritidsjob"),
            fig("2009Q3", 35, nr="3.1", metric="fritidsjob"),
        ],
        "2009Q3",
        # A = 40+35 = 75; E = 60*3/4 = 45; f = 75/60 = 1.25; pace = 75/45 = 1.6667;
        # forecast = 75*4/3 = 100; 75 >= 60 -> achieved; 75 > 70 -> above_range
        exp("achieved", 3, 75, 45, 1.25, 75 / 45, 100, above_range=True),
    ),
    # --- interval ---
    Case(
        "interval-within-range",
        tgt(60, direction="interval", value_max=70),
        [fig("2009Q2", 30), fig("2009Q3", 20), fig("2009Q4", 15)],
        "2009Q4",
        # A = 65; e = 4; E = 60; f = 65/60 = 1.08333 = pace; forecast = 65*4/4 = 65; achieved
        exp("achieved", 4, 65, 60, 65 / 60, 65 / 60, 65),
    ),
    Case(
        "interval-at-its-maximum-is-not-above",
        tgt(60, direction="interval", value_max=70),
        [fig("2009Q4", 70)],
        "2009Q4",
        # A = 70; E = 60; f = pace = 70/60 = 1.16667; forecast = 70; 70 is not > 70
        exp("achieved", 4, 70, 60, 70 / 60, 70 / 60, 70),
    ),
    Case(
        "interval-below-range-on-track",
        tgt(60, direction="interval", value_max=70),
        quarterly([20, 12]),
        "2009Q2",
        # A = 32; e = 2; E = 60*2/4 = 30; f = 32/60 = 0.53333 (of T_min);
        # pace = 32/30 = 1.06667; forecast = 32*4/2 = 64; on_track
        exp("on_track", 2, 32, 30, 32 / 60, 32 / 30, 64),
    ),
    Case(
        "interval-zero-minimum",
        tgt(0, direction="interval", value_max=10),
        quarterly([1, 3]),
        "2009Q2",
        # A = 4; E = 0*2/4 = 0; f = 4/0 -> None; pace = 4/0 -> None; forecast = 4*4/2 = 8;
        # 4 >= 0 -> achieved (status 2 comes before pace)
        exp("achieved", 2, 4, 0, None, None, 8),
    ),
    # --- seneste counts ---
    Case(
        "seneste-count-achieved",
        tgt(30, nr="1.6", metric="integrationsstillinger", aggregation="seneste"),
        quarterly([10, 20, 31], nr="1.6", metric="integrationsstillinger"),
        "2009Q3",
        # A = latest = 31 (not 61); E = 30; f = pace = 31/30 = 1.03333; forecast = 31
        exp("achieved", 3, 31, 30, 31 / 30, 31 / 30, 31),
    ),
    Case(
        "seneste-latest-by-quarter-not-input-order",
        tgt(30, aggregation="seneste"),
        [fig("2009Q3", 25), fig("2009Q1", 10)],
        "2009Q3",
        # latest quarter is Q3 -> A = 25; E = 30; f = pace = 25/30 = 0.83333; off_track
        exp("off_track", 3, 25, 30, 25 / 30, 25 / 30, 25),
    ),
    Case(
        "seneste-latest-quarter-having-a-figure",
        tgt(20, aggregation="seneste"),
        [fig("2009Q1", 12), fig("2009Q2", 18), fig("2009Q3", None)],
        "2009Q3",
        # Q3 has no value -> A = Q2's 18; E = 20; f = pace = 18/20 = 0.9; 0.9 >= 0.9 -> at_risk
        exp("at_risk", 3, 18, 20, 0.9, 0.9, 18),
    ),
    # --- højst without a baseline ---
    Case(
        "hojst-seneste-achieved",
        tgt(100, direction="højst", aggregation="seneste"),
        [fig("2009Q2", 120), fig("2009Q3", 95)],
        "2009Q3",
        # A = 95; E = 100; f = T/A = 100/95 = 1.05263 = pace; 95 <= 100, a level -> achieved
        exp("achieved", 3, 95, 100, 100 / 95, 100 / 95, 95),
    ),
    Case(
        "hojst-seneste-over-ceiling-at-risk",
        tgt(100, direction="højst", aggregation="seneste"),
        [fig("2009Q3", 110)],
        "2009Q3",
        # f = pace = 100/110 = 0.90909 -> at_risk
        exp("at_risk", 3, 110, 100, 100 / 110, 100 / 110, 110),
    ),
    Case(
        "hojst-seneste-off-track",
        tgt(100, direction="højst", aggregation="seneste"),
        [fig("2009Q3", 125)],
        "2009Q3",
        # f = pace = 100/125 = 0.8 -> off_track
        exp("off_track", 3, 125, 100, 0.8, 0.8, 125),
    ),
    Case(
        "hojst-sum-not-judged-before-window-ends",
        tgt(40, direction="højst"),
        quarterly([5, 10, 5]),
        "2009Q3",
        # A = 20 <= 40 but a sum is judged only at window end; E = 40*3/4 = 30;
        # f = T/A = 40/20 = 2 = pace; forecast = 20*4/3 = 26.6667 -> on_track
        exp("on_track", 3, 20, 30, 2, 2, 80 / 3),
    ),
    Case(
        "hojst-sum-achieved-once-window-ended",
        tgt(40, direction="højst"),
        quarterly([5, 10, 5, 10]),
        "2009Q4",
        # A = 30; e = 4; E = 40; f = pace = 40/30 = 1.33333; forecast = 30*4/4 = 30; achieved
        exp("achieved", 4, 30, 40, 40 / 30, 40 / 30, 30),
    ),
    Case(
        "hojst-sum-exceeded-at-window-end",
        tgt(40, direction="højst"),
        quarterly([10, 15, 10, 10]),
        "2009Q4",
        # A = 45 > 40; f = pace = 40/45 = 0.88889 < 0.9 -> off_track; forecast = 45
        exp("off_track", 4, 45, 40, 40 / 45, 40 / 45, 45),
    ),
    Case(
        "hojst-zero-actual-is-one",
        tgt(10, direction="højst"),
        quarterly([0, 0]),
        "2009Q2",
        # A = 0 -> f = 1 (not T/0); pace = f = 1; E = 10*2/4 = 5; forecast = 0*4/2 = 0;
        # a sum mid-window is not judged -> on_track
        exp("on_track", 2, 0, 5, 1, 1, 0),
    ),
    # --- baselines (seed 001: reduce youth unemployment by 10 pct.; B = 5000, T = 4500) ---
    Case(
        "baseline-hojst-off-track",
        YOUTH,
        YOUTH_FIGURES,
        "2014Q4",
        # e = 4; E = 5000 + (4500-5000)*4/8 = 4750; A = 4800 (2014Q4);
        # f = (5000-4800)/(5000-4500) = 200/500 = 0.4; pace = (5000-4800)/(5000-4750)
        # = 200/250 = 0.8 -> off_track; forecast = 4800
        exp("off_track", 4, 4800, 4750, 0.4, 0.8, 4800),
    ),
    Case(
        "baseline-hojst-on-track",
        YOUTH,
        YOUTH_FIGURES,
        "2015Q1",
        # e = 5; E = 5000 - 500*5/8 = 4687.5; A = 4650; f = 350/500 = 0.7;
        # pace = 350/312.5 = 1.12 -> on_track
        exp("on_track", 5, 4650, 4687.5, 0.7, 1.12, 4650),
    ),
    Case(
        "baseline-hojst-off-track-at-default-threshold",
        YOUTH,
        YOUTH_FIGURES,
        "2014Q2",
        # e = 2; E = 5000 - 500*2/8 = 4875; A = 4890; f = 110/500 = 0.22;
        # pace = 110/125 = 0.88 < 0.9 -> off_track
        exp("off_track", 2, 4890, 4875, 0.22, 0.88, 4890),
    ),
    Case(
        "baseline-hojst-at-risk-with-lower-threshold",
        YOUTH,
        YOUTH_FIGURES,
        "2014Q2",
        # the same numbers; pace 0.88 >= 0.85 -> at_risk
        exp("at_risk", 2, 4890, 4875, 0.22, 0.88, 4890),
        at_risk=0.85,
    ),
    Case(
        "baseline-hojst-achieved-early",
        YOUTH,
        YOUTH_FIGURES,
        "2015Q2",
        # e = 6; E = 5000 - 500*6/8 = 4625; A = 4480 <= 4500, a level -> achieved;
        # f = 520/500 = 1.04; pace = 520/375 = 1.38667
        exp("achieved", 6, 4480, 4625, 1.04, 520 / 375, 4480),
    ),
    Case(
        "baseline-mindst-on-track",
        EDUCATION,
        quarterly([82, 84], start="2014Q1", metric="andel i uddannelse"),
        "2014Q2",
        # e = 2; E = 80 + (95-80)*2/8 = 83.75; A = 84; f = (84-80)/(95-80) = 4/15 = 0.26667;
        # pace = (84-80)/(83.75-80) = 4/3.75 = 1.06667 -> on_track
        exp("on_track", 2, 84, 83.75, 4 / 15, 4 / 3.75, 84),
    ),
    Case(
        "baseline-mindst-off-track",
        EDUCATION,
        quarterly([82, 84, 83, 83], start="2014Q1", metric="andel i uddannelse"),
        "2014Q4",
        # e = 4; E = 80 + 15*4/8 = 87.5; A = 83; f = 3/15 = 0.2; pace = 3/7.5 = 0.4
        exp("off_track", 4, 83, 87.5, 0.2, 0.4, 83),
    ),
    Case(
        "baseline-with-sum-pace-is-a-over-e",
        tgt(300, baseline=100),
        quarterly([80, 90]),
        "2009Q2",
        # sum: E = 300*2/4 = 150 (the baseline does not move E); A = 170;
        # f = (170-100)/(300-100) = 0.35; pace = A/E = 170/150 = 1.13333 (sum with mindst
        # comes first in §5's list); forecast = 170*4/2 = 340 -> on_track
        exp("on_track", 2, 170, 150, 0.35, 170 / 150, 340),
    ),
    # --- interval with a baseline (CONTRACT §5): progress from B towards T_min ---
    Case(
        "baseline-interval-on-track",
        tgt(100, direction="interval", value_max=120, aggregation="seneste", baseline=40),
        [fig("2009Q1", 55), fig("2009Q2", 72)],
        "2009Q2",
        # e = 2, n = 4; E = 40 + (100-40)*2/4 = 70; A = 72 (seneste);
        # f = (72-40)/(100-40) = 32/60 = 0.53333; pace = (72-40)/(70-40) = 32/30 = 1.06667
        # (not A/T_min = 0.72); forecast = A = 72; 72 < 100 -> on_track
        exp("on_track", 2, 72, 70, 32 / 60, 32 / 30, 72),
    ),
    Case(
        "baseline-interval-achieved-above-range",
        tgt(100, direction="interval", value_max=120, aggregation="seneste", baseline=40),
        [fig("2009Q3", 130)],
        "2009Q3",
        # E = 40 + 60*3/4 = 85; f = 90/60 = 1.5; pace = 90/45 = 2; 130 >= 100 -> achieved,
        # 130 > 120 -> above the range
        exp("achieved", 3, 130, 85, 1.5, 2, 130, above_range=True),
    ),
    # --- exact threshold comparisons (CONTRACT §5) ---
    Case(
        "exact-sum-meets-decimal-target",
        tgt(1500.14, unit="kr."),
        [fig("2009Q1", 1000), fig("2009Q2", 500.14)],
        "2009Q2",
        # A = 1000 + 500,14 = 1500,14 exactly (in floats 1500.1399999999999) >= T -> achieved;
        # E = 1500.14*2/4 = 750.07; f = 1; pace = 2; forecast = 1500.14*4/2 = 3000.28
        exp("achieved", 2, 1500.14, 750.07, 1, 2, 3000.28),
    ),
    Case(
        "exact-sum-a-millionth-short-is-not-achieved",
        tgt(1500.14, unit="kr."),
        [fig("2009Q1", 1000), fig("2009Q2", 500.139999)],
        "2009Q4",
        # A = 1500.139999 < 1500.14 -> not achieved (a relative tolerance of 1e-9 would say
        # it is); e = 4, E = T; pace = f = 1500.139999/1500.14 = 0.99999933 -> at_risk
        exp(
            "at_risk",
            4,
            1500.139999,
            1500.14,
            1500.139999 / 1500.14,
            1500.139999 / 1500.14,
            1500.139999,
        ),
    ),
    Case(
        "exact-pace-0.9-is-at-risk",
        tgt(10, end="2009Q3"),
        [fig("2009Q1", 3)],
        "2009Q1",
        # n = 3, e = 1: E = 10/3; pace = 3/(10/3) = 9/10 exactly (0.8999999999999999 in
        # floats) >= 0.9 -> at_risk; f = 0.3; forecast = 3*3/1 = 9
        exp("at_risk", 1, 3, 10 / 3, 0.3, 0.9, 9),
    ),
    Case(
        "exact-pace-a-hair-below-0.9-is-off-track",
        tgt(1_000_000_000, end="2009Q1"),
        [fig("2009Q1", 899_999_999.9)],
        "2009Q1",
        # n = e = 1: E = T; pace = 899999999.9/1e9 = 0.8999999999 < 0.9 -> off_track
        exp(
            "off_track", 1, 899_999_999.9, 1_000_000_000, 0.8999999999, 0.8999999999, 899_999_999.9
        ),
    ),
    # --- multi-year window: 850 training agreements 2013-2015 (seed 001), n = 12 ---
    Case(
        "850-agreements-multi-year",
        tgt(850, nr="2.1", metric="uddannelsesaftaler", start="2013Q1", end="2015Q4"),
        [
            fig("2012Q4", 100, nr="2.1", metric="uddannelsesaftaler"),  # before the window
            *quarterly(
                [60, 70, 80, 90, 70, 80], start="2013Q1", nr="2.1", metric="uddannelsesaftaler"
            ),
            fig("2014Q3", 100, nr="2.1", metric="uddannelsesaftaler"),
        ],  # after R
        "2014Q2",
        # e = 6 (2013Q1..2014Q2); A = 60+70+80+90+70+80 = 450; E = 850*6/12 = 425;
        # f = 450/850 = 0.52941; pace = 450/425 = 1.05882; forecast = 450*12/6 = 900
        exp("on_track", 6, 450, 425, 450 / 850, 450 / 425, 900),
    ),
    Case(
        "850-agreements-elapsed-capped-after-window",
        tgt(850, nr="2.1", metric="uddannelsesaftaler", start="2013Q1", end="2015Q4"),
        [
            fig("2013Q4", 300, nr="2.1", metric="uddannelsesaftaler"),
            fig("2014Q4", 334, nr="2.1", metric="uddannelsesaftaler"),
            fig("2015Q4", 200, nr="2.1", metric="uddannelsesaftaler"),
            fig("2016Q1", 50, nr="2.1", metric="uddannelsesaftaler"),
        ],  # after the window
        "2016Q1",
        # e = 12 (capped at n); A = 300+334+200 = 834; E = 850; f = pace = 834/850 = 0.98118;
        # forecast = 834*12/12 = 834 -> at_risk
        exp("at_risk", 12, 834, 850, 834 / 850, 834 / 850, 834),
    ),
    Case(
        "elapsed-capped-one-year-window",
        tgt(150),
        quarterly([40, 40, 40, 40]),
        "2010Q2",
        # e = 4, not 6; A = 160; E = 150; f = pace = 160/150 = 1.06667; forecast = 160
        exp("achieved", 4, 160, 150, 160 / 150, 160 / 150, 160),
    ),
    # --- percentages ---
    Case(
        "pct-pooled-rate",
        tgt(50, metric="raskmeldt", unit="pct.", aggregation="sum"),
        [
            fig("2009Q1", num=10, den=25, metric="raskmeldt"),
            fig("2009Q2", num=20, den=30, metric="raskmeldt"),
            fig("2009Q3", num=16, den=45, metric="raskmeldt"),
        ],
        "2009Q3",
        # A = 100*(10+20+16)/(25+30+45) = 100*46/100 = 46; treated as seneste: E = T = 50;
        # f = pace = 46/50 = 0.92 -> at_risk; forecast = A = 46
        exp("at_risk", 3, 46, 50, 0.92, 0.92, 46),
    ),
    Case(
        "pct-pooled-falls-back-to-latest-value",
        tgt(50, metric="raskmeldt", unit="pct.", aggregation="sum"),
        [fig("2009Q1", 40, metric="raskmeldt"), fig("2009Q2", 55, metric="raskmeldt")],
        "2009Q2",
        # no Tæller/Nævner at all: A = latest = 55; E = 50; f = pace = 1.1; achieved
        exp("achieved", 2, 55, 50, 1.1, 1.1, 55),
    ),
    Case(
        "pct-pooled-skips-quarter-without-counts",
        tgt(50, metric="raskmeldt", unit="pct.", aggregation="sum"),
        [
            fig("2009Q1", num=30, den=60, metric="raskmeldt"),
            fig("2009Q2", 90, metric="raskmeldt"),
            fig("2009Q3", num=20, den=40, metric="raskmeldt"),
        ],
        "2009Q3",
        # pool Q1 and Q3 only: A = 100*(30+20)/(60+40) = 50; f = pace = 1.0; achieved
        exp("achieved", 3, 50, 50, 1, 1, 50),
    ),
    Case(
        "pct-pooled-hojst-is-judged-every-quarter",
        tgt(20, metric="frafald", unit="pct.", direction="højst", aggregation="sum"),
        [
            fig("2009Q1", num=3, den=20, metric="frafald"),
            fig("2009Q2", num=5, den=30, metric="frafald"),
        ],
        "2009Q2",
        # a rate is a level (CONTRACT §5): A = 100*(3+5)/(20+30) = 16; E = T = 20;
        # f = pace = T/A = 20/16 = 1.25; 16 <= 20 -> achieved already in Q2, not only once
        # the window has ended; forecast = A = 16
        exp("achieved", 2, 16, 20, 1.25, 1.25, 16),
    ),
    Case(
        "pct-counts-preferred-over-value",
        tgt(90, metric="aktiveret", unit="pct."),
        [fig("2009Q3", 86, num=431, den=500, metric="aktiveret")],
        "2009Q3",
        # A = 100*431/500 = 86.2 (not 86); f = pace = 86.2/90 = 0.95778 -> at_risk
        exp("at_risk", 3, 86.2, 90, 86.2 / 90, 86.2 / 90, 86.2),
    ),
    Case(
        "pct-zero-denominator-is-no-data",
        tgt(90, metric="aktiveret", unit="pct."),
        [fig("2009Q3", num=0, den=0, metric="aktiveret")],
        "2009Q3",
        # 100*0/0 is no number and there is no Værdi -> no_data; E = T = 90
        exp("no_data", 3, None, 90),
    ),
    # --- Forventet ---
    Case(
        "forventet-from-centre",
        tgt(400, nr="1.3", metric="forløb"),
        [
            fig("2009Q1", 50, nr="1.3", metric="forløb"),
            fig("2009Q2", 70, nr="1.3", metric="forløb", forecast=350),
            fig("2009Q3", 91, nr="1.3", metric="forløb", forecast=311),
        ],
        "2009Q3",
        # A = 211; E = 400*3/4 = 300; f = 211/400 = 0.5275; pace = 211/300 = 0.70333;
        # forecast = Q3's Forventet 311 (not 211*4/3, not Q2's 350) -> off_track
        exp("off_track", 3, 211, 300, 0.5275, 211 / 300, 311),
    ),
    Case(
        "forventet-latest-quarter-that-has-one",
        tgt(400),
        [fig("2009Q1", 100, forecast=320), fig("2009Q2", 100), fig("2009Q3", 100)],
        "2009Q3",
        # A = 300; E = 300; f = 0.75; pace = 1.0 -> on_track; forecast = Q1's 320
        exp("on_track", 3, 300, 300, 0.75, 1, 320),
    ),
    # --- approximate ---
    Case(
        "approximate-figure",
        tgt(480, nr="2.2", metric="vejledninger"),
        [
            fig("2009Q1", 100, nr="2.2", metric="vejledninger"),
            fig("2009Q2", 120, nr="2.2", metric="vejledninger", approximate=True),
            fig("2009Q3", 110, nr="2.2", metric="vejledninger"),
        ],
        "2009Q3",
        # A = 330; E = 360; f = 330/480 = 0.6875; pace = 330/360 = 0.91667 -> at_risk;
        # forecast = 330*4/3 = 440; Q2 is "ca." -> approximate
        exp("at_risk", 3, 330, 360, 0.6875, 330 / 360, 440, approximate=True),
    ),
    Case(
        "approximate-target",
        tgt(2000, approximate=True),
        [fig("2009Q1", 600)],
        "2009Q1",
        # e = 1; E = 500; f = 0.3; pace = 600/500 = 1.2; forecast = 600*4/1 = 2400
        exp("on_track", 1, 600, 500, 0.3, 1.2, 2400, approximate=True),
    ),
    Case(
        "approximate-earlier-level-not-used",
        tgt(20, aggregation="seneste"),
        [fig("2009Q1", 10, approximate=True), fig("2009Q2", 20)],
        "2009Q2",
        # seneste uses only Q2's exact 20: A = 20; f = pace = 1; achieved; not approximate
        exp("achieved", 2, 20, 20, 1, 1, 20),
    ),
    # --- parts (seed 000, 3.4) ---
    Case(
        "parts-summed-into-whole",
        tgt(50, nr="3.4", metric="placeret"),
        [
            fig("2009Q1", 20, nr="3.4", metric="placeret"),
            fig("2009Q2", 22, nr="3.4", metric="placeret"),
            fig("2009Q3", 2, nr="3.4", metric="placeret/løntilskud"),
            fig("2009Q3", 3, nr="3.4", metric="placeret/praktik"),
            fig("2009Q3", 6, nr="3.4", metric="placeret/uddannelse"),
            fig("2009Q3", 3, nr="3.4", metric="placeret/ordinær beskæftigelse"),
        ],
        "2009Q3",
        # Q3 whole = 2+3+6+3 = 14; A = 20+22+14 = 56 >= 50 -> achieved; E = 37.5;
        # f = 56/50 = 1.12; pace = 56/37.5 = 1.49333; forecast = 56*4/3 = 74.6667
        exp("achieved", 3, 56, 37.5, 1.12, 56 / 37.5, 224 / 3),
    ),
    Case(
        "parts-not-added-when-whole-given",
        tgt(50, nr="3.4", metric="placeret"),
        [
            fig("2009Q3", 14, nr="3.4", metric="placeret"),
            fig("2009Q3", 2, nr="3.4", metric="placeret/løntilskud"),
            fig("2009Q3", 3, nr="3.4", metric="placeret/praktik"),
            fig("2009Q3", 6, nr="3.4", metric="placeret/uddannelse"),
            fig("2009Q3", 3, nr="3.4", metric="placeret/ordinær beskæftigelse"),
        ],
        "2009Q3",
        # A = 14 (not 28); E = 37.5; f = 14/50 = 0.28; pace = 14/37.5 = 0.37333;
        # forecast = 14*4/3 = 18.6667 -> off_track
        exp("off_track", 3, 14, 37.5, 0.28, 14 / 37.5, 56 / 3),
    ),
    # --- Mål-id routing (seed 000, 1.9: 200 vejledningsforløb and 100 løntilskud) ---
    Case(
        "target-id-routing",
        tgt(100, id="1.9-b", nr="1.9", metric="forløb"),
        [
            fig("2009Q3", 170, nr="1.9", metric="forløb", target_id="1.9-a"),
            fig("2009Q1", 30, nr="1.9", metric="forløb", target_id="1.9-b"),
            fig("2009Q2", 29, nr="1.9", metric="forløb", target_id="1.9-b"),
            fig("2009Q3", 43, nr="1.9", metric="forløb", target_id="1.9-b"),
        ],
        "2009Q3",
        # only 1.9-b's rows: A = 30+29+43 = 102 >= 100 -> achieved; E = 75; f = 1.02;
        # pace = 102/75 = 1.36; forecast = 102*4/3 = 136
        exp("achieved", 3, 102, 75, 1.02, 1.36, 136),
    ),
    Case(
        "generic-row-feeds-every-target-of-nr-and-metric",
        tgt(40, id="1.5-b", nr="1.5", metric="henviste"),
        [
            fig("2009Q1", 10, nr="1.5", metric="henviste"),
            fig("2009Q1", 99, nr="1.50", metric="henviste"),
        ],
        "2009Q1",
        # "1.50" is another initiative; A = 10; E = 40/4 = 10; f = 0.25; pace = 1;
        # forecast = 10*4/1 = 40 -> on_track
        exp("on_track", 1, 10, 10, 0.25, 1, 40),
    ),
    # --- no data ---
    Case(
        "no-data",
        tgt(150),
        [
            fig("2009Q3", 50, metric="andet"),  # another metric
            fig("2009Q4", 50),  # after R
            fig("2008Q4", 50),  # before the window
            fig("2009Q2", None, forecast=200),
        ],
        "2009Q3",  # no number, only a forecast
        # E = 150*3/4 = 112.5 still; everything else None
        exp("no_data", 3, None, 112.5),
    ),
    Case(
        "no-data-baseline-level",
        YOUTH,
        [],
        "2014Q2",
        # E = 5000 - 500*2/8 = 4875
        exp("no_data", 2, None, 4875),
    ),
    # --- zero divisions and pace None ---
    Case(
        "zero-target-mindst",
        tgt(0),
        [fig("2009Q3", 5)],
        "2009Q3",
        # f = 5/0 -> None; E = 0 -> pace None; 5 >= 0 -> achieved; forecast = 5*4/3
        exp("achieved", 3, 5, 0, None, None, 20 / 3),
    ),
    Case(
        "baseline-equals-target-mindst",
        tgt(10, aggregation="seneste", baseline=10),
        quarterly([9, 8]),
        "2009Q2",
        # E = 10 + 0*2/4 = 10; f = (8-10)/(10-10) -> None; pace = (8-10)/(10-10) -> None;
        # not achieved (8 < 10) and no pace -> off_track
        exp("off_track", 2, 8, 10, None, None, 8),
    ),
    Case(
        "baseline-equals-target-hojst",
        tgt(100, direction="højst", aggregation="seneste", baseline=100),
        [fig("2009Q2", 90)],
        "2009Q2",
        # f = (100-90)/(100-100) -> None; pace None; 90 <= 100 -> achieved
        exp("achieved", 2, 90, 100, None, None, 90),
    ),
    # --- status boundaries ---
    Case(
        "pace-exactly-one-is-on-track",
        tgt(100),
        quarterly([25, 25]),
        "2009Q2",
        # A = 50; E = 100*2/4 = 50; f = 0.5; pace = 1.0 -> on_track; forecast = 100
        exp("on_track", 2, 50, 50, 0.5, 1, 100),
    ),
    Case(
        "decimal-sum-meets-ceiling",
        tgt(0.3, unit="kr.", metric="udbetalt mio.", direction="højst"),
        [fig("2009Q1", 0.1, metric="udbetalt mio."), fig("2009Q2", 0.2, metric="udbetalt mio.")],
        "2009Q4",
        # A = 0.1+0.2 = 0.3 (binary: 0.30000000000000004) <= 0.3 -> achieved at window end;
        # E = 0.3; f = pace = 0.3/0.3 = 1; forecast = 0.3*4/4 = 0.3
        exp("achieved", 4, 0.3, 0.3, 1, 1, 0.3),
    ),
    Case(
        "custom-threshold-turns-at-risk-off-track",
        tgt(90, metric="aktiveret", unit="pct."),
        [fig("2009Q3", 86, metric="aktiveret")],
        "2009Q3",
        # f = pace = 86/90 = 0.95556 < 0.96 -> off_track
        exp("off_track", 3, 86, 90, 86 / 90, 86 / 90, 86),
        at_risk=0.96,
    ),
    # --- milestones (due 2009-12-31, window 2009Q1-2009Q4 unless stated) ---
    Case(
        "milestone-reached-on-time",
        milestone(),
        [mrow("2009Q3", date(2009, 9, 15))],
        "2009Q3",
        # reached 15 Sep <= due 31 Dec -> achieved, not late
        exp("achieved", 3, reached=date(2009, 9, 15)),
    ),
    Case(
        "milestone-reached-on-its-due-date",
        milestone(),
        [mrow("2009Q4", date(2009, 12, 31))],
        "2009Q4",
        # reached on the due date is on time
        exp("achieved", 4, reached=date(2009, 12, 31)),
    ),
    Case(
        "milestone-reached-late",
        milestone(end="2010Q2"),
        [mrow("2009Q4", False), mrow("2010Q1", date(2010, 2, 10))],
        "2010Q1",
        # reached 10 Feb 2010 > 31 Dec 2009 -> achieved, late; e = 5 (2009Q1..2010Q1)
        exp("achieved", 5, reached=date(2010, 2, 10), late=True),
    ),
    Case(
        "milestone-ja-without-date",
        milestone(),
        [mrow("2009Q2", True)],
        "2009Q2",
        # "ja": reached, date unknown -> achieved, reached True, not late
        exp("achieved", 2, reached=True),
    ),
    Case(
        "milestone-later-nej-does-not-undo",
        milestone(),
        [mrow("2009Q2", date(2009, 5, 1)), mrow("2009Q3", False)],
        "2009Q3",
        # a later "nej" does not undo the date given in Q2
        exp("achieved", 3, reached=date(2009, 5, 1)),
    ),
    Case(
        "milestone-earliest-of-two-dates",
        milestone(),
        [mrow("2009Q3", date(2009, 8, 1)), mrow("2009Q2", date(2009, 5, 1))],
        "2009Q3",
        # Q2 says 1 May, Q3 repeats it as 1 Aug: the earliest date is when it was reached
        exp("achieved", 3, reached=date(2009, 5, 1)),
    ),
    Case(
        "milestone-not-reached-due-later",
        milestone(),
        [mrow("2009Q3", False)],
        "2009Q3",
        # R ends 30 Sep < due 31 Dec -> on_track
        exp("on_track", 3),
    ),
    Case(
        "milestone-row-without-answer",
        milestone(),
        [mrow("2009Q2")],
        "2009Q3",
        # a row names it (only a comment): not reached, due later -> on_track
        exp("on_track", 3),
    ),
    Case(
        "milestone-due-on-last-day-of-r",
        milestone(),
        [mrow("2009Q4", False)],
        "2009Q4",
        # R ends 31 Dec = due: the due date has passed by the end of R -> off_track
        exp("off_track", 4),
    ),
    Case(
        "milestone-due-day-after-r",
        milestone(date(2010, 1, 1), end="2010Q1"),
        [mrow("2009Q4", False)],
        "2009Q4",
        # due 1 Jan 2010 > 31 Dec 2009 -> on_track
        exp("on_track", 4),
    ),
    Case(
        "milestone-not-reached-after-due",
        milestone(date(2009, 6, 30)),
        [mrow("2009Q3", False)],
        "2009Q3",
        # due 30 Jun <= 30 Sep -> off_track
        exp("off_track", 3),
    ),
    Case(
        "milestone-no-row",
        milestone(),
        [
            mrow("2009Q3", date(2009, 9, 1), target_id="other"),  # names another target
            mrow("2009Q4", date(2009, 10, 1)),  # after R
            fig("2009Q3", 5, nr="1.8"),
        ],  # no Mål-id
        "2009Q3",
        exp("no_data", 3),
    ),
    # --- Tæller/Nævner where they must and must not count ---
    Case(
        "pooled-parts-share-a-denominator",
        tgt(60, metric="andel", unit="pct.", aggregation="sum"),
        [
            fig("2009Q1", metric="andel/a", num=10, den=100),
            fig("2009Q1", metric="andel/b", num=20, den=100),
            fig("2009Q2", metric="andel", num=45, den=50),
        ],
        "2009Q2",
        # Q1's parts share Nævner 100, so their whole is 30/100 and pools with Q2's 45/50:
        # A = 100*(30+45)/(100+50) = 50; a pooled rate is a level: E = T = 60;
        # f = 50/60; pace = f; 0.833 < 0.9 -> off_track; forecast = A
        exp("off_track", 2, 50, 60, 50 / 60, 50 / 60, 50),
    ),
    Case(
        "pooled-zero-denominator-row-keeps-no-weight",
        tgt(60, metric="andel", unit="pct.", aggregation="sum"),
        [
            fig("2009Q1", 40, metric="andel", num=5, den=0),
            fig("2009Q2", metric="andel", num=30, den=60),
        ],
        "2009Q2",
        # Q1's Nævner 0 gives no weight to pool (its Værdi 40 is a number, not a weight):
        # A = 100*30/60 = 50, not 100*(5+30)/(0+60); E = 60; f = pace = 50/60 -> off_track
        exp("off_track", 2, 50, 60, 50 / 60, 50 / 60, 50),
    ),
    # A usable Nævner is a positive one (CONTRACT §4: a Nævner of 0 and a negative count are
    # both errors), the same test in validation and the arithmetic (kvartal.units.percentage).
    Case(
        "pct-negative-denominator-gives-no-rate",
        tgt(90, metric="aktiveret", unit="pct."),
        [fig("2009Q3", 40, num=-5, den=-10, metric="aktiveret")],
        "2009Q3",
        # -5 / -10 is no percentage (two wrong signs would read as 50): A = Værdi = 40;
        # seneste: E = T = 90; f = pace = 40/90 = 0.44444 -> off_track; forecast = A = 40
        exp("off_track", 3, 40, 90, 40 / 90, 40 / 90, 40),
    ),
    Case(
        "pooled-negative-denominator-row-keeps-no-weight",
        tgt(60, metric="andel", unit="pct.", aggregation="sum"),
        [
            fig("2009Q1", metric="andel", num=-1, den=-60),
            fig("2009Q2", metric="andel", num=30, den=60),
        ],
        "2009Q2",
        # Q1's Nævner -60 gives no weight: A = 100*30/60 = 50, not 100*(-1+30)/(-60+60),
        # which has no value at all; E = T = 60; f = pace = 50/60 = 0.8333 -> off_track;
        # forecast = A = 50
        exp("off_track", 2, 50, 60, 50 / 60, 50 / 60, 50),
    ),
    Case(
        "count-ignores-tæller-nævner",
        tgt(100),
        [fig("2009Q1", 12, num=3, den=4)],
        "2009Q1",
        # antal: Værdi 12 counts, never 100*3/4 = 75; E = 100*1/4 = 25; f = 0.12;
        # pace = 12/25 = 0.48 -> off_track; forecast = 12*4/1 = 48
        exp("off_track", 1, 12, 25, 0.12, 0.48, 48),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fulfilment(case: Case) -> None:
    result = evaluate_target(case.target, case.figures, Q(case.quarter), at_risk=case.at_risk)
    got = {key: getattr(result, key) for key in case.expected}
    want = {
        key: pytest.approx(value)
        if isinstance(value, float | int) and not isinstance(value, bool)
        else value
        for key, value in case.expected.items()
    }
    assert got == want
    assert result.window == (case.target.start, case.target.end)
    assert result.target == case.target.value
    if case.target.is_milestone:
        assert result.due == case.target.due


def test_case_ids_are_unique_and_table_is_broad() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 35
    assert {c.expected["status"] for c in CASES} == {
        "no_data",
        "achieved",
        "on_track",
        "at_risk",
        "off_track",
    }


def test_contract_json_example() -> None:
    """The record §7 shows for 1.5, after `to_json`'s rounding."""
    target = tgt(150, id="1.5-a", nr="1.5", metric="henviste")
    figures = quarterly([50, 52, 45], nr="1.5", metric="henviste")
    record = evaluate_target(target, figures, Q("2009Q3")).to_json()
    assert record == {
        "target_id": "1.5-a",
        "initiative": "1.5",
        "metric": "henviste",
        "unit": "antal",
        "direction": "mindst",
        "target": 150,
        "target_max": None,
        "window": ["2009Q1", "2009Q4"],
        "elapsed": 3,
        "actual": 147,
        "expected_to_date": 112.5,
        "fulfilment": 0.98,
        "pace": 1.3067,
        "forecast": 196,
        "status": "on_track",
        "above_range": False,
        "approximate": False,
    }


def test_milestone_numbers_are_none() -> None:
    result = evaluate_target(milestone(), [mrow("2009Q3", date(2009, 9, 15))], Q("2009Q3"))
    assert (
        result.actual,
        result.expected_to_date,
        result.fulfilment,
        result.pace,
        result.forecast,
    ) == (None, None, None, None, None)
    assert result.to_json()["reached"] == "2009-09-15"


# --- figures_for ------------------------------------------------------------------------


def test_figures_for_routes_by_target_id() -> None:
    a = tgt(200, id="1.9-a", nr="1.9", metric="forløb")
    b = tgt(100, id="1.9-b", nr="1.9", metric="forløb")
    for_a = fig("2009Q3", 170, nr="1.9", metric="forløb", target_id="1.9-a")
    for_b = fig("2009Q3", 43, nr="1.9", metric="forløb", target_id="1.9-b")
    generic = fig("2009Q2", 10, nr="1.9", metric="forløb")
    figures = [for_a, for_b, generic]
    assert figures_for(a, figures, Q("2009Q3")) == [generic, for_a]
    assert figures_for(b, figures, Q("2009Q3")) == [generic, for_b]


def test_figures_for_named_row_wins_over_generic_in_same_quarter() -> None:
    target = tgt(100, id="1.9-b", nr="1.9", metric="forløb")
    named = fig("2009Q3", 43, nr="1.9", metric="forløb", target_id="1.9-b")
    generic = fig("2009Q3", 213, nr="1.9", metric="forløb")
    assert figures_for(target, [generic, named], Q("2009Q3")) == [named]


def test_figures_for_matches_initiative_as_text() -> None:
    target = tgt(100, nr="1.1")
    mine = fig("2009Q1", 5, nr="1.1")
    assert figures_for(target, [fig("2009Q1", 7, nr="1.10"), mine], Q("2009Q1")) == [mine]


def test_figures_for_window_and_order() -> None:
    target = tgt(100, start="2009Q2", end="2009Q4")
    q1, q2, q3, q4 = (fig(f"2009Q{i}", i) for i in range(1, 5))
    # outside the window (Q1) and after R (Q4) left out; quarter order, not input order
    assert figures_for(target, [q4, q3, q1, q2], Q("2009Q3")) == [q2, q3]


def test_figures_for_sums_parts_into_a_whole() -> None:
    target = tgt(50, nr="3.4", metric="placeret")
    parts = [
        fig("2009Q3", v, nr="3.4", metric=f"placeret/{name}", approximate=(v == 6))
        for v, name in [(2, "løntilskud"), (3, "praktik"), (6, "uddannelse"), (3, "ordinær")]
    ]
    (whole,) = figures_for(target, parts, Q("2009Q3"))
    assert (whole.metric, whole.value, whole.quarter) == ("placeret", 14, Q("2009Q3"))
    assert whole.source is None
    assert whole.approximate  # one part was "ca."


def test_figures_for_parts_never_feed_alone_when_whole_given() -> None:
    target = tgt(50, nr="3.4", metric="placeret")
    whole = fig("2009Q3", 14, nr="3.4", metric="placeret")
    part = fig("2009Q3", 2, nr="3.4", metric="placeret/løntilskud")
    assert figures_for(target, [part, whole], Q("2009Q3")) == [whole]


def test_figures_for_milestone_only_by_target_id() -> None:
    m = milestone()
    named = mrow("2009Q2", True)
    assert figures_for(m, [fig("2009Q2", 1, nr="1.8", metric=None), named], Q("2009Q3")) == [named]


# --- evaluate ---------------------------------------------------------------------------


def test_evaluate_includes_active_targets_once_in_catalogue_order() -> None:
    targets = [
        tgt(10, id="c", start="2009Q3", end="2009Q3"),  # starts and ends at R: in
        tgt(10, id="ended", start="2008Q1", end="2009Q2"),
        tgt(10, id="a", start="2008Q1", end="2010Q4"),
        tgt(10, id="later", start="2009Q4", end="2010Q4"),
        milestone(id="b"),
        tgt(10, id="d", start="2009Q3", end="2011Q4"),  # starts at R: in
    ]
    results = evaluate(targets, [], Q("2009Q3"))
    assert [r.target_id for r in results] == ["c", "a", "b", "d"]
    assert all(isinstance(r, TargetResult) for r in results)


def test_evaluate_passes_the_threshold() -> None:
    target = tgt(90, metric="aktiveret", unit="pct.")
    figures = [fig("2009Q3", 86, metric="aktiveret")]
    # pace 86/90 = 0.956
    assert evaluate([target], figures, Q("2009Q3"))[0].status == "at_risk"
    assert evaluate([target], figures, Q("2009Q3"), at_risk=0.96)[0].status == "off_track"


def test_evaluate_nothing_active() -> None:
    assert evaluate([tgt(10, start="2010Q1", end="2010Q4")], [], Q("2009Q3")) == []
