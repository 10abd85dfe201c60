"""Which inbox files a quarter needs, read into raw sheets with their lineage.

The catalogue is read first because its windows decide how far back the figures must be
read: a target running 2013Q1-2015Q4 needs every quarter folder since 2013Q1. The quarter
before the report quarter is always read too, for the warnings that compare quarters.

Nothing in the inbox is left unread without a word (CONTRACT §1): a clerk who names a
folder `2009 Q2` or drops a centre's file into `gammelt/` must see it named, not find the
figures quietly missing from the report. So every top-level folder is `targets/`, a quarter
(spelled any way a quarter cell may be), or an error naming it; every file under a quarter
folder that is read is read, and every other one is named with the reason. One level down
the same holds for a workbook: only one sheet is read (`Tal` or `Mål`, else the first), so
every other sheet that holds a filled cell is named (`ark_ikke_laest`), as an error when it
holds a table under the file's own headers (`ark_med_data_ikke_laest`). Quarter folders no
target's window reaches (before every window, or after the report quarter) are not read,
for speed, and are named in the manifest's `left_out` with the reason.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from kvartal.model import ERROR, WARNING, Problem, Severity, SourceFile
from kvartal.quarters import Quarter, QuarterError
from kvartal.readers import Limits, OtherSheet, RawSheet, ReadError, read_sheet
from kvartal.storage import Storage

ACCEPTED = (".xlsx", ".xlsm", ".ods", ".csv")
WAIVER_FILE = "afvigelser.csv"
TARGETS = "targets"
# The centres' contacts (CONTRACT §9), read by the collection, not as a catalogue.
CONTACTS_FILE = "centre.csv"


# The rules gather itself reports (the readers' own are in `kvartal.readers.SEVERITY`).
RULES: dict[str, str] = {
    "katalog_mangler": ERROR,
    "kvartal_mangler": ERROR,
    # A file nobody reads may hold a centre's figures: it blocks until it is moved, saved
    # in a format that is read, or waived with a reason.
    "fil_ignoreret": ERROR,
    "xls_fil": ERROR,
    "ukendt_mappe": ERROR,
    "dobbelt_kvartalsmappe": ERROR,
    "fil_uden_mappe": ERROR,
    "kvartalsmappe_mangler": WARNING,
    # Another sheet than the one read holds filled cells: named, since its rows are not read.
    "ark_ikke_laest": WARNING,
    # ... and it holds a table under the file's own headers: almost certainly figures or
    # targets that would be left out of the report, so it blocks like a file not read.
    "ark_med_data_ikke_laest": ERROR,
}

# What the manifest lists as left out of the inbox, with the reason: folders, files and
# columns that were not read (their problems say why).
LEFT_OUT_RULES = frozenset(
    {
        "fil_ignoreret",
        "xls_fil",
        "ukendt_mappe",
        "dobbelt_kvartalsmappe",
        "fil_uden_mappe",
        "kvartalsmappe_mangler",
        "ark_ikke_laest",
        "ark_med_data_ikke_laest",
    }
)

# The sheet a workbook is read from (CONTRACT §2, §3), and what a reader of it calls it.
CATALOGUE_SHEET = "Mål"
FIGURES_SHEET = "Tal"
# A catalogue workbook's sheet of the centres' contacts: the collection reads it (§9).
CONTACTS_SHEET = "Centre"
# What a manifest's `left_out` calls a quarter folder no target needs: not a finding.
UNUSED_FOLDER = "kvartal_ikke_brugt"


@dataclass
class Inputs:
    quarter: Quarter
    sources: list[SourceFile] = field(default_factory=list)
    catalogue: list[RawSheet] = field(default_factory=list)
    figures: dict[Quarter, list[RawSheet]] = field(default_factory=dict)
    waivers: RawSheet | None = None
    problems: list[Problem] = field(default_factory=list)
    # Quarter -> the inbox folders holding it, as spelled in the inbox (`2009 Q2`).
    folders: dict[Quarter, list[str]] = field(default_factory=dict)
    # Files skipped on purpose (Excel lock files, hidden files), for the manifest.
    ignored: list[str] = field(default_factory=list)
    # `targets/centre.csv`, the centres' contacts, when there is one.
    contacts: str | None = None
    # Quarter folders not read because no target's window needs them, with the reason.
    unused: list[UnusedFolder] = field(default_factory=list)


@dataclass(frozen=True)
class UnusedFolder:
    """A quarter folder left unread on purpose: before every window of the targets active
    in the report quarter, or after it. Not a finding (the next quarter's files arriving
    early is normal), but the manifest names it, so nothing is left out without a word."""

    folder: str  # as the inbox spells it, with a trailing `/`
    why: str

    def left_out(self) -> dict[str, Any]:
        """As the manifest's `left_out` lists what was not read."""
        return {
            "what": "mappe",
            "file": self.folder,
            "sheet": None,
            "cell": None,
            "rule": UNUSED_FOLDER,
            "severity": None,
            "value": self.folder.rstrip("/"),
            "why": self.why,
        }


