"""The tables the expectation suites run over, with the columns GX cannot compute itself.

GX checks one row at a time (or a few columns of one row), so everything that needs the
catalogue, another file or the previous quarter is worked out here in pandas first: the
unit of the target a figure row serves, whether the parts of a metric add up, last
quarter's value. Each such fact becomes a column whose name starts with `_`; the suites
in `expectations/` then judge those columns, and every finding still comes back with the
row it belongs to. Columns that hold a check's verdict ("flags") are True (fine), False
(a finding) or None (the rule does not apply to the row).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from kvartal.model import (
    AGGREGATIONS,
    CATALOGUE_COLUMNS,
    CATALOGUE_REQUIRED,
    DIRECTIONS,
    FIGURE_COLUMNS,
    FIGURE_REQUIRED,
    TARGET_KINDS,
    UNITS,
    WAIVER_COLUMNS,
)
from kvartal.numbers import CellValueError, Parsed, parse_reached
from kvartal.quarters import Quarter
from kvartal.typed import (
    CellKey,
    Feed,
    choice,
    default_aggregation,
    feeds,
    figure_rows,
    match_key,
    target_rows,
    text_key,
)
from kvartal.units import Aggregation, Direction, Unit, UnitSpec, percentage, spec_of, unit_spec

if TYPE_CHECKING:
    from kvartal.tables import SheetFrame

WAIVER_REQUIRED = ["Fil", "Celle", "Begrundelse", "Godkendt af"]
LINEAGE = ["_i", "_file", "_sheet", "_row"]


def norm(v: object) -> str | None:
    """Words compared the way people mean them: case and spacing do not matter."""
    return match_key(v) if isinstance(v, str) else None


VALUE_SETS: dict[str, list[str]] = {
    "units": [u.casefold() for u in UNITS],
    "directions": [d.casefold() for d in DIRECTIONS],
    "kinds": [k.casefold() for k in TARGET_KINDS],
    "aggregations": [a.casefold() for a in AGGREGATIONS],
}


def key(v: object) -> str | None:
    """`Nr.`/`Nøgletal`/`Mål-id` as a comparable key; None when empty or unreadable."""
    return text_key(v)


def present(v: object) -> bool:
    if v is None:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    return not (isinstance(v, str) and not v.strip())


@dataclass
class Table:
    """One kind of input, every file concatenated; `_i` is the row's position in `df`."""

    kind: str
    df: pd.DataFrame
    frames: dict[str, SheetFrame] = field(default_factory=dict)  # by file
    extras: dict[int, dict[str, Any]] = field(default_factory=dict)  # message context by _i
    parts: list[SheetFrame] = field(default_factory=list)  # in the order of `df`'s rows

    def frame(self, file: str) -> SheetFrame | None:
        return self.frames.get(file)


def concat(kind: str, frames: Iterable[SheetFrame], columns: list[str]) -> Table:
    """Stack the files so each suite runs once; every canonical column exists afterwards."""
    parts = []
    by_file: dict[str, SheetFrame] = {}
    stacked = list(frames)
    for frame in stacked:
        by_file[frame.file] = frame
        df = frame.df.reset_index(drop=True).copy()
        if "_file" not in df:
            df["_file"] = frame.file
        if "_sheet" not in df:
            df["_sheet"] = frame.sheet
        parts.append(df)
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    for column in [*columns, "_file", "_sheet", "_row"]:
        if column not in df:
            df[column] = None
    df = df.astype(object)
    for column in columns:
        df[column] = [v if present(v) else None for v in df[column]]
    df["_i"] = range(len(df))
    df.index = pd.RangeIndex(len(df))
    return Table(kind, df, by_file, parts=stacked)


# ---------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class TargetInfo:
    """What a figure row needs to know about the target(s) it serves."""

    target_id: str | None
    initiative: str | None
    metric: str | None
    unit: Unit | None  # None: a word that names no unit (`ukendt_enhed`)
    aggregation: Aggregation | None  # None: no `Opgørelse` and no unit to default from
    start: Quarter | None
    end: Quarter | None

    @property
    def spec(self) -> UnitSpec | None:
        return unit_spec(self.unit) if self.unit is not None else None

    @property
    def is_milestone(self) -> bool:
        spec = self.spec
        return spec is not None and not spec.numeric


