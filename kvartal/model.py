"""The records that pass between the stages.

Every value that reaches a report keeps its lineage (file, sheet, row, cell), because an
operator must be able to find the cell a problem or a figure came from.
"""

from __future__ import annotations

import posixpath
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from kvartal.quarters import Quarter
from kvartal.units import (
    Aggregation,
    Direction,
    Status,
    TargetKind,
    Unit,
    unit_spec,
)
from kvartal.units import (
    Severity as Severity,  # re-exported: problems are made with it everywhere
)

ERROR = Severity.ERROR
WARNING = Severity.WARNING

# Canonical headers, as users write them (matching ignores case, surrounding spaces and a
# trailing full stop).
CATALOGUE_COLUMNS = [
    "Aftale",
    "Indsatsområde",
    "Nr.",
    "Indsats",
    "Mål-id",
    "Måltype",
    "Målbeskrivelse",
    "Nøgletal",
    "Enhed",
    "Retning",
    "Målværdi",
    "Målværdi maks.",
    "Opgørelse",
    "Basislinje",
    "Fra",
    "Til",
    "Frist",
    "Ansvarlig",
]
_CATALOGUE_OPTIONAL = {
    "Indsatsområde",
    "Målværdi maks.",
    "Opgørelse",
    "Basislinje",
    "Frist",
    "Ansvarlig",
}
CATALOGUE_REQUIRED = [c for c in CATALOGUE_COLUMNS if c not in _CATALOGUE_OPTIONAL]
FIGURE_COLUMNS = [
    "Nr.",
    "Nøgletal",
    "Kvartal",
    "Værdi",
    "Tæller",
    "Nævner",
    "Forventet",
    "Mål-id",
    "Milepæl nået",
    "Kommentar",
]
FIGURE_REQUIRED = ["Nr.", "Nøgletal", "Kvartal", "Værdi"]
WAIVER_COLUMNS = ["Fil", "Celle", "Regel", "Begrundelse", "Godkendt af"]

# The catalogue's allowed words, in the order messages list them (kvartal/units.py).
UNITS: tuple[Unit, ...] = tuple(Unit)
DIRECTIONS: tuple[Direction, ...] = tuple(Direction)
TARGET_KINDS: tuple[TargetKind, ...] = tuple(TargetKind)
AGGREGATIONS: tuple[Aggregation, ...] = tuple(Aggregation)


@dataclass(frozen=True)
class CellRef:
    """Where a value came from. `file` is relative to the inbox, with `/`."""

    file: str
    sheet: str | None
    row: int | None = None  # 1-based sheet row, as the spreadsheet program shows it
    cell: str | None = None  # A1 address, or None for a whole-row/whole-file reference
    column: str | None = None  # canonical header


@dataclass(frozen=True)
class Problem:
    """One finding for the operator. `rule` is a stable slug that waivers can name."""

    file: str
    sheet: str | None
    cell: str | None
    column: str | None
    row: int | None
    rule: str
    severity: Severity
    value: str | None
    message: str  # plain Danish, says what to do

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        return f"{self.file}:{self.sheet or ''}:{self.cell or ''}: {self.rule}: {self.message}"


@dataclass(frozen=True)
class Waiver:
    """An operator's acceptance of one problem, from `<quarter>/afvigelser.csv`."""

    file: str
    cell: str | None
    rule: str | None  # None: every rule at that cell
    reason: str
    approved_by: str
    source: CellRef | None = None
    # `Fil` was a bare name (`løs.csv`): it also names a file of that name lying directly
    # in the inbox, which has no folder to write and whose problem names it so.
    bare: bool = field(default=False, compare=False)

    def matches(self, problem: Problem) -> bool:
        # `file` is inbox-relative (the waiver parser resolves a bare name against the
        # waiver file's own quarter), so a name alone never waives another quarter's file.
        same_file = _norm_path(self.file) == _norm_path(problem.file) or (
            self.bare
            and "/" not in _norm_path(problem.file)
            and posixpath.basename(_norm_path(self.file)) == _norm_path(problem.file)
        )
        same_cell = (self.cell or "").upper() == (problem.cell or "").upper()
        return same_file and same_cell and (self.rule is None or self.rule == problem.rule)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "cell": self.cell,
            "rule": self.rule,
            "reason": self.reason,
            "approved_by": self.approved_by,
        }