class UnaccountedFiles(RuntimeError):
    """Inbox files neither read, ignored nor named by a problem: a fault in kvartal."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        super().__init__(
            f"{len(keys)} filer i indbakken er hverken læst eller nævnt i et fund, så de "
            f"ville blive udeladt uden et ord; intet er udgivet: {'; '.join(keys[:50])}"
        )


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
        self.inputs.problems.extend(unread_sheets(raw, sheet))
        return raw

    def data_files(self, folder: str) -> list[str]:
        """The files of one folder (sub-folders included) that are read as sheets; every
        other file is named with the reason, except lock and hidden files. Only a quarter
        folder has an afvigelser.csv that is not a sheet of its own."""
        waivers = folder.strip().casefold() != TARGETS
        out = []
        for key in self.inbox.list(folder + "/"):
            if key.endswith("/"):
                continue  # an S3 console's folder marker, not a file
            if is_ignored(key) or any(is_ignored(part) for part in key.split("/")[:-1]):
                self.inputs.ignored.append(key)
                continue
            if waivers and key.lower() == f"{folder}/{WAIVER_FILE}".lower():
                continue  # the quarter's waivers, never figures (CONTRACT §6)
            if key.lower().endswith(".xls"):
                self.inputs.problems.append(
                    _whole_file_problem(
                        key,
                        "xls_fil",
                        "Filen er i det gamle Excel-format (.xls, Excel 97-2003) og er ikke "
                        "læst: i det format kan kvartal ikke se cellerne, som Excel viser "
                        "dem (fx 86 % eller 1.10). Åbn den i Excel og vælg Filer > Gem som > "
                        "Excel-projektmappe (*.xlsx), eller i LibreOffice Filer > Gem som > "
                        "Excel 2007-365 (.xlsx), og læg den nye fil i mappen i stedet.",
                    )
                )
                continue
            if not key.lower().endswith(ACCEPTED):
                self.inputs.problems.append(
                    _whole_file_problem(
                        key,
                        "fil_ignoreret",
                        "Filen er ikke læst: kun .xlsx, .xlsm, .ods og .csv læses. Gem den "
                        "i et af de formater, hvis den skal med, eller flyt den ud af "
                        "indbakken.",
                    )
                )
                continue
            out.append(key)
        return out


def quarter_folders(inbox: Storage) -> dict[Quarter, list[str]]:
    """Every quarter folder of the inbox by its quarter, as the inbox spells it.

    `2009q2`, `2009 Q2`, `2009-Q2` and `2009K2` are all 2009Q2 (CONTRACT §1). A quarter
    with two folders lists both; gather reports that.
    """
    return survey(inbox.list(""))[0]


def targets_folder(keys: list[str]) -> str:
    """The catalogue's folder: `targets/`, else the first spelled otherwise (`Targets/`)."""
    names = sorted({k.split("/", 1)[0] for k in keys if "/" in k})
    if TARGETS in names:
        return TARGETS
    return next((n for n in names if n.strip().casefold() == TARGETS), TARGETS)