def _flag(applies: bool, ok: bool) -> bool | None:
    return bool(ok) if applies else None


def catalogue_table(frames: Iterable[SheetFrame]) -> tuple[Table, list[TargetInfo]]:
    table = concat("catalogue", frames, CATALOGUE_COLUMNS)
    df = table.df
    # Each row's keys, window and numbers as typed once for the arithmetic's targets too
    # (`kvartal.typed.target_rows`).
    cells = [c for frame in table.parts for c in target_rows(frame)]
    df["_target_id"] = [_match(c.target_id) for c in cells]
    # The option the arithmetic will read (kvartal.typed.choice), or the word as written
    # when it names none, which the suite then reports.
    choices = [
        ("_unit", "Enhed", UNITS),
        ("_direction", "Retning", DIRECTIONS),
        ("_kind", "Måltype", TARGET_KINDS),
        ("_aggregation", "Opgørelse", AGGREGATIONS),
    ]
    for column, source, allowed in choices:
        df[column] = [match_key(choice(v, allowed)) or norm(v) for v in df[source]]
    milestone = [_is_milestone(u) for u in df["_unit"]]
    df["_metric_ok"] = [
        _flag(not m, present(v)) for m, v in zip(milestone, df["Nøgletal"], strict=True)
    ]
    df["_direction_ok"] = [
        _flag(not m, present(v)) for m, v in zip(milestone, df["Retning"], strict=True)
    ]
    df["_value_ok"] = [
        _flag(not m, present(v)) for m, v in zip(milestone, df["Målværdi"], strict=True)
    ]
    df["_due_ok"] = [_flag(m, present(v)) for m, v in zip(milestone, df["Frist"], strict=True)]
    starts = [c.start for c in cells]
    ends = [c.end for c in cells]
    df["_from_ord"] = [float(q.ordinal) if q else math.nan for q in starts]
    df["_to_ord"] = [float(q.ordinal) if q else math.nan for q in ends]
    interval = [d == Direction.RANGE for d in df["_direction"]]
    df["_target_min"] = [
        _value(c.value) if i else math.nan for i, c in zip(interval, cells, strict=True)
    ]
    df["_target_max"] = [
        _value(c.value_max) if i else math.nan for i, c in zip(interval, cells, strict=True)
    ]
    df["_interval_max_ok"] = [
        _flag(i, present(v)) for i, v in zip(interval, df["Målværdi maks."], strict=True)
    ]
    for column in ("_from_ord", "_to_ord", "_target_min", "_target_max"):
        df[column] = df[column].astype(float)

    targets = []
    for i in range(len(df)):
        unit = Unit.of(df.at[i, "_unit"])
        word = df.at[i, "_aggregation"]
        aggregation = Aggregation(word) if word in AGGREGATIONS else default_aggregation(unit)
        targets.append(
            TargetInfo(
                target_id=df.at[i, "_target_id"],
                initiative=_match(cells[i].initiative),
                metric=_match(cells[i].metric),
                unit=unit,
                aggregation=aggregation,
                start=starts[i],
                end=ends[i],
            )
        )
    # CONTRACT §4: a baseline is where a `seneste` level starts from; on a sum (a pooled
    # rate included) it means nothing, and equal to the target it leaves no way to go.
    baseline_ok: list[bool | None] = []
    baseline_why: list[str | None] = []
    for i, t in enumerate(targets):
        b = df.at[i, "Basislinje"]
        if not present(b) or t.is_milestone:
            baseline_ok.append(None)
            baseline_why.append(None)
        elif t.aggregation != Aggregation.LATEST:
            baseline_ok.append(False)
            baseline_why.append("pulje" if t.spec is not None and t.spec.ratio else "sum")
        else:
            equal = _value(cells[i].baseline) == _value(cells[i].value)
            baseline_ok.append(not equal)
            baseline_why.append("lig" if equal else None)
    df["_baseline_ok"] = baseline_ok
    df["_baseline_why"] = baseline_why
    return table, targets