def _norm_path(p: str) -> str:
    return p.strip().replace("\\", "/").strip("/").lower()


@dataclass(frozen=True)
class Target:
    """One catalogue row, typed. Absent optional values are None."""

    target_id: str
    agreement: str
    theme: str | None
    initiative: str  # Nr., always text: "1.10" is not "1.1"
    title: str
    kind: TargetKind
    description: str
    metric: str | None  # None only for milestones
    unit: Unit
    direction: Direction | None  # None for milestones
    value: float | None  # T (T_min for interval)
    value_max: float | None
    aggregation: Aggregation  # defaulted from the unit
    baseline: float | None
    start: Quarter
    end: Quarter
    due: date | None
    responsible: str | None
    approximate: bool = False
    source: CellRef | None = None

    @property
    def is_milestone(self) -> bool:
        return not unit_spec(Unit(self.unit)).numeric

    @property
    def pooled(self) -> bool:
        """A rate made of `Tæller`/`Nævner` counted with `sum`: pooled over the window, and a
        level for E, pace, forecast and status (CONTRACT §5)."""
        return unit_spec(Unit(self.unit)).ratio and self.aggregation == Aggregation.SUM

    @property
    def window(self) -> list[Quarter]:
        return self.start.until(self.end)


@dataclass(frozen=True)
class Figure:
    """One figure row, typed. Values waived as errors are already None here."""

    initiative: str
    metric: str | None
    quarter: Quarter
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    forecast: float | None = None
    target_id: str | None = None
    reached: date | bool | None = None  # a date, True for "ja" (date unknown), False for "nej"
    comment: str | None = None
    approximate: bool = False
    source: CellRef | None = None

    @property
    def metric_whole(self) -> str | None:
        """`placeret/løntilskud` is a part of `placeret`."""
        return self.metric.split("/", 1)[0].strip() if self.metric else None

    @property
    def is_part(self) -> bool:
        return bool(self.metric and "/" in self.metric)


@dataclass
class SourceFile:
    path: str  # inbox-relative, with `/`
    sha256: str
    size: int


@dataclass
class TargetResult:
    """CONTRACT §5 for one target as of one quarter; `to_json` gives §7's record."""

    target_id: str
    initiative: str
    metric: str | None
    unit: Unit
    direction: Direction | None
    target: float | None
    target_max: float | None
    window: tuple[Quarter, Quarter]
    elapsed: int
    actual: float | None
    expected_to_date: float | None
    fulfilment: float | None
    pace: float | None
    forecast: float | None
    status: Status
    above_range: bool = False
    approximate: bool = False
    due: date | None = None
    reached: date | bool | None = None
    late: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target_id": self.target_id,
            "initiative": self.initiative,
            "metric": self.metric,
            "unit": self.unit,
            "direction": self.direction,
            "target": _num(self.target),
            "target_max": _num(self.target_max),
            "window": [str(self.window[0]), str(self.window[1])],
            "elapsed": self.elapsed,
            "actual": _num(self.actual),
            "expected_to_date": _num(self.expected_to_date),
            "fulfilment": _ratio(self.fulfilment),
            "pace": _ratio(self.pace),
            "forecast": _num(self.forecast),
            "status": self.status,
            "above_range": self.above_range,
            "approximate": self.approximate,
        }
        if not unit_spec(Unit(self.unit)).numeric:
            out["due"] = self.due.isoformat() if self.due else None
            if isinstance(self.reached, date):
                out["reached"] = self.reached.isoformat()
            else:
                out["reached"] = None
            out["reached_undated"] = self.reached is True
            out["late"] = self.late
        return out


def _num(x: float | None) -> float | int | None:
    """Whole numbers as ints (150, not 150.0); others rounded to 4 decimals."""
    if x is None:
        return None
    r = round(float(x), 4)
    return int(r) if r.is_integer() else r


def _ratio(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)
