"""The definitions validation and the arithmetic must share, kept in one place.

Validation decides what is wrong with a row and the arithmetic decides what a row counts
for; if the two read a cell differently, a row can pass validation and still be dropped
from the figures (a `1.4-B` that validation matched to the catalogue's `1.4-b` while the
arithmetic did not). So matching of keys, the default `Opgørelse` and the reading of a
waiver row exist here once, and both sides import them; so do a cell's quarter
(`quarter_of`), a key's shown and compared forms (`cell_key`) and a figure row's cells
typed once (`figure_cells`), from which validation's columns and the Figure both come.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from kvartal.model import CellRef, Waiver
from kvartal.numbers import CellValueError, Parsed, parse_number, parse_reached, parse_text_key
from kvartal.quarters import Quarter, QuarterError
from kvartal.units import Aggregation, Unit, unit_spec

if TYPE_CHECKING:
    from kvartal.tables import SheetFrame

_Word = TypeVar("_Word", bound=str)
_T = TypeVar("_T")  # a catalogue word: one of the enums of kvartal.units

__all__ = [
    "CellKey",
    "FIGURE_CELLS",
    "Feed",
    "FigureCells",
    "TARGET_CELLS",
    "TargetCells",
    "TargetKeys",
    "cell_key",
    "cell_text",
    "figure_cells",
    "figure_rows",
    "feeds",
    "choice",
    "default_aggregation",
    "match_key",
    "quarter_of",
    "target_cells",
    "target_rows",
    "same_key",
    "text_key",
    "waiver_from",
]


def match_key(text: str | None) -> str | None:
    """`Nr.`, `Nøgletal` and `Mål-id` as compared everywhere (CONTRACT §1): case and
    surrounding or repeated spaces do not matter, so `1.4-B ` is the catalogue's `1.4-b`."""
    if text is None:
        return None
    key = " ".join(text.replace("\u00a0", " ").split()).casefold()
    return key or None


def same_key(a: str | None, b: str | None) -> bool:
    """Two keys name the same thing; an absent key matches nothing."""
    ka = match_key(a)
    return ka is not None and ka == match_key(b)


class Feed(Enum):
    """How a figure row feeds a target: as its whole figure, or as one part of it
    (`placeret/løntilskud` of `placeret`, summed only where no whole was given)."""

    WHOLE = "whole"
    PART = "part"


class TargetKeys(Protocol):
    """What matching needs of a target: a typed `Target`, or validation's view of a
    catalogue row that may not type."""

    @property
    def target_id(self) -> str | None: ...
    @property
    def initiative(self) -> str | None: ...
    @property
    def metric(self) -> str | None: ...
    @property
    def is_milestone(self) -> bool: ...


def feeds(
    target: TargetKeys, target_id: str | None, initiative: str | None, metric: str | None
) -> Feed | None:
    """Whether a figure row with these keys feeds `target` (CONTRACT §3), the one matcher
    validation, the arithmetic and the row accounting all use.

    A row naming a `Mål-id` feeds that target alone; a row without one feeds every target
    of its `Nr.` and `Nøgletal`, or of the `Nøgletal` its part belongs to. Milestones are
    fed by `Mål-id` only, as the contract has milestone rows name their target.
    """
    whole = metric.split("/", 1)[0].strip() if metric and "/" in metric else None
    part = whole is not None and same_key(whole, target.metric)
    if target_id is not None:
        if not same_key(target_id, target.target_id):
            return None
        return Feed.PART if part and not target.is_milestone else Feed.WHOLE
    if target.is_milestone or not same_key(initiative, target.initiative):
        return None
    if same_key(metric, target.metric):
        return Feed.WHOLE
    return Feed.PART if part else None


@dataclass(frozen=True)
class CellKey:
    """A key cell read once: `shown` as the report prints it (`1.4-B`), `match` as it is
    compared (`1.4-b`). Both come from the same reading, so validation (which compares)
    and the arithmetic (which also shows) can never disagree on whether a cell is a key."""

    shown: str
    match: str


def cell_key(v: object) -> CellKey | None:
    """A raw `Nr.`/`Nøgletal`/`Mål-id` cell as a key; None when empty. Raises
    `CellValueError` when unreadable (a date Excel made of `1.4`), which validation names."""
    shown = parse_text_key(v)
    match = match_key(shown)
    if shown is None or match is None:
        return None
    return CellKey(shown, match)


def text_key(v: object) -> str | None:
    """A raw cell as a matching key; None when empty or unreadable (validation says why)."""
    try:
        key = cell_key(v)
    except CellValueError:
        return None
    return key.match if key is not None else None


def quarter_of(v: object) -> Quarter | None:
    """A `Kvartal`/`Fra`/`Til` cell as its quarter, the one reading validation, its
    expectations and the arithmetic share (CONTRACT §3/§4): text in an accepted spelling,
    spaces around it ignored; None for anything else (a number or a date cell is no quarter,
    and validation names it), so a row validation accepts is a row the figures count for
    the same quarter."""
    if not isinstance(v, str):
        return None
    try:
        return Quarter.parse(v)
    except QuarterError:
        return None