def known_keys(targets: list[TargetInfo]) -> list[str]:
    return sorted({f"{t.initiative}|{t.metric}" for t in targets if t.initiative and t.metric})


def known_ids(targets: list[TargetInfo]) -> list[str]:
    return sorted({t.target_id for t in targets if t.target_id})


def reached_before(figures: dict[Quarter, list[SheetFrame]], quarter: Quarter) -> set[str]:
    """Milestones an earlier quarter reported reached: they need no figure any more."""
    out: set[str] = set()
    for q, frames in figures.items():
        if q >= quarter:
            continue
        for frame in frames:
            if "Mål-id" not in frame.df or "Milepæl nået" not in frame.df:
                continue
            for target_id, reached in zip(
                frame.df["Mål-id"], frame.df["Milepæl nået"], strict=True
            ):
                try:
                    tid, when = key(target_id), parse_reached(reached)
                except CellValueError:
                    continue  # that quarter's own validation names the cell
                if tid and when not in (None, False):
                    out.add(tid)
    return out


def mark_coverage(
    catalogue: Table,
    targets: list[TargetInfo],
    figures: Table,
    quarter: Quarter,
    settled: frozenset[str] | set[str] = frozenset(),
) -> None:
    """`_has_figure`: does any row of the quarter serve this active target?

    A milestone reached in an earlier quarter (`settled`) counts as served.
    """
    fig = figures.df
    rows_by_id: dict[str, list[tuple[str | None, str | None, str | None]]] = defaultdict(list)
    rows_by_nr: dict[str, list[tuple[str | None, str | None, str | None]]] = defaultdict(list)
    for nr, metric, tid in zip(fig["_nr"], fig["_metric"], fig["_target_id"], strict=True):
        if tid:
            rows_by_id[tid].append((tid, nr, metric))
        elif nr:
            rows_by_nr[nr].append((tid, nr, metric))
    flags: list[bool | None] = []
    for t in targets:
        active = t.start is not None and t.end is not None and t.start <= quarter <= t.end
        if not active or not (t.target_id or t.initiative):
            flags.append(None)
            continue
        rows = rows_by_id.get(t.target_id or "", []) + rows_by_nr.get(t.initiative or "", [])
        flags.append(
            bool(t.target_id and t.target_id in settled)
            or any(feeds(t, tid, nr, metric) is not None for tid, nr, metric in rows)
        )
    catalogue.df["_has_figure"] = flags


# ------------------------------------------------------------------------------ figures


def _serves(
    targets: list[TargetInfo],
) -> Callable[[str | None, str | None, str | None], list[TargetInfo]]:
    """The targets a figure row feeds (`kvartal.typed.feeds`, as the arithmetic matches),
    the ones it feeds whole before those it feeds a part of: a part's unit is its whole's
    unless the catalogue has a target for the part itself."""
    by_id: dict[str, list[TargetInfo]] = defaultdict(list)
    by_nr: dict[str, list[TargetInfo]] = defaultdict(list)
    for t in targets:
        if t.target_id:
            by_id[t.target_id].append(t)
        if t.initiative:
            by_nr[t.initiative].append(t)

    def find(nr: str | None, metric: str | None, target_id: str | None) -> list[TargetInfo]:
        candidates = by_id.get(target_id, []) if target_id else by_nr.get(nr or "", [])
        fed = [(t, feeds(t, target_id, nr, metric)) for t in candidates]
        wholes = [t for t, how in fed if how is Feed.WHOLE]
        return wholes or [t for t, how in fed if how is Feed.PART]

    return find


def _is_milestone(unit: object) -> bool:
    spec = spec_of(unit)
    return spec is not None and not spec.numeric


def _percent(t: float, n: float) -> float:
    """100 × Tæller / Nævner as the arithmetic makes it (`kvartal.units.percentage`), NaN
    when it makes none."""
    rate = percentage(t, n)
    return math.nan if rate is None else float(rate)


