"""SheetFrames -> typed Targets, Figures and Waivers for the arithmetic.

This runs after validation has had its say, so it judges nothing: a row that cannot be
typed (a required value missing, or any value unreadable) is left out, because validation
has named it by a problem and the arithmetic must never see a guessed value. That
validation did name it is not taken on trust: `kvartal.accounting` checks every row read
against the records made here and the problems found, and a row neither used nor named
stops the run. Only `_Skip` (a cell that does not type) is caught, never anything else.

Cells whose errors an operator waived arrive in `excluded` as (file, A1 cell) pairs; their
values are treated as empty, as CONTRACT §6 says ("its value is left out of the figures").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from kvartal.model import (
    AGGREGATIONS,
    DIRECTIONS,
    TARGET_KINDS,
    UNITS,
    WAIVER_COLUMNS,
    CellRef,
    Figure,
    Target,
    Waiver,
)
from kvartal.numbers import (
    CellValueError,
    Parsed,
    parse_date,
)
from kvartal.tables import SheetFrame
from kvartal.typed import (
    cell_text,
    choice,
    figure_rows,
    target_rows,
    waiver_from,
)
from kvartal.units import Direction, unit_spec

__all__ = ["parse_figures", "parse_targets", "parse_waivers"]

_Word = TypeVar("_Word", bound=str)


class _Skip(Exception):
    """This row cannot be typed; validation reports why."""


def _key(file: str, cell: str) -> tuple[str, str]:
    return (file.strip().replace("\\", "/").strip("/").lower(), cell.strip().upper())


class _Row:
    """One frame row with waived cells blanked out."""

    def __init__(
        self,
        frame: SheetFrame,
        position: int,
        row: int,
        values: dict[str, Any],
        excluded: set[tuple[str, str]],
    ) -> None:
        self.frame = frame
        self.position = position  # the row's place in the frame (its typed cells' index)
        self.row = row
        self.values = values
        self.excluded = excluded

    def waived(self) -> frozenset[str]:
        """The columns whose cell in this row an operator waived."""
        if not self.excluded:
            return frozenset()
        return frozenset(
            c
            for c in self.frame.letters
            if _key(self.frame.file, self.frame.cell(self.row, c)) in self.excluded
        )

    def raw(self, column: str) -> object:
        if column not in self.frame.letters:
            return None
        if (
            self.excluded
            and _key(self.frame.file, self.frame.cell(self.row, column)) in self.excluded
        ):
            return None
        v = self.values.get(column)
        if isinstance(v, float) and v != v:  # NaN from pandas is an empty cell
            return None
        return v

    def text(self, column: str, required: bool = False) -> str | None:
        out: str | None = _call(cell_text, self.raw(column))
        if required and out is None:
            raise _Skip
        return out

    def choice(self, column: str, allowed: Iterable[_Word], required: bool = False) -> _Word | None:
        v = self.text(column, required)
        if v is None:
            return None
        option = choice(v, allowed)
        if option is None:
            raise _Skip
        return option

    def source(self) -> CellRef:
        return CellRef(self.frame.file, self.frame.sheet, self.row)


def _call(fn: Any, v: object) -> Any:
    try:
        return fn(v)
    except (CellValueError, ValueError, TypeError):
        raise _Skip from None


def _rows(frame: SheetFrame, excluded: Iterable[tuple[str, str]]) -> Iterator[_Row]:
    keys = {_key(f, c) for f, c in excluded}
    df = frame.df
    columns = [c for c in df.columns if not str(c).startswith("_")]
    rows = df["_row"].tolist()
    data = {c: df[c].tolist() for c in columns}
    for i, row in enumerate(rows):
        yield _Row(frame, i, int(row), {c: data[c][i] for c in columns}, keys)


def parse_targets(
    frames: list[SheetFrame], excluded: Iterable[tuple[str, str]] = frozenset()
) -> list[Target]:
    """Every catalogue row that can be typed, in file and row order."""
    out: list[Target] = []
    for frame in frames:
        for row in _rows(frame, excluded):
            try:
                out.append(_target(row))
            except _Skip:
                continue  # a row validation names by a problem (the accounting checks it)
    return out


def _target(row: _Row) -> Target:
    unit = row.choice("Enhed", UNITS, required=True)
    assert unit is not None
    milestone = not unit_spec(unit).numeric
    # Keys, window and numbers as typed once for validation's catalogue columns too, the
    # waived cells left empty; a milestone reads no Nøgletal, Målværdi or Målværdi maks.
    cells = target_rows(row.frame)[row.position].blanked(row.waived())
    needed = {"Mål-id", "Nr.", "Fra", "Til", "Basislinje"}
    if not milestone:
        needed |= {"Nøgletal", "Målværdi", "Målværdi maks."}
    if cells.unreadable & needed:
        raise _Skip
    if cells.target_id is None or cells.initiative is None:
        raise _Skip
    if cells.start is None or cells.end is None:
        raise _Skip
    agreement = row.text("Aftale", required=True)
    title = row.text("Indsats", required=True)
    kind = row.choice("Måltype", TARGET_KINDS, required=True)
    description = row.text("Målbeskrivelse", required=True)
    due = _call(parse_date, row.raw("Frist"))
    aggregation = row.choice("Opgørelse", AGGREGATIONS) or unit_spec(unit).default_aggregation

    metric: str | None = None
    direction: Direction | None = None
    value: Parsed | None = None
    value_max: Parsed | None = None
    if milestone:
        if due is None:
            raise _Skip
    else:
        if cells.metric is None:
            raise _Skip
        metric = cells.metric.shown
        direction = row.choice("Retning", DIRECTIONS, required=True)
        value = cells.value
        value_max = cells.value_max
        if value is None or (direction == Direction.RANGE and value_max is None):
            raise _Skip
    baseline = cells.baseline

    assert agreement and title and kind and description
    return Target(
        target_id=cells.target_id.shown,
        agreement=agreement,
        theme=row.text("Indsatsområde"),
        initiative=cells.initiative.shown,
        title=title,
        kind=kind,
        description=description,
        metric=metric,
        unit=unit,
        direction=direction,
        value=value.value if value else None,
        value_max=value_max.value if value_max else None,
        aggregation=aggregation,
        baseline=baseline.value if baseline else None,
        start=cells.start,
        end=cells.end,
        due=due,
        responsible=row.text("Ansvarlig"),
        approximate=bool(value and value.approximate),
        source=row.source(),
    )


def parse_figures(
    frames: list[SheetFrame], excluded: Iterable[tuple[str, str]] = frozenset()
) -> list[Figure]:
    """Every figure row that can be typed, in file and row order.

    A row is kept when it carries a number (`Værdi`, or both `Tæller` and `Nævner`) or is
    a milestone row (`Milepæl nået` given, or a `Mål-id` without a `Nøgletal`); a
    percentage given as `Tæller`/`Nævner` stays as the two numbers, because a pooled rate
    (CONTRACT §5) needs them, not their quotient.
    """
    out: list[Figure] = []
    for frame in frames:
        for row in _rows(frame, excluded):
            try:
                figure = _figure(row)
            except _Skip:
                continue  # a row validation names by a problem (the accounting checks it)
            if figure is not None:
                out.append(figure)
    return out


def _figure(row: _Row) -> Figure | None:
    # As typed once for validation's figure columns too, the waived cells left empty.
    cells = figure_rows(row.frame)[row.position].blanked(row.waived())
    if cells.unreadable or cells.initiative is None or cells.quarter is None:
        raise _Skip
    value, numerator, denominator = cells.value, cells.numerator, cells.denominator
    metric = cells.metric.shown if cells.metric else None
    target_id = cells.target_id.shown if cells.target_id else None

    has_number = value is not None or (numerator is not None and denominator is not None)
    milestone_row = cells.reached is not None or (metric is None and target_id is not None)
    if metric is None and target_id is None:
        return None
    if not has_number and not milestone_row:
        return None
    return Figure(
        initiative=cells.initiative.shown,
        metric=metric,
        quarter=cells.quarter,
        value=value.value if value else None,
        numerator=numerator.value if numerator else None,
        denominator=denominator.value if denominator else None,
        forecast=cells.forecast.value if cells.forecast else None,
        target_id=target_id,
        reached=cells.reached,
        comment=cells.comment,
        approximate=any(p is not None and p.approximate for p in (value, numerator, denominator)),
        source=row.source(),
    )


def parse_waivers(frame: SheetFrame) -> list[Waiver]:
    """The operator's waivers, read by the same parser validation uses
    (`kvartal.typed.waiver_from`); rows without file, reason or approver waive nothing."""
    out: list[Waiver] = []
    for row in _rows(frame, ()):
        waiver = waiver_from({c: row.raw(c) for c in WAIVER_COLUMNS}, frame.file, row.source())
        if waiver is not None:
            out.append(waiver)
    return out