def cell_text(v: object) -> str | None:
    """A free-text cell (`Kommentar`, `Indsats`) as the spreadsheet shows it; raises
    `CellValueError` for a value that shows as no text (an infinite number)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, str):
        return v.strip() or None
    if isinstance(v, bool):
        return "SAND" if v else "FALSK"  # as the spreadsheet shows it; never a lost row
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return parse_text_key(v)


FIGURE_CELLS = (
    "Nr.",
    "Nøgletal",
    "Mål-id",
    "Kvartal",
    "Værdi",
    "Tæller",
    "Nævner",
    "Forventet",
    "Milepæl nået",
    "Kommentar",
)


@dataclass(frozen=True)
class FigureCells:
    """One figure row's cells, each typed once: validation takes its comparable keys,
    quarter and numbers from here, and the arithmetic its Figure, so the two cannot read
    a cell differently. A cell that does not read is None with its column in `unreadable`
    (validation names it; the arithmetic leaves the row out)."""

    initiative: CellKey | None
    metric: CellKey | None
    target_id: CellKey | None
    quarter: Quarter | None
    value: Parsed | None
    numerator: Parsed | None
    denominator: Parsed | None
    forecast: Parsed | None
    reached: date | bool | None
    comment: str | None
    unreadable: frozenset[str]

    def blanked(self, columns: frozenset[str]) -> FigureCells:
        """The row as typed with `columns` empty: how the arithmetic reads a row whose
        cells an operator waived (the waived value is left out, CONTRACT §6)."""
        return _blanked(self, columns, _FIGURE_FIELDS)


_FIGURE_FIELDS = {
    "Nr.": "initiative",
    "Nøgletal": "metric",
    "Mål-id": "target_id",
    "Kvartal": "quarter",
    "Værdi": "value",
    "Tæller": "numerator",
    "Nævner": "denominator",
    "Forventet": "forecast",
    "Milepæl nået": "reached",
    "Kommentar": "comment",
}

_Cells = TypeVar("_Cells", "FigureCells", "TargetCells")


def _blanked(cells: _Cells, columns: frozenset[str], fields: dict[str, str]) -> _Cells:
    hit = columns & fields.keys()
    if not hit:
        return cells
    empty: dict[str, Any] = {fields[c]: None for c in hit}
    return replace(cells, unreadable=cells.unreadable - hit, **empty)


def _row_values(frame: SheetFrame, columns: tuple[str, ...]) -> list[dict[str, object]]:
    """The frame's rows as the cells `columns` name: a missing column, NaN and a blank
    text are an empty cell."""
    df = frame.df
    data = {
        c: (df[c].tolist() if c in frame.letters and c in df.columns else [None] * len(df))
        for c in columns
    }
    return [
        {c: (v if not _blank(v) else None) for c, v in ((c, data[c][i]) for c in columns)}
        for i in range(len(df))
    ]


def figure_rows(frame: SheetFrame) -> list[FigureCells]:
    """Every row of a figures frame typed once, in the frame's row order; validation's
    columns and the arithmetic's figures are both read from this list."""
    if "figures" not in frame.typed:
        frame.typed["figures"] = [figure_cells(v) for v in _row_values(frame, FIGURE_CELLS)]
    rows: list[FigureCells] = frame.typed["figures"]
    return rows


def target_rows(frame: SheetFrame) -> list[TargetCells]:
    """Every row of a catalogue frame typed once (see `figure_rows`)."""
    if "targets" not in frame.typed:
        frame.typed["targets"] = [target_cells(v) for v in _row_values(frame, TARGET_CELLS)]
    rows: list[TargetCells] = frame.typed["targets"]
    return rows


def figure_cells(values: Mapping[str, object]) -> FigureCells:
    """Type a figure row's cells (`FIGURE_CELLS`; a missing column is an empty cell)."""
    unreadable: set[str] = set()

    def read(column: str, parse: Callable[[object], _T | None]) -> _T | None:
        v = values.get(column)
        try:
            return parse(v)
        except CellValueError:
            unreadable.add(column)
            return None

    quarter_cell = values.get("Kvartal")
    quarter = quarter_of(quarter_cell)
    if quarter is None and quarter_cell is not None and not _blank(quarter_cell):
        unreadable.add("Kvartal")
    reached: date | bool | None = None
    try:
        reached = parse_reached(values.get("Milepæl nået"))
    except CellValueError:
        unreadable.add("Milepæl nået")
    return FigureCells(
        initiative=read("Nr.", cell_key),
        metric=read("Nøgletal", cell_key),
        target_id=read("Mål-id", cell_key),
        quarter=quarter,
        value=read("Værdi", parse_number),
        numerator=read("Tæller", parse_number),
        denominator=read("Nævner", parse_number),
        forecast=read("Forventet", parse_number),
        reached=reached,
        comment=read("Kommentar", cell_text),
        unreadable=frozenset(unreadable),
    )