def _effective(v: float, t: float, n: float) -> float:
    """The figure's value: `Værdi`, or the percentage from `Tæller`/`Nævner`."""
    return v if not math.isnan(v) else _percent(t, n)


def _keys(table: Table) -> None:
    # Each row as typed once for the arithmetic's figures too (`kvartal.typed.figure_rows`),
    # so what is judged here is what will be counted.
    df = table.df
    rows = [c for frame in table.parts for c in figure_rows(frame)]
    df["_nr"] = [_match(c.initiative) for c in rows]
    df["_metric"] = [_match(c.metric) for c in rows]
    df["_whole"] = [m.split("/", 1)[0].strip() if m else None for m in df["_metric"]]
    df["_target_id"] = [_match(c.target_id) for c in rows]
    df["_quarter"] = [str(c.quarter) if c.quarter else None for c in rows]
    for column, numbers in [
        ("_v", [c.value for c in rows]),
        ("_t", [c.numerator for c in rows]),
        ("_n", [c.denominator for c in rows]),
    ]:
        df[column] = pd.Series(
            [p.value if p is not None else math.nan for p in numbers], index=df.index, dtype=float
        )


def _match(found: CellKey | None) -> str | None:
    return found.match if found is not None else None


def _value(found: Parsed | None) -> float:
    return found.value if found is not None else math.nan


