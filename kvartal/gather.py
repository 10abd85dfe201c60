"""Which inbox files a quarter needs, read into raw sheets with their lineage.

The catalogue is read first because its windows decide how far back the figures must be
read: a target running 2013Q1-2015Q4 needs every quarter folder since 2013Q1. The quarter
before the report quarter is always read too, for the warnings that compare quarters.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass, field

from kvartal.model import ERROR, WARNING, Problem, Severity, SourceFile
from kvartal.quarters import Quarter, QuarterError
from kvartal.readers import Limits, RawSheet, ReadError, read_sheet
from kvartal.storage import Storage

ACCEPTED = (".xlsx", ".xlsm", ".ods", ".csv")
WAIVER_FILE = "afvigelser.csv"
# The centres' contacts (CONTRACT §9) may sit beside the catalogue; they are not targets.
CONTACTS_FILE = "targets/centre.csv"


# The rules gather itself reports (the readers' own are in `kvartal.readers.SEVERITY`).
RULES: dict[str, str] = {
    "katalog_mangler": ERROR,
    "kvartal_mangler": ERROR,
    "fil_ignoreret": WARNING,
}


@dataclass
class Inputs:
    quarter: Quarter
    sources: list[SourceFile] = field(default_factory=list)
    catalogue: list[RawSheet] = field(default_factory=list)
    figures: dict[Quarter, list[RawSheet]] = field(default_factory=dict)
    waivers: RawSheet | None = None
    problems: list[Problem] = field(default_factory=list)


class InboxNotFound(FileNotFoundError):
    """No inbox at all: a wrong location, not a centre's bad file (exit 1, not 2)."""


def is_ignored(key: str) -> bool:
    """Excel lock files (`~$…`) and hidden files are never data."""
    name = posixpath.basename(key)
    return name.startswith("~$") or name.startswith(".")


def _whole_file_problem(file: str, rule: str, message: str, severity: Severity = ERROR) -> Problem:
    return Problem(
        file=file,
        sheet=None,
        cell=None,
        column=None,
        row=None,
        rule=rule,
        severity=severity,
        value=None,
        message=message,
    )


class _Reader:
    def __init__(self, inbox: Storage, inputs: Inputs, limits: Limits):
        self.inbox, self.inputs, self.limits = inbox, inputs, limits

    def read(self, key: str, sheet: str) -> RawSheet | None:
        data = self.inbox.read(key)
        self.inputs.sources.append(
            SourceFile(path=key, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
        )
        try:
            raw = read_sheet(key, data, sheet, self.limits)
        except ReadError as exc:
            self.inputs.problems.append(_whole_file_problem(key, exc.rule, exc.message))
            return None
        # What the reader met on the way (formula cells, a hidden sheet) is the operator's
        # to know: it goes into the same problems as the validation's findings.
        self.inputs.problems.extend(raw.notes)
        return raw

    def data_files(self, folder: str) -> list[str]:
        out = []
        for key in self.inbox.list(folder + "/"):
            if is_ignored(key) or any(is_ignored(part) for part in key.split("/")[:-1]):
                continue
            if posixpath.basename(key).lower() == WAIVER_FILE:
                continue
            if not key.lower().endswith(ACCEPTED):
                self.inputs.problems.append(
                    _whole_file_problem(
                        key,
                        "fil_ignoreret",
                        "Filen er ikke læst: kun .xlsx, .xlsm, .ods og .csv læses. "
                        "Gem den i et af de formater, hvis den skal med.",
                        WARNING,
                    )
                )
                continue
            out.append(key)
        return out


def limits_from_env() -> Limits:
    from kvartal.config import settings

    return Limits(max_cells=settings().max_cells, max_uncompressed=settings().max_uncompressed)


def gather(inbox: Storage, quarter: Quarter, limits: Limits | None = None) -> Inputs:
    inputs = Inputs(quarter=quarter)
    reader = _Reader(inbox, inputs, limits or limits_from_env())
    if not inbox.list(""):
        raise InboxNotFound(
            f"Indbakken {inbox.url} findes ikke eller er tom. Ret --inbox, eller læg "
            "målkataloget i targets/ og kvartalets filer i en mappe som 2009Q3/."
        )

    catalogue_keys = [k for k in reader.data_files("targets") if k.lower() != CONTACTS_FILE]
    if not catalogue_keys:
        inputs.problems.append(
            _whole_file_problem(
                "targets/",
                "katalog_mangler",
                "Der er intet målkatalog i mappen targets/. Læg kataloget (ark »Mål«) dér.",
            )
        )
    for key in catalogue_keys:
        sheet = reader.read(key, "Mål")
        if sheet is not None:
            inputs.catalogue.append(sheet)

    for q in quarters_to_read(inputs.catalogue, quarter):
        keys = reader.data_files(str(q))
        if q == quarter and not keys:
            inputs.problems.append(
                _whole_file_problem(
                    f"{quarter}/",
                    "kvartal_mangler",
                    f"Mappen {quarter}/ findes ikke eller er tom: læg centrenes regneark for "
                    f"{quarter.label_da} dér.",
                )
            )
        sheets = [s for s in (reader.read(k, "Tal") for k in keys) if s is not None]
        if sheets:
            inputs.figures[q] = sheets

    waiver_key = f"{quarter}/{WAIVER_FILE}"
    matches = [k for k in inbox.list(f"{quarter}/") if k.lower() == waiver_key.lower()]
    if matches:
        inputs.waivers = reader.read(matches[0], "afvigelser")
    return inputs


def quarters_to_read(catalogue: list[RawSheet], quarter: Quarter) -> list[Quarter]:
    """From the earliest start of a target active in `quarter` (or the quarter before) on."""
    earliest = quarter - 1
    for start, end in _windows(catalogue):
        if start <= quarter <= end and start < earliest:
            earliest = start
    return earliest.until(quarter)


def _windows(catalogue: list[RawSheet]) -> list[tuple[Quarter, Quarter]]:
    from kvartal.tables import sheet_frame

    out = []
    for raw in catalogue:
        frame = sheet_frame(raw, "catalogue")
        if "Fra" not in frame.df or "Til" not in frame.df:
            continue
        for start, end in zip(frame.df["Fra"], frame.df["Til"], strict=True):
            try:
                out.append((Quarter.parse(_text(start)), Quarter.parse(_text(end))))
            except QuarterError:
                continue  # validation reports it
    return out


def _text(v: object) -> str:
    return v if isinstance(v, str) else str(v)
