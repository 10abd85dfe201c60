"""Every row read is accounted for: it feeds a target, or a problem names it.

Validation and the typed records are two readings of the same rows. Where they disagree, a
row can pass validation and still never reach the arithmetic, and the report is wrong with
nobody told (CONTRACT §4: "No row of a file read may vanish without a word"). This check
makes such a silent drop impossible rather than untested: the flow runs it before
publishing, and a row that neither feeds a catalogue target nor is named by a problem stops
the run with the row named.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from kvartal.model import ERROR, Figure, Problem, Target
from kvartal.quarters import Quarter
from kvartal.readers import SEVERITY as READER_RULES
from kvartal.tables import SheetFrame
from kvartal.typed import feeds, match_key

__all__ = [
    "Accounting",
    "UnaccountedColumns",
    "UnaccountedRows",
    "account",
    "check_accounting",
    "left_out",
]

Row = tuple[str, int]  # (inbox-relative file, 1-based sheet row)
Column = tuple[str, str | None, str, str]  # (file, sheet, header text, column letter)

# Problems that leave part of the inbox unread, by what they leave out. A whole-file error
# of a reader (an unreadable file) leaves out the file.
FOLDER_RULES = frozenset({"ukendt_mappe", "dobbelt_kvartalsmappe", "kvartalsmappe_mangler"})
FILE_RULES = frozenset({"fil_ignoreret", "xls_fil", "fil_uden_mappe"})
COLUMN_RULES = frozenset(
    {"kolonne_stavet", "dublet_kolonne", "kolonne_uden_overskrift", "ubrugt_kolonne"}
)
ROW_RULES = frozenset({"csv_felter"})
# A sheet of a workbook that is not read: the problem names that sheet, not the file's rows.
SHEET_RULES = frozenset({"ark_ikke_laest", "ark_med_data_ikke_laest"})


@dataclass
class Accounting:
    rows_read: int = 0
    rows_used: int = 0
    rows_with_problems: int = 0
    unaccounted: list[tuple[str, str | None, int]] = field(default_factory=list)
    unaccounted_columns: list[Column] = field(default_factory=list)
    # What of the inbox was not read, and why: for the manifest.
    left_out: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """For the manifest: how many rows were read, used, and named by a problem."""
        return {
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_with_problems": self.rows_with_problems,
        }


class UnaccountedColumns(RuntimeError):
    """Columns of a sheet read that are neither contract columns nor named by a problem."""

    def __init__(self, columns: list[Column]) -> None:
        self.columns = columns
        listed = "; ".join(
            f"{file}{':' + sheet if sheet else ''} kolonne {letter} »{text}«"
            for file, sheet, text, letter in columns[:50]
        )
        super().__init__(
            f"{len(columns)} kolonner er hverken læst eller nævnt i et fund, så de ville "
            f"blive udeladt uden et ord; intet er udgivet: {listed}"
        )


class UnaccountedRows(RuntimeError):
    """Rows that vanished without a word: a fault in kvartal, not in the centres' files."""

    def __init__(self, rows: list[tuple[str, str | None, int]]) -> None:
        self.rows = rows
        listed = "; ".join(
            f"{file}{':' + sheet if sheet else ''} række {row}" for file, sheet, row in rows[:50]
        )
        more = f" (og {len(rows) - 50} flere)" if len(rows) > 50 else ""
        super().__init__(
            f"{len(rows)} rækker er hverken brugt i et mål eller nævnt i et fund, så de ville "
            f"forsvinde uden et ord; intet er udgivet: {listed}{more}"
        )


def _feeds(figure: Figure, target: Target) -> bool:
    """Whether a figure row serves a target, by the one matcher (`kvartal.typed.feeds`).

    The window is not asked: a row for a target reported in another quarter is still that
    target's row, not a lost one.
    """
    return feeds(target, figure.target_id, figure.initiative, figure.metric) is not None