def survey(keys: list[str]) -> tuple[dict[Quarter, list[str]], list[str], list[str]]:
    """Sort the inbox's top level: quarter folders, other folders, and files at the root."""
    quarters: dict[Quarter, list[str]] = {}
    others: list[str] = []
    root_files: list[str] = []
    seen: set[str] = set()
    for key in keys:
        if key.endswith("/") and "/" not in key[:-1]:
            top = key[:-1]  # a folder marker at the top level
        elif "/" in key:
            top = key.split("/", 1)[0]
        else:
            if not is_ignored(key):
                root_files.append(key)
            continue
        if top in seen or is_ignored(top):
            continue
        seen.add(top)
        if top.strip().casefold() == TARGETS:
            if top != targets_folder(keys):
                others.append(top)  # a second `Targets/` beside `targets/` is not read
            continue
        try:
            quarter = Quarter.parse(top)
        except QuarterError:
            others.append(top)
            continue
        quarters.setdefault(quarter, []).append(top)
    return quarters, others, root_files


def gather(inbox: Storage, quarter: Quarter, limits: Limits | None = None) -> Inputs:
    """`limits`: the entry point's `settings().read_limits()`; None keeps the readers' own
    defaults, which are the settings' defaults too."""
    inputs = Inputs(quarter=quarter)
    reader = _Reader(inbox, inputs, limits or Limits())
    everything = inbox.list("")
    if not everything:
        raise InboxNotFound(
            f"Indbakken {inbox.url} findes ikke eller er tom. Ret --inbox, eller læg "
            "målkataloget i targets/ og kvartalets filer i en mappe som 2009Q3/."
        )
    folders, others, root_files = survey(everything)
    inputs.folders = folders
    _name_the_strays(inputs, folders, others, root_files, everything)

    catalogue_folder = targets_folder(everything)
    catalogue_keys = []
    for key in reader.data_files(catalogue_folder):
        if key.lower() == f"{catalogue_folder}/{CONTACTS_FILE}".lower():
            inputs.contacts = key
        else:
            catalogue_keys.append(key)
    if not catalogue_keys:
        inputs.problems.append(
            _whole_file_problem(
                "targets/",
                "katalog_mangler",
                "Der er intet målkatalog i mappen targets/. Læg kataloget (ark »Mål«) dér.",
            )
        )
    for key in catalogue_keys:
        sheet = reader.read(key, CATALOGUE_SHEET)
        if sheet is not None:
            inputs.catalogue.append(sheet)

    needed = needed_quarters(inputs.catalogue, quarter)
    for q in quarters_to_read(inputs.catalogue, quarter):
        keys = [k for name in folders.get(q, []) for k in reader.data_files(name)]
        if q == quarter and not keys:
            inputs.problems.append(
                _whole_file_problem(
                    f"{quarter}/",
                    "kvartal_mangler",
                    f"Mappen {quarter}/ findes ikke eller er tom: læg centrenes regneark for "
                    f"{quarter.label_da} dér.",
                )
            )
        elif q in needed and q not in folders:
            inputs.problems.append(
                _whole_file_problem(
                    f"{q}/",
                    "kvartalsmappe_mangler",
                    f"Mappen {q}/ findes ikke, men et mål i kataloget tæller {q.label_da} "
                    f"med i sit vindue, så målets tal for det kvartal mangler i rapporten. "
                    f"Læg centrenes regneark for {q.label_da} i mappen {q}/, hvis de findes.",
                    WARNING,
                )
            )
        sheets = [s for s in (reader.read(k, FIGURES_SHEET) for k in keys) if s is not None]
        if sheets:
            inputs.figures[q] = sheets

    waiver_keys = [
        k
        for name in folders.get(quarter, [])
        for k in inbox.list(f"{name}/")
        if k.lower() == f"{name}/{WAIVER_FILE}".lower()
    ]
    if waiver_keys:
        inputs.waivers = reader.read(waiver_keys[0], "afvigelser")
    for key in waiver_keys[1:]:
        inputs.problems.append(
            _whole_file_problem(
                key,
                "fil_ignoreret",
                f"Kvartalet har to afvigelsesfiler; kun {waiver_keys[0]} er læst. Flyt "
                f"rækkerne fra denne fil over i den, og slet denne.",
            )
        )
    read_quarters = quarters_to_read(inputs.catalogue, quarter)
    inputs.unused = unused_folders(folders, read_quarters, quarter)
    _check_every_file_accounted(inputs, everything, catalogue_folder, folders, read_quarters)
    return inputs