TARGET_CELLS = (
    "Mål-id",
    "Nr.",
    "Nøgletal",
    "Fra",
    "Til",
    "Målværdi",
    "Målværdi maks.",
    "Basislinje",
)


@dataclass(frozen=True)
class TargetCells:
    """A catalogue row's keys, window and numbers, each typed once: validation's
    catalogue columns and the arithmetic's Target both come from here. A cell that does
    not read is None with its column in `unreadable` (validation names it)."""

    target_id: CellKey | None
    initiative: CellKey | None
    metric: CellKey | None
    start: Quarter | None
    end: Quarter | None
    value: Parsed | None
    value_max: Parsed | None
    baseline: Parsed | None
    unreadable: frozenset[str]

    def blanked(self, columns: frozenset[str]) -> TargetCells:
        """The row as typed with `columns` empty (waived catalogue cells)."""
        return _blanked(self, columns, _TARGET_FIELDS)


_TARGET_FIELDS = {
    "Mål-id": "target_id",
    "Nr.": "initiative",
    "Nøgletal": "metric",
    "Fra": "start",
    "Til": "end",
    "Målværdi": "value",
    "Målværdi maks.": "value_max",
    "Basislinje": "baseline",
}


def target_cells(values: Mapping[str, object]) -> TargetCells:
    """Type a catalogue row's `TARGET_CELLS` (a missing column is an empty cell)."""
    unreadable: set[str] = set()

    def read(column: str, parse: Callable[[object], _T | None]) -> _T | None:
        try:
            return parse(values.get(column))
        except CellValueError:
            unreadable.add(column)
            return None

    def window(column: str) -> Quarter | None:
        v = values.get(column)
        found = quarter_of(v)
        if found is None and v is not None and not _blank(v):
            unreadable.add(column)
        return found

    return TargetCells(
        target_id=read("Mål-id", cell_key),
        initiative=read("Nr.", cell_key),
        metric=read("Nøgletal", cell_key),
        start=window("Fra"),
        end=window("Til"),
        value=read("Målværdi", parse_number),
        value_max=read("Målværdi maks.", parse_number),
        baseline=read("Basislinje", parse_number),
        unreadable=frozenset(unreadable),
    )


def _blank(v: object) -> bool:
    return (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def choice(v: object, allowed: Iterable[_Word]) -> _Word | None:
    """A catalogue word (`Enhed`, `Retning`, `Måltype`, `Opgørelse`) as the allowed option
    it names, compared as headers are (case, spaces and a trailing full stop ignored:
    `Pct` is `pct.`); None when empty or not one of them (validation names the cell)."""
    if not isinstance(v, str):
        return None
    wanted = _word(v)
    return next((option for option in allowed if _word(option) == wanted), None) if wanted else None


def _word(text: str) -> str:
    s = " ".join(text.replace("\u00a0", " ").split()).casefold()
    return s[:-1].rstrip() if s.endswith(".") else s


def default_aggregation(unit: str | None) -> Aggregation | None:
    """`Opgørelse` when the catalogue leaves it empty, from the unit's table entry
    (`kvartal.units.unit_spec`, CONTRACT §2); None for a word that names no unit, which
    validation reports (`ukendt_enhed`): an unknown unit is never counted as a sum."""
    known = Unit.of(match_key(unit))
    return unit_spec(known).default_aggregation if known is not None else None


def _text(v: object) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    text = str(v).strip()
    return text or None


def waiver_from(
    values: Mapping[str, object], waiver_file: str, source: CellRef | None = None
) -> Waiver | None:
    """One `afvigelser.csv` row as a Waiver; None when it lacks a file, reason or approver
    (validation reports that row as `afvigelse_ufuldstaendig`, and it waives nothing).

    `Fil` is relative to the inbox (`2009Q2/centret.csv`); a bare file name is a file of the
    quarter the waiver file sits in, so `centret.csv` in `2009Q3/afvigelser.csv` never
    waives a problem of `2009Q2/centret.csv`. A name ending in `/` is a folder of the
    inbox (`gammelt/`), for the problems that name a folder. A bare name also names a file
    of that name lying directly in the inbox (`løs.csv`), as that file's problem names it.
    """
    file = _text(values.get("Fil"))
    reason = _text(values.get("Begrundelse"))
    approved_by = _text(values.get("Godkendt af"))
    if not (file and reason and approved_by):
        return None
    folder_named = file.replace("\\", "/").strip().endswith("/")
    file = file.replace("\\", "/").strip("/")
    bare = not folder_named and "/" not in file
    if folder_named:
        file += "/"  # a folder of the inbox (`gammelt/`), as written
    elif bare:
        folder = posixpath.dirname(waiver_file.replace("\\", "/"))
        file = f"{folder}/{file}" if folder else file
    cell = _text(values.get("Celle"))
    rule = _text(values.get("Regel"))
    return Waiver(
        file=file,
        cell=cell.replace("$", "").replace(" ", "").upper() if cell else None,
        rule=rule.lower() if rule else None,
        reason=reason,
        approved_by=approved_by,
        source=source,
        bare=bare,
    )
