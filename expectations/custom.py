"""Custom Great Expectations for the ways Danish spreadsheets go wrong.

GX has no expectation that knows `1.400` is a number and `1.5` is not, or that `3. kvartal
2009` is a quarter, so these wrap kvartal's own parsers: the rule a cell is judged by is the
same rule the figures are later read with, and the two can never disagree.

Importing this module registers the expectations with GX. Suites stored as JSON must be
loaded after it, because GX drops expectation types it does not know without failing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pandas as pd
from great_expectations.core.suite_parameters import SuiteParameterDict
from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider.column_condition_partial import (
    column_condition_partial,
)
from great_expectations.expectations.metrics.map_metric_provider.column_map_metric_provider import (
    ColumnMapMetricProvider,
)

from kvartal.numbers import CellValueError, parse_date, parse_number, parse_reached, parse_text_key
from kvartal.quarters import Quarter, QuarterError
from kvartal.typed import quarter_of


def _accepts(parser: Callable[[Any], Any]) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        try:
            parser(value)
        except (CellValueError, QuarterError):
            return False
        return True

    return check


def _is_quarter(value: Any, quarter: str | None) -> bool:
    found = quarter_of(value)  # the reading the arithmetic uses (kvartal.typed)
    return found is not None and (quarter is None or found == Quarter.parse(quarter))


class ColumnValuesDanishNumber(ColumnMapMetricProvider):
    condition_metric_name = "column_values.kvartal_danish_number"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return column.map(_accepts(parse_number)).astype(bool)


class ColumnValuesDanishDate(ColumnMapMetricProvider):
    condition_metric_name = "column_values.kvartal_danish_date"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return column.map(_accepts(parse_date)).astype(bool)


class ColumnValuesMilestoneReached(ColumnMapMetricProvider):
    condition_metric_name = "column_values.kvartal_milestone_reached"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return column.map(_accepts(parse_reached)).astype(bool)


class ColumnValuesTextKey(ColumnMapMetricProvider):
    condition_metric_name = "column_values.kvartal_text_key"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return column.map(_accepts(parse_text_key)).astype(bool)


class ColumnValuesQuarter(ColumnMapMetricProvider):
    condition_metric_name = "column_values.kvartal_quarter"
    condition_value_keys = ("quarter",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, quarter: str | None = None, **kwargs: Any) -> pd.Series:
        return column.map(lambda v: _is_quarter(v, quarter)).astype(bool)


class ExpectColumnValuesToBeDanishNumbers(ColumnMapExpectation):
    """Every value reads as a number the Danish way (`1.400`, `6,5`, `86 pct.`, `ca. 400`)."""

    map_metric = "column_values.kvartal_danish_number"
    success_keys = ("mostly",)
    library_metadata: ClassVar[dict[str, Any]] = {"tags": ["kvartal"], "contributors": []}


class ExpectColumnValuesToBeDanishDates(ColumnMapExpectation):
    """Every value is a date cell or a day-first/ISO date text."""

    map_metric = "column_values.kvartal_danish_date"
    success_keys = ("mostly",)
    library_metadata: ClassVar[dict[str, Any]] = {"tags": ["kvartal"], "contributors": []}


class ExpectColumnValuesToBeMilestoneReached(ColumnMapExpectation):
    """Every `Milepæl nået` is `ja`, `nej` or a date."""

    map_metric = "column_values.kvartal_milestone_reached"
    success_keys = ("mostly",)
    library_metadata: ClassVar[dict[str, Any]] = {"tags": ["kvartal"], "contributors": []}


class ExpectColumnValuesToBeTextKeys(ColumnMapExpectation):
    """Every key (`Nr.`, `Mål-id`) reads as text; a date here is a number Excel mangled."""

    map_metric = "column_values.kvartal_text_key"
    success_keys = ("mostly",)
    library_metadata: ClassVar[dict[str, Any]] = {"tags": ["kvartal"], "contributors": []}


class ExpectColumnValuesToBeQuarters(ColumnMapExpectation):
    """Every value is a quarter in an accepted spelling; with `quarter`, that very quarter."""

    quarter: str | SuiteParameterDict[str, Any] | None = None
    map_metric = "column_values.kvartal_quarter"
    success_keys = ("quarter", "mostly")
    library_metadata: ClassVar[dict[str, Any]] = {"tags": ["kvartal"], "contributors": []}


CUSTOM_EXPECTATIONS = (
    ExpectColumnValuesToBeDanishNumbers,
    ExpectColumnValuesToBeDanishDates,
    ExpectColumnValuesToBeMilestoneReached,
    ExpectColumnValuesToBeTextKeys,
    ExpectColumnValuesToBeQuarters,
)