def unused_folders(
    folders: dict[Quarter, list[str]], read_quarters: list[Quarter], quarter: Quarter
) -> list[UnusedFolder]:
    """The quarter folders that are not read, each with the reason in Danish."""
    read = set(read_quarters)
    out = []
    for q, names in sorted(folders.items()):
        if q in read:
            continue
        if q > quarter:
            why = (
                f"ikke brugt: {q} ligger efter rapportkvartalet, {quarter.label_da}; "
                f"filerne i mappen er ikke læst"
            )
        else:
            why = (
                f"ikke brugt: intet mål i kataloget tæller {q} med i sit vindue til "
                f"{quarter.label_da}; filerne i mappen er ikke læst"
            )
        out += [UnusedFolder(f"{name}/", why) for name in names]
    return out


_FOLD = str.maketrans({"å": "aa", "ø": "oe", "æ": "ae"})


def _folded(text: str) -> str:
    """A header as a typing habit cannot change it: `Mål-id`, `mål id` and `Maal-id` are
    one, `Nr.` and `nr` are one."""
    return re.sub(r"[\s\-._]+", "", text.casefold().translate(_FOLD))


def _own_header(texts: tuple[str, ...], kind: str) -> bool:
    """Whether a row reads like the header of the file's own table (CONTRACT §2, §3)."""
    found = {_folded(t) for t in texts}
    if kind == CATALOGUE_SHEET:
        return "maalid" in found or {"nr", "maalvaerdi"} <= found
    return "nr" in found and bool({"kvartal", "vaerdi"} & found)


def _table_in(other: OtherSheet, kind: str) -> tuple[int, tuple[str, ...]] | None:
    """The header row (and its texts) of a table under the file's own headers with a
    filled row below it, among the sheet's first rows; None for anything else."""
    for row, texts in other.rows[:-1]:
        if _own_header(texts, kind):
            return row, texts
    return None


def unread_sheets(raw: RawSheet, preferred: str) -> list[Problem]:
    """One problem per other sheet of the workbook that holds a filled cell.

    Only one sheet of a workbook is read, so a second sheet's rows would vanish without a
    word (CONTRACT §1, §4). A sheet holding a table under the file's own headers is an
    error: it is almost certainly figures (or targets) that would be left out of the
    report. Anything else (a guide, a cover page, a list for drop-downs) is a warning. A
    catalogue's `Centre` sheet is read by the collection and is not named.
    """
    if preferred not in (CATALOGUE_SHEET, FIGURES_SHEET):
        return []
    read = raw.sheet or ""
    if preferred == CATALOGUE_SHEET:
        how = (
            f"En fil med målkataloget læses kun i ét ark: arket »{CATALOGUE_SHEET}«, eller "
            f"det første synlige ark, når filen ikke har et ark »{CATALOGUE_SHEET}« (et ark "
            f"»{CONTACTS_SHEET}« læses som centrenes kontakter)."
        )
        what, lost = "mål", "målene"
    else:
        how = (
            f"En fil med kvartalets tal læses kun i ét ark: arket »{FIGURES_SHEET}«, eller "
            f"det første synlige ark, når filen ikke har et ark »{FIGURES_SHEET}«."
        )
        what, lost = "tal", "tallene"
    out = []
    for other in raw.others:
        name = other.name
        if preferred == CATALOGUE_SHEET and name.strip().casefold() == CONTACTS_SHEET.casefold():
            continue
        shown = f"»{name}«" + (" (skjult)" if other.hidden else "")
        table = _table_in(other, preferred)
        if table is not None:
            row, texts = table
            headers = ", ".join(texts[:5]) + (", …" if len(texts) > 5 else "")
            rule, severity = "ark_med_data_ikke_laest", ERROR
            message = (
                f"Arket {shown} har en tabel med {what} (overskrifterne {headers} i række "
                f"{row}, med udfyldte rækker under), men arket er ikke læst, så {lost} "
                f"ville mangle i rapporten. {how} I denne fil er arket »{read}« læst. Flyt "
                f"rækkerne over i arket »{read}«, eller slet arket »{name}«, hvis de ikke "
                f"skal med."
            )
        else:
            rule, severity = "ark_ikke_laest", WARNING
            message = (
                f"Arket {shown} har udfyldte celler, men er ikke læst. {how} I denne fil er "
                f"arket »{read}« læst. Skal noget i arket »{name}« med i rapporten, så flyt "
                f"rækkerne over i arket »{read}«; ellers slet arket »{name}«."
            )
        out.append(
            Problem(
                file=raw.file,
                sheet=name,
                cell=None,
                column=None,
                row=None,
                rule=rule,
                severity=severity,
                value=name,
                message=message,
            )
        )
    return out