def figures_table(
    frames: Iterable[SheetFrame],
    targets: list[TargetInfo],
    previous: Iterable[SheetFrame],
    quarter: Quarter,
) -> Table:
    table = concat("figures", frames, FIGURE_COLUMNS)
    df = table.df
    _keys(table)
    known = set(known_keys(targets))
    keys: list[str | None] = []
    for nr, metric, whole in zip(df["_nr"], df["_metric"], df["_whole"], strict=True):
        if not (nr and metric):
            keys.append(None)
        elif f"{nr}|{metric}" in known:
            keys.append(f"{nr}|{metric}")
        else:
            keys.append(f"{nr}|{whole}")
    df["_key"] = keys

    find = _serves(targets)
    units: list[Unit | None] = []
    aggregations: list[Aggregation | None] = []
    milestone_rows: list[bool] = []
    for nr, metric, tid, reached in zip(
        df["_nr"], df["_metric"], df["_target_id"], df["Milepæl nået"], strict=True
    ):
        served = find(nr, metric, tid)
        unit_set = {t.unit for t in served}
        agg_set = {t.aggregation for t in served}
        units.append(unit_set.pop() if len(unit_set) == 1 else None)
        aggregations.append(agg_set.pop() if len(agg_set) == 1 else None)
        milestone_rows.append(present(reached) or any(t.is_milestone for t in served))
    df["_unit"] = units
    df["_aggregation"] = aggregations

    df["_metric_ok"] = [
        _flag(not m, present(v)) for m, v in zip(milestone_rows, df["Nøgletal"], strict=True)
    ]
    df["_value_ok"] = [
        _flag(not m, present(v) or (present(t) and present(n)))
        for m, v, t, n in zip(milestone_rows, df["Værdi"], df["Tæller"], df["Nævner"], strict=True)
    ]
    # A pooled rate (pct. counted with sum) pools Tæller and Nævner, so a row of one gives
    # nothing to pool without them, whatever its Værdi says (CONTRACT §4).
    # (A row with no number at all is `_value_ok`'s finding, not this one's.)
    df["_pooled_ok"] = [
        _flag(not m and _pooled(u, a) and present(v), present(t) and present(n))
        for m, u, a, v, t, n in zip(
            milestone_rows,
            units,
            aggregations,
            df["Værdi"],
            df["Tæller"],
            df["Nævner"],
            strict=True,
        )
    ]
    # A milestone row names its milestone by Mål-id (CONTRACT §3); one with neither Mål-id
    # nor Nøgletal serves no target at all.
    df["_milestone_id_ok"] = [
        _flag(present(reached) and not present(metric), present(tid))
        for reached, metric, tid in zip(
            df["Milepæl nået"], df["Nøgletal"], df["Mål-id"], strict=True
        )
    ]
    # `negativ_antal` judges the units that may not be negative and have no range of their
    # own; `procent_uden_for_0_100` the units with a largest value.
    specs = [spec_of(u) for u in units]
    df["_count_v"] = [
        v if s is not None and not s.negatives and s.upper is None else math.nan
        for v, s in zip(df["_v"], specs, strict=True)
    ]
    df["_pct_v"] = [
        v if s is not None and s.upper is not None else math.nan
        for v, s in zip(df["_v"], specs, strict=True)
    ]
    df["_ratio_gap"] = [
        abs(v - _percent(t, n)) for v, t, n in zip(df["_v"], df["_t"], df["_n"], strict=True)
    ]
    df["_dup_metric"] = [
        m if m else ("" if tid else None)
        for m, tid in zip(df["_metric"], df["_target_id"], strict=True)
    ]
    # A row naming a Mål-id feeds that target alone; its Nr. and Nøgletal must be the
    # target's, or the figure would be counted where the centre did not mean it.
    by_id = {t.target_id: t for t in targets if t.target_id}
    agrees: list[bool | None] = []
    keys_of: list[str | None] = []
    for nr, m, whole, tid in zip(
        df["_nr"], df["_metric"], df["_whole"], df["_target_id"], strict=True
    ):
        t = by_id.get(tid) if tid else None
        if t is None or not (nr or m):
            agrees.append(None)
            keys_of.append(None)
            continue
        same_nr = not nr or nr == t.initiative
        same_metric = not m or t.is_milestone or t.metric in (m, whole)
        agrees.append(same_nr and same_metric)
        keys_of.append(f"Nr. »{t.initiative}«" + (f" og Nøgletal »{t.metric}«" if t.metric else ""))
    df["_id_agrees"] = agrees
    # A milestone reached after the quarter's end: the arithmetic counts the date (a centre
    # delivering in the days after the quarter knows of it), but a date later than that may
    # be a slip or a plan, so the operator is told.
    rows = [c for frame in table.parts for c in figure_rows(frame)]
    df["_reached_in_time"] = [
        c.reached <= quarter.last_day
        if isinstance(c.reached, date) and c.quarter == quarter
        else None
        for c in rows
    ]
    df["_id_keys"] = keys_of
    # Rows of one Nr.+Nøgletal+Kvartal are told apart by their Mål-id only when every one
    # of them names its target: a row without one feeds each target of that pair (CONTRACT
    # §3), so a row naming one of those targets (a known one, with its Nr. and Nøgletal)
    # reports the same figure twice.
    general = {
        (nr, m, q)
        for nr, m, q, tid in zip(
            df["_nr"], df["_metric"], df["_quarter"], df["_target_id"], strict=True
        )
        if not tid
    }
    df["_dup_target"] = [
        "" if not tid or ((nr, m, q) in general and ok) else tid
        for nr, m, q, tid, ok in zip(
            df["_nr"], df["_metric"], df["_quarter"], df["_target_id"], agrees, strict=True
        )
    ]

    _parts(table)
    _previous(table, previous, quarter)
    for column in (
        "_count_v",
        "_pct_v",
        "_ratio_gap",
        "_whole_v",
        "_parts_sum",
        "_prev_seneste",
        "_prev_x10",
    ):
        df[column] = df[column].astype(float)
    return table


def _pooled(unit: str | None, aggregation: str | None) -> bool:
    """A rate of `Tæller`/`Nævner` counted with `sum` (CONTRACT §4), as `Target.pooled`."""
    spec = spec_of(unit)
    return spec is not None and spec.ratio and aggregation == Aggregation.SUM


def _group(df: pd.DataFrame, i: int) -> tuple[Any, ...]:
    return (df.at[i, "_nr"], df.at[i, "_whole"], df.at[i, "_quarter"], df.at[i, "_target_id"] or "")


