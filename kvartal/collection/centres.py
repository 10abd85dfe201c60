"""The centres' contacts: sheet `Centre` of a catalogue workbook, or `targets/centre.csv`.

Read straight from the readers' raw sheets (no pandas): the contacts are three columns, and
every problem names its file and cell as the quarterly validation's do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kvartal.model import ERROR, WARNING, Problem, Severity
from kvartal.readers import Limits, RawSheet, ReadError, column_letter, read_sheet
from kvartal.storage import Storage

SHEET = "Centre"
CSV_FILE = "targets/centre.csv"
COLUMNS = {"ansvarlig": "Ansvarlig", "email": "E-mail", "fil": "Fil"}
# The rules the collection reports (CONTRACT §9), registered with the others in
# `kvartal.validation.rules.every_rule` and listed in docs/rules.md.
RULES: dict[str, Severity] = {
    "centre_kolonne_mangler": ERROR,
    "centre_uden_navn": ERROR,
    "centre_adresse": ERROR,
    "centre_dublet": ERROR,
    "centre_ukendt": WARNING,
    "centre_uden_kontakt": WARNING,
    "fil_uden_centre": WARNING,
    "centre_flere_filer": WARNING,
    "centre_fil_format": ERROR,
}
_ADDRESS = re.compile(r"^[^@\s<>,;\"()\[\]]+@[^@\s<>,;\"()\[\]]+\.[^@\s<>,;\"()\[\]]+$")


def centre_key(name: str) -> str:
    """Centres match case-blind and regardless of spacing (CONTRACT §9)."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class Contact:
    centre: str
    emails: tuple[str, ...]
    file_stem: str  # the delivered file's name without extension, case-folded
    file: str  # where the row is (inbox-relative)
    sheet: str | None
    row: int
    centre_cell: str


@dataclass
class Contacts:
    by_centre: dict[str, Contact] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    found: bool = False  # a Centre sheet or centre.csv exists at all


def problem(
    file: str,
    sheet: str | None,
    cell: str | None,
    column: str | None,
    row: int | None,
    rule: str,
    severity: Severity,
    value: str | None,
    message: str,
) -> Problem:
    return Problem(file, sheet, cell, column, row, rule, severity, value, message)


def _norm(header: object) -> str:
    text = str(header or "").strip().rstrip(".").casefold()
    return text.replace(" ", "").replace("-", "")


def _text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def read_contacts(inbox: Storage, limits: Limits | None = None) -> Contacts:
    out = Contacts()
    for key in inbox.list("targets/"):
        name = key.rsplit("/", 1)[-1]
        if name.startswith(("~$", ".")):
            continue
        lower = key.lower()
        if lower == CSV_FILE:
            sheet = _read(inbox, key, SHEET, out, limits)
        elif lower.endswith((".xlsx", ".xlsm", ".ods")):
            try:
                sheet = read_sheet(key, inbox.read(key), SHEET, limits)
            except ReadError:
                continue  # the quarterly validation names an unreadable catalogue
            if (sheet.sheet or "").strip().casefold() != SHEET.casefold():
                continue  # the workbook has no Centre sheet: it fell back to its first
        else:
            continue
        if sheet is not None:
            out.found = True
            _rows(sheet, out)
    return out


def _read(
    inbox: Storage, key: str, preferred: str, out: Contacts, limits: Limits | None
) -> RawSheet | None:
    try:
        return read_sheet(key, inbox.read(key), preferred, limits)
    except ReadError as exc:
        out.problems.append(
            problem(key, None, None, None, None, exc.rule, ERROR, None, exc.message)
        )
        return None


def _rows(sheet: RawSheet, out: Contacts) -> None:
    where = {_norm(h): i for i, h in enumerate(sheet.header) if _norm(h) in COLUMNS}
    for norm, canonical in COLUMNS.items():
        if norm != "fil" and norm not in where:
            out.problems.append(
                problem(
                    sheet.file,
                    sheet.sheet,
                    None,
                    canonical,
                    sheet.header_row,
                    "centre_kolonne_mangler",
                    ERROR,
                    None,
                    f"Kolonnen »{canonical}« mangler i centrenes kontakter. Tilføj den i "
                    f"overskriftsrækken (række {sheet.header_row}): Ansvarlig, E-mail og "
                    "evt. Fil.",
                )
            )
    if "ansvarlig" not in where or "email" not in where:
        return
    for raw in sheet.rows:
        values = {
            norm: _text(raw.values[i]) if i < len(raw.values) else "" for norm, i in where.items()
        }
        centre = " ".join(values["ansvarlig"].split())
        text = values["email"]
        if not centre and not text:
            continue
        mail_cell = f"{column_letter(where['email'])}{raw.row}"
        centre_cell = f"{column_letter(where['ansvarlig'])}{raw.row}"
        if not centre:
            out.problems.append(
                problem(
                    sheet.file, sheet.sheet, centre_cell, "Ansvarlig", raw.row,
                    "centre_uden_navn", ERROR, None,
                    "Rækken har e-mailadresser, men intet centernavn i »Ansvarlig«. Skriv "
                    "centret, som kataloget skriver det.",
                )
            )  # fmt: skip
            continue
        emails: list[str] = []
        for part in re.split(r"[,;]", text):
            address = part.strip()
            if not address:
                continue
            if _ADDRESS.match(address):
                if address.casefold() not in {e.casefold() for e in emails}:
                    emails.append(address)
            else:
                out.problems.append(
                    problem(
                        sheet.file, sheet.sheet, mail_cell, "E-mail", raw.row,
                        "centre_adresse", ERROR, text,
                        f"»{address}« er ikke en e-mailadresse, så {centre} kan ikke få "
                        "besked. Ret cellen, fx til navn@kommune.dk; flere adresser "
                        "adskilles med komma eller semikolon.",
                    )
                )  # fmt: skip
        if not text:
            out.problems.append(
                problem(
                    sheet.file, sheet.sheet, mail_cell, "E-mail", raw.row,
                    "centre_adresse", ERROR, None,
                    f"{centre} har ingen e-mailadresse, så centret kan ikke få besked. "
                    "Skriv mindst én adresse i cellen.",
                )
            )  # fmt: skip
        stem = values.get("fil") or centre
        stem = stem.rsplit("/", 1)[-1]
        if stem.lower().endswith((".xlsx", ".xlsm", ".ods", ".csv", ".xls")):
            stem = stem.rsplit(".", 1)[0]
        key = centre_key(centre)
        if key in out.by_centre:
            earlier = out.by_centre[key]
            out.problems.append(
                problem(
                    sheet.file, sheet.sheet, centre_cell, "Ansvarlig", raw.row,
                    "centre_dublet", ERROR, centre,
                    f"{centre} står også i {earlier.file}, celle {earlier.centre_cell}. "
                    "Saml centrets adresser i én række.",
                )
            )  # fmt: skip
            continue
        out.by_centre[key] = Contact(
            centre=centre,
            emails=tuple(emails),
            file_stem=centre_key(stem),
            file=sheet.file,
            sheet=sheet.sheet,
            row=raw.row,
            centre_cell=centre_cell,
        )