def _only_waivers(folder: str, everything: list[str]) -> bool:
    inside = [
        k for k in everything if k.startswith(folder + "/") and not is_ignored(k) and k[-1] != "/"
    ]
    return bool(inside) and all(posixpath.basename(k).lower() == WAIVER_FILE for k in inside)


def _name_the_strays(
    inputs: Inputs,
    folders: dict[Quarter, list[str]],
    others: list[str],
    root_files: list[str],
    everything: list[str],
) -> None:
    for name in others:
        inputs.problems.append(
            _whole_file_problem(
                f"{name}/",
                "ukendt_mappe",
                f"Mappen »{name}« er hverken targets/ eller et kvartal, så intet i den er "
                f"læst. Omdøb den til kvartalet, fx 2009Q3, hvis filerne hører til dét, "
                f"eller flyt den ud af indbakken.",
            )
        )
    for q, names in sorted(folders.items()):
        # A folder holding only afvigelser.csv is where an approval wrote the waivers (it
        # writes `2009Q3/` beside a clerk's `2009 Q3/`): not a second folder of figures.
        names = [n for n in names if not _only_waivers(n, everything)]
        if len(names) < 2:
            continue
        listed = " og ".join(f"»{n}/«" for n in names)
        for name in names:
            inputs.problems.append(
                _whole_file_problem(
                    f"{name}/",
                    "dobbelt_kvartalsmappe",
                    f"Mapperne {listed} er begge {q.label_da}. Saml filerne i én mappe, "
                    f"{q}/, og slet den anden.",
                )
            )
    for key in root_files:
        inputs.problems.append(
            _whole_file_problem(
                key,
                "fil_uden_mappe",
                "Filen ligger direkte i indbakken og er ikke læst: kataloget hører i "
                "targets/ og centrenes tal i kvartalets mappe, fx 2009Q3/. Flyt den dér, "
                "eller ud af indbakken.",
            )
        )


def _check_every_file_accounted(
    inputs: Inputs,
    everything: list[str],
    catalogue_folder: str,
    folders: dict[Quarter, list[str]],
    read_quarters: list[Quarter],
) -> None:
    """Every file under a folder that was read is read, ignored or named; else kvartal
    itself has lost it, and the run stops before anything is published."""
    read_folders = {catalogue_folder} | {name for q in read_quarters for name in folders.get(q, [])}
    accounted = {s.path for s in inputs.sources} | set(inputs.ignored) | {inputs.contacts}
    accounted |= {p.file for p in inputs.problems}
    lost = [
        key
        for key in everything
        if "/" in key
        and not key.endswith("/")
        and key.split("/", 1)[0] in read_folders
        and key not in accounted
        and key.split("/", 1)[1].lower() != WAIVER_FILE
    ]
    if lost:
        raise UnaccountedFiles(lost)


def quarters_to_read(catalogue: list[RawSheet], quarter: Quarter) -> list[Quarter]:
    """From the earliest start of a target active in `quarter` (or the quarter before) on."""
    earliest = quarter - 1
    for start, end in _windows(catalogue):
        if start <= quarter <= end and start < earliest:
            earliest = start
    return earliest.until(quarter)


def needed_quarters(catalogue: list[RawSheet], quarter: Quarter) -> set[Quarter]:
    """The quarters up to `quarter` that the window of a target active in it covers."""
    needed: set[Quarter] = set()
    for start, end in _windows(catalogue):
        if start <= quarter <= end:
            needed.update(start.until(quarter))
    return needed


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