def _parts(table: Table) -> None:
    """Where a quarter has the whole and its parts, put both sums on the whole's row."""
    df = table.df
    parts: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i in range(len(df)):
        metric = df.at[i, "_metric"]
        if metric and "/" in metric and df.at[i, "_nr"]:
            parts[_group(df, i)].append(i)
    whole_v = [math.nan] * len(df)
    parts_sum = [math.nan] * len(df)
    for i in range(len(df)):
        metric, v = df.at[i, "_metric"], df.at[i, "_v"]
        if not metric or "/" in metric or math.isnan(v):
            continue
        members = parts.get(_group(df, i))
        if not members:
            continue
        values = [df.at[j, "_v"] for j in members]
        if any(math.isnan(x) for x in values):
            continue  # a part that is not a number is its own finding
        whole_v[i] = round(v, 6)
        parts_sum[i] = round(sum(values), 6)
        table.extras.setdefault(i, {})["parts"] = [
            (df.at[j, "Nøgletal"], df.at[j, "Værdi"]) for j in members
        ]
    df["_whole_v"] = whole_v
    df["_parts_sum"] = parts_sum


def _previous(table: Table, previous: Iterable[SheetFrame], quarter: Quarter) -> None:
    """Last quarter's figure for the same row, for the warnings that compare quarters."""
    df = table.df
    prev_q = quarter - 1
    previous_table = concat("previous", previous, FIGURE_COLUMNS)
    _keys(previous_table)
    before = previous_table.df
    last: dict[tuple[Any, ...], float] = {}
    for i in range(len(before)):
        value = _effective(before.at[i, "_v"], before.at[i, "_t"], before.at[i, "_n"])
        row_key = (before.at[i, "_nr"], before.at[i, "_metric"], before.at[i, "_target_id"])
        if row_key[0] and (row_key[1] or row_key[2]) and not math.isnan(value):
            last.setdefault(row_key, value)
    seneste = [math.nan] * len(df)
    times_ten = [math.nan] * len(df)
    for i in range(len(df)):
        prev = last.get((df.at[i, "_nr"], df.at[i, "_metric"], df.at[i, "_target_id"]))
        v = df.at[i, "_v"]
        if prev is None or math.isnan(v):
            continue
        table.extras.setdefault(i, {}).update(previous=prev, previous_quarter=prev_q)
        spec = spec_of(df.at[i, "_unit"])
        if df.at[i, "_aggregation"] == Aggregation.LATEST and spec is not None and spec.whole:
            seneste[i] = prev
        if prev > 0:
            times_ten[i] = 10 * prev
    df["_prev_seneste"] = seneste
    df["_prev_x10"] = times_ten


# ------------------------------------------------------------------------ headers/waivers


def headers_table(frames: Iterable[tuple[str, SheetFrame]]) -> Table:
    """One row per file and required header; `_present` is False where the file lacks it."""
    required = {
        "catalogue": CATALOGUE_REQUIRED,
        "figures": FIGURE_REQUIRED,
        "waivers": WAIVER_REQUIRED,
    }
    rows = []
    by_file: dict[str, SheetFrame] = {}
    for kind, frame in frames:
        by_file[frame.file] = frame
        have = set(frame.letters)
        if kind == "figures" and {"Tæller", "Nævner"} <= have:
            have.add("Værdi")  # Værdi is required unless Tæller/Nævner are given
        if kind == "figures" and {"Mål-id", "Milepæl nået"} <= have:
            # A file of milestone rows only: they need neither Nøgletal nor Værdi (§3).
            reached = frame.df["Milepæl nået"].tolist() if "Milepæl nået" in frame.df else []
            if reached and all(present(v) for v in reached):
                have |= {"Nøgletal", "Værdi"}
        for column in required[kind]:
            rows.append(
                {
                    "_file": frame.file,
                    "_sheet": frame.sheet,
                    "_row": getattr(frame, "header_row", 1),
                    "_column": column,
                    "_present": column in have,
                }
            )
    df = pd.DataFrame(rows, columns=["_file", "_sheet", "_row", "_column", "_present"])
    df = df.astype(object)
    df["_i"] = range(len(df))
    return Table("headers", df, by_file)


def waivers_table(frame: SheetFrame | None) -> Table:
    return concat("waivers", [frame] if frame is not None else [], WAIVER_COLUMNS)
