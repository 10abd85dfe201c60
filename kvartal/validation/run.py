"""Running the stored suites with Great Expectations and turning results into Problems.

GX is imported here and nowhere else, and only when validation runs: importing it costs
about fifteen seconds, which the command line and the other stages should not pay.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kvartal.model import Problem
from kvartal.quarters import Quarter
from kvartal.validation.frames import Table
from kvartal.validation.rules import RULES, Finding, show

if TYPE_CHECKING:
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.data_context.data_context.abstract_data_context import (
        AbstractDataContext,
    )
    from great_expectations.datasource.fluent.pandas_datasource import PandasDatasource

SUITES_DIR = Path(__file__).resolve().parents[2] / "expectations"
SUITE_NAMES = ("headers", "catalogue", "figures", "waivers")
INDEX_COLUMNS = ["_i", "_file", "_row"]


class SuiteError(RuntimeError):
    """A stored suite that did not load whole, or an expectation that could not run."""


def suite_json(name: str) -> dict[str, Any]:
    with open(SUITES_DIR / f"{name}.json", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def load_suite(name: str) -> ExpectationSuite:
    """Load a stored suite; fail loudly if GX dropped any expectation it did not know."""
    import great_expectations as gx

    import expectations.custom  # noqa: F401  (registers the custom expectation types)

    data = suite_json(name)
    stored = data["expectations"]
    suite = gx.ExpectationSuite(name=data["name"], expectations=stored, meta=data.get("meta"))
    declared = data.get("meta", {}).get("expectation_count")
    if len(suite.expectations) != len(stored) or (declared is not None and declared != len(stored)):
        raise SuiteError(
            f"suite {name}: {len(stored)} stored, {declared} declared, "
            f"{len(suite.expectations)} loaded; an expectation type is unknown to GX"
        )
    return suite


def _quiet() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    for name in ("great_expectations", "great_expectations.core", "posthog"):
        logging.getLogger(name).setLevel(logging.ERROR)


@dataclass
class Runner:
    """One ephemeral GX context per `validate` call, one pandas data source in it."""

    context: AbstractDataContext
    source: PandasDatasource
    parameters: dict[str, Any]

    @classmethod
    def start(cls, parameters: dict[str, Any]) -> Runner:
        _quiet()
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        return cls(context, context.data_sources.add_pandas("kvartal"), parameters)

    def check(self, table: Table, suite_name: str, quarter: Quarter) -> list[Problem]:
        if table.df.empty:
            return []
        suite = load_suite(suite_name)
        asset = self.source.add_dataframe_asset(name=f"{suite_name}-{len(self.source.assets)}")
        batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
            batch_parameters={"dataframe": table.df}
        )
        result = batch.validate(
            suite,
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": INDEX_COLUMNS,
            },
            # The folder's quarter: each quarter's figures are checked against their own.
            expectation_parameters={**self.parameters, "quarter": str(quarter)},
        )
        problems: list[Problem] = []
        for r in result.results:
            config = r.expectation_config
            if config is None:
                continue
            if r.exception_info and r.exception_info.get("raised_exception"):
                raise SuiteError(
                    f"{suite_name}: {config.type} {config.kwargs}: "
                    f"{r.exception_info.get('exception_message')}"
                )
            if r.success:
                continue
            meta = config.meta or {}
            rows = [int(hit["_i"]) for hit in (r.result or {}).get("unexpected_index_list") or []]
            if meta.get("rule") in GROUPED:
                _name_the_others(table, rows, GROUPED[meta["rule"]], meta.get("column"))
            for i in rows:
                problem = to_problem(table, i, meta, quarter)
                if problem is not None:
                    problems.append(problem)
        return problems


# Findings that come in groups (duplicates): each member's message names the others.
GROUPED = {
    "dublet": ["_nr", "_dup_metric", "_quarter", "_dup_target"],
    "dublet_maal_id": ["_target_id"],
}


def _name_the_others(
    table: Table, rows: list[int], key_columns: list[str], column: str | None
) -> None:
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i in rows:
        groups.setdefault(tuple(table.df.at[i, c] for c in key_columns), []).append(i)
    for members in groups.values():
        for i in members:
            table.extras.setdefault(i, {})["others"] = [
                _where(table, j, column) for j in members if j != i
            ]


def _where(table: Table, i: int, column: str | None) -> str:
    file, line = table.df.at[i, "_file"], int(table.df.at[i, "_row"])
    frame = table.frame(file)
    cell = frame.cell(line, column) if frame is not None and column in frame.letters else None
    return f"{file} {cell or f'række {line}'}"


def to_problem(table: Table, i: int, meta: dict[str, Any], quarter: Quarter) -> Problem | None:
    """Point a finding at its cell; None when the column is absent (its own finding)."""
    rule_name: str = meta["rule"]
    rule = RULES[rule_name]
    row = table.df.loc[i].to_dict()
    column: str | None = row["_column"] if table.kind == "headers" else meta.get("column")
    file = row["_file"]
    sheet = row["_sheet"] if isinstance(row["_sheet"], str) else None
    frame = table.frame(file)
    line = int(row["_row"])
    if table.kind == "headers":
        cell = None
    else:
        if frame is not None and column not in frame.letters:
            # A row-level finding about a column the file lacks is put at a column it has
            # (a row with none of Værdi/Tæller/Nævner in a file without a Værdi column);
            # without such a column the file's own `mangler_kolonne` covers the row.
            column = next(
                (c for c in meta.get("fallback_columns", []) if c in frame.letters), column
            )
        if frame is None or column not in frame.letters:
            return None
        cell = frame.cell(line, column)
    value = show(row.get(column)) if column and table.kind != "headers" else None
    extras = table.extras.get(i, {})
    message = rule.message(Finding(column, value, row, extras, quarter))
    return Problem(
        file=file,
        sheet=sheet,
        cell=cell,
        column=column,
        row=line,
        rule=rule_name,
        severity=meta.get("severity", rule.severity),
        value=value,
        message=message,
    )
