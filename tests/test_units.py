"""The domain's words as types, the unit table, the one matcher and the one percentage.

Expected values are worked by hand from CONTRACT §2–§5.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from fractions import Fraction

from kvartal.model import UNITS
from kvartal.typed import Feed, default_aggregation, feeds
from kvartal.units import Severity, Status, Unit, percentage, unit_spec


def test_enums_are_written_as_the_strings_outputs_always_had() -> None:
    record = {"unit": Unit.PERCENT, "status": Status.AT_RISK, "severity": Severity.ERROR}
    assert json.dumps(record) == '{"unit": "pct.", "status": "at_risk", "severity": "fejl"}'
    assert f"{Unit.AMOUNT}" == "kr."
    assert Unit.MILESTONE == "milepæl"
    assert {"antal": 1}[Unit.COUNT] == 1  # hashes as its string


def test_every_unit_has_its_table_entry_and_the_catalogue_accepts_it() -> None:
    assert [str(u) for u in UNITS] == ["antal", "pct.", "kr.", "milepæl"]
    # CONTRACT §2: counts and amounts add up, a percentage is a level.
    assert [unit_spec(u).default_aggregation for u in Unit] == ["sum", "seneste", "sum", "seneste"]
    assert [u for u in Unit if unit_spec(u).ratio] == [Unit.PERCENT]
    assert [u for u in Unit if not unit_spec(u).numeric] == [Unit.MILESTONE]


def test_an_unknown_unit_has_no_default_aggregation() -> None:
    assert default_aggregation("timer") is None  # never a silent `sum`
    assert default_aggregation(None) is None
    assert default_aggregation(" Pct. ") == "seneste"  # case and spaces do not matter
    assert default_aggregation("pct.") == "seneste"
    assert default_aggregation("kr.") == "sum"


def test_percentage_needs_a_positive_denominator() -> None:
    assert percentage(431, 500) == Fraction(431, 5)  # 100 * 431 / 500 = 86.2, exactly
    assert percentage(0.1, 0.3) == Fraction(100, 3)  # the decimals typed, not binary floats
    assert percentage(1, 0) is None  # naevner_nul
    assert percentage(-5, -10) is None  # a negative count is no Nævner (not 50 %)
    assert percentage(5, -10) is None
    assert percentage(None, 10) is None
    assert percentage(5, math.nan) is None
    assert percentage(math.nan, 10) is None


@dataclass
class _Target:
    target_id: str | None
    initiative: str | None
    metric: str | None
    is_milestone: bool = False


def test_one_matcher_for_validation_and_arithmetic() -> None:
    target = _Target("1.4-b", "1.4", "deltagere")
    assert feeds(target, "1.4-B ", "1.4", "deltagere") is Feed.WHOLE  # by Mål-id
    assert feeds(target, "1.4-b", "9.9", "andet") is Feed.WHOLE  # Mål-id alone decides
    assert feeds(target, "1.4-b", "1.4", "deltagere/unge") is Feed.PART
    assert feeds(target, "1.4-a", "1.4", "deltagere") is None  # names another target
    assert feeds(target, None, "1.4", "Deltagere") is Feed.WHOLE  # by Nr. + Nøgletal
    assert feeds(target, None, "1.4", "deltagere/unge") is Feed.PART
    assert feeds(target, None, "1.40", "deltagere") is None  # Nr. is text: 1.40 is not 1.4
    assert feeds(target, None, "1.4", "deltagerne") is None
    milestone = _Target("m-1", "1.8", "kursus", is_milestone=True)
    assert feeds(milestone, None, "1.8", "kursus") is None  # milestones only by Mål-id
    assert feeds(milestone, "M-1", "1.8", None) is Feed.WHOLE