def account(
    catalogue: Iterable[SheetFrame],
    figure_frames: dict[Quarter, list[SheetFrame]],
    targets: list[Target],
    figures: list[Figure],
    problems: Iterable[Problem],
    *,
    strict: bool = False,
) -> Accounting:
    """Sort every data row of the catalogue and of every quarter read into used, named by
    a problem, or unaccounted; `strict` raises instead of returning anything unaccounted."""
    frames = list(catalogue) + [f for q in sorted(figure_frames) for f in figure_frames[q]]
    read: dict[Row, str | None] = {}
    for frame in frames:
        for row in frame.df["_row"].tolist():
            read[(_file(frame.file), int(row))] = frame.sheet

    used: set[Row] = {
        _row_of(t.source.file, t.source.row)
        for t in targets
        if t.source is not None and t.source.row is not None
    }
    by_initiative: dict[str | None, list[Target]] = {}
    by_id: dict[str | None, list[Target]] = {}
    for t in targets:
        by_initiative.setdefault(match_key(t.initiative), []).append(t)
        by_id.setdefault(match_key(t.target_id), []).append(t)
    for f in figures:
        if f.source is None or f.source.row is None:
            continue
        candidates = (
            by_id.get(match_key(f.target_id), [])
            if f.target_id is not None
            else by_initiative.get(match_key(f.initiative), [])
        )
        if any(_feeds(f, t) for t in candidates):
            used.add(_row_of(f.source.file, f.source.row))

    named: set[Row] = set()
    whole_files: set[str] = set()
    for p in problems:
        if p.cell is None:
            # A whole-file error (a missing column, say) names every row of the file; a
            # sheet not read names none of the rows of the sheet that is.
            if p.severity == ERROR and p.rule not in SHEET_RULES:
                whole_files.add(_file(p.file))
        elif p.row is not None:
            named.add(_row_of(p.file, p.row))
    named |= {r for r in read if r[0] in whole_files}
    problems = list(problems)

    result = Accounting(
        unaccounted_columns=_unnamed_columns(frames, problems),
        left_out=left_out(problems),
        rows_read=len(read),
        rows_used=len(used & read.keys()),
        rows_with_problems=len(named & read.keys()),
        unaccounted=[
            (file, read[(file, row)], row)
            for file, row in sorted(read)
            if (file, row) not in used and (file, row) not in named
        ],
    )
    return _checked(result) if strict else result


def _checked(result: Accounting) -> Accounting:
    if result.unaccounted:
        raise UnaccountedRows(result.unaccounted)
    if result.unaccounted_columns:
        raise UnaccountedColumns(result.unaccounted_columns)
    return result


# `account`, raising `UnaccountedRows` when any row would vanish (`UnaccountedColumns` for
# a column): the run's guard before anything is published.
check_accounting = partial(account, strict=True)


def left_out(problems: Iterable[Problem]) -> list[dict[str, Any]]:
    """Every folder, file, column and row of the inbox not read, with the problem saying
    why, in the order of the problems."""
    out = []
    for p in problems:
        if p.rule in FOLDER_RULES:
            what = "mappe"
        elif p.rule in SHEET_RULES:
            what = "ark"
        elif p.rule in FILE_RULES or (p.cell is None and p.rule in READER_RULES):
            what = "fil"
        elif p.rule in COLUMN_RULES:
            what = "kolonne"
        elif p.rule in ROW_RULES:
            what = "række"
        else:
            continue
        if what == "fil" and p.severity != ERROR:
            continue  # a hidden sheet, say: the file is read
        out.append(
            {
                "what": what,
                "file": p.file,
                "sheet": p.sheet,
                "cell": p.cell,
                "rule": p.rule,
                "severity": p.severity,
                "value": p.value,
                "why": p.message,
            }
        )
    return out


def _unnamed_columns(frames: list[SheetFrame], problems: list[Problem]) -> list[Column]:
    named: dict[str, list[Problem]] = {}
    for p in problems:
        if p.rule in COLUMN_RULES:
            named.setdefault(_file(p.file), []).append(p)
    out: list[Column] = []
    for frame in frames:
        mine = named.get(_file(frame.file), [])
        columns = (
            [(text, letter) for text, letter, _ in frame.misspelled]
            + [(text, letter) for text, letter, _ in frame.duplicates]
            + list(frame.unused)
            + [("", letter) for letter, _ in frame.nameless]
        )
        for text, letter in columns:
            cell = f"{letter}{frame.header_row}"
            if not any(p.cell == cell or f"({letter})" in (p.value or "") for p in mine):
                out.append((_file(frame.file), frame.sheet, text, letter))
    return out


def _file(file: str) -> str:
    return file.replace("\\", "/").strip("/")


def _row_of(file: str, row: int) -> Row:
    return (_file(file), int(row))
