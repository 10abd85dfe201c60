"""Validation of a quarter's inputs with Great Expectations, waivers and the review files.

The expectation suites live in `expectations/*.json`; this package prepares the tables
they run over (`frames`), runs them and points every finding at its cell (`run`), knows
each rule's Danish message (`rules`), and writes what operators read (`review`). All files
of a quarter are checked in the same run, so one bad file never hides another's problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kvartal.model import ERROR, WAIVER_COLUMNS, WARNING, CellRef, Problem, Waiver
from kvartal.quarters import Quarter
from kvartal.typed import waiver_from
from kvartal.validation.columns import column_problems
from kvartal.validation.frames import (
    VALUE_SETS,
    Table,
    catalogue_table,
    figures_table,
    headers_table,
    known_ids,
    known_keys,
    mark_coverage,
    reached_before,
    waivers_table,
)
from kvartal.validation.review import review_html, review_json
from kvartal.validation.rules import RULES

if TYPE_CHECKING:
    from kvartal.tables import SheetFrame

__all__ = ["RULES", "ValidationResult", "review_html", "review_json", "validate"]


@dataclass
class ValidationResult:
    problems: list[Problem] = field(default_factory=list)  # sorted; waived ones included
    waived: list[tuple[Problem, Waiver]] = field(default_factory=list)
    excluded: set[tuple[str, str]] = field(default_factory=set)  # (file, cell) to leave out

    @property
    def blocking(self) -> list[Problem]:
        """Errors not waived: any of these stops publication.

        Compared by value, not identity, so the result means the same after Prefect has
        pickled it between tasks.
        """
        waived = {p for p, _ in self.waived}
        return [p for p in self.problems if p.severity == ERROR and p not in waived]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    def waiver_of(self, problem: Problem) -> Waiver | None:
        for p, w in self.waived:
            if p == problem:
                return w
        return None


def validate(
    quarter: Quarter,
    catalogue: list[SheetFrame],
    figures: dict[Quarter, list[SheetFrame]],
    waivers: SheetFrame | None,
    read_problems: list[Problem],
) -> ValidationResult:
    """Check the quarter's catalogue, figures and waivers; every finding in one result."""
    from kvartal.validation.run import Runner

    catalogue_t, targets = catalogue_table(catalogue)
    # Every quarter read is checked like the report quarter (CONTRACT §4): its figures feed
    # the report's windows, so a bad cell in 2009Q2 must block as one in 2009Q3 does.
    figure_tables = {
        q: figures_table(frames, targets, figures.get(q - 1, []), q)
        for q, frames in sorted(figures.items())
    }
    current = figure_tables.get(quarter) or figures_table([], targets, [], quarter)
    mark_coverage(catalogue_t, targets, current, quarter, reached_before(figures, quarter))
    headers_t = headers_table(
        [("catalogue", f) for f in catalogue]
        + [("figures", f) for q in sorted(figures) for f in figures[q]]
        + ([("waivers", waivers)] if waivers is not None else [])
    )
    waivers_t = waivers_table(waivers)

    runner = Runner.start(
        {
            "quarter": str(quarter),
            "known_keys": known_keys(targets),
            "known_ids": known_ids(targets),
            **VALUE_SETS,
        }
    )
    problems = list(read_problems)
    problems += column_problems(
        list(catalogue)
        + [f for q in sorted(figures) for f in figures[q]]
        + ([waivers] if waivers is not None else [])
    )
    problems += runner.check(headers_t, "headers", quarter)
    problems += runner.check(catalogue_t, "catalogue", quarter)
    for q, table in figure_tables.items():
        problems += runner.check(table, "figures", q)

    found = list(problems)
    valid = dict(_waivers(waivers_t))
    waived: list[tuple[Problem, Waiver]] = []
    for p in found:
        w = next((w for w in valid.values() if w.matches(p)), None)
        if w is not None:
            waived.append((p, w))
    waivers_t.df["_matched"] = [
        any(valid[i].matches(p) for p in found) if i in valid else None
        for i in range(len(waivers_t.df))
    ]
    problems += runner.check(waivers_t, "waivers", quarter)

    problems.sort(key=_order)
    excluded = {(p.file, p.cell) for p, _ in waived if p.severity == ERROR and p.cell}
    return ValidationResult(problems=problems, waived=waived, excluded=excluded)


def _waivers(table: Table) -> list[tuple[int, Waiver]]:
    """The waiver rows that count, read by the one waiver parser records uses too."""
    out = []
    df = table.df
    for i in range(len(df)):
        frame = table.frame(df.at[i, "_file"])
        row = int(df.at[i, "_row"])
        source = CellRef(
            file=df.at[i, "_file"],
            sheet=df.at[i, "_sheet"],
            row=row,
            cell=frame.cell(row, "Fil") if frame is not None and "Fil" in frame.letters else None,
            column="Fil",
        )
        waiver = waiver_from(
            {c: df.at[i, c] for c in WAIVER_COLUMNS}, str(df.at[i, "_file"]), source
        )
        if waiver is not None:
            out.append((i, waiver))
    return out


_CELL = re.compile(r"^([A-Z]+)(\d+)$")


def _order(p: Problem) -> tuple[str, str, int, int, str, str]:
    m = _CELL.match(p.cell or "")
    letters = m.group(1) if m else ""
    return (p.file, p.sheet or "", p.row or 0, len(letters), letters, p.rule)
