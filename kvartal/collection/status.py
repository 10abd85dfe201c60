"""Who owes what for a quarter, what each centre delivered, when, and with how many errors.

The files are validated exactly as the quarterly run validates them: `kvartal.gather`
reads the inbox (the catalogue and every earlier quarter the windows reach back to) and
`kvartal.validation.validate` applies the one set of rules; a delivery's errors are the
blocking problems of its file. Nothing here judges a cell on its own.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from kvartal.collection.centres import Contact, Contacts, centre_key, problem, read_contacts
from kvartal.collection.files import Entry, quarter_entries, recorded_times
from kvartal.model import ERROR, WARNING, Figure, Problem, Target
from kvartal.quarters import Quarter

if TYPE_CHECKING:
    from kvartal.config import CollectionSettings
    from kvartal.gather import Inputs
    from kvartal.readers import Limits
    from kvartal.review import Frames
    from kvartal.storage import Storage
    from kvartal.validation import ValidationResult


def deadline(quarter: Quarter, cfg: CollectionSettings) -> datetime:
    """`KVARTAL_DEADLINE_DAYS` days after the quarter's last day, 23:59 Danish time."""
    day = quarter.last_day + timedelta(days=cfg.deadline_days)
    return datetime.combine(day, time(23, 59), tzinfo=ZoneInfo(cfg.timezone))


def on_time(delivered: datetime, due: datetime) -> bool:
    """Within the deadline's minute counts: 23:59:40 is still 23:59."""
    return delivered < due + timedelta(minutes=1)


def local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone)).replace(microsecond=0)


@dataclass
class CentreStatus:
    centre: str
    contact: Contact | None
    owed: list[Target]
    zone: str  # the collection's time zone: delivery times are shown in it
    file: str | None = None  # its newest file: the delivery's time and content
    files: list[str] = field(default_factory=list)  # all its files, read by the run alike
    sha256: str | None = None
    delivered_at: datetime | None = None
    due: datetime | None = None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    missing: list[Target] = field(default_factory=list)

    @property
    def emails(self) -> list[str]:
        return list(self.contact.emails) if self.contact else []

    @property
    def on_time(self) -> bool | None:
        if self.delivered_at is None or self.due is None:
            return None
        return on_time(self.delivered_at, self.due)

    @property
    def where(self) -> str:
        """Its file, or its files where it delivered several (each read by the run)."""
        return ", ".join(self.files) if len(self.files) > 1 else self.file or ""

    @property
    def complete(self) -> bool:
        """Delivered without errors: nothing left to remind about."""
        return self.file is not None and not self.errors

    def line(self) -> str:
        """`centre: status` (CONTRACT §9)."""
        if self.file is None or self.delivered_at is None:
            n = len(self.owed)
            return f"{self.centre}: mangler ({n} mål uden tal)"
        when = local(self.delivered_at, self.zone).strftime("%Y-%m-%d %H:%M")
        if self.errors:
            rest = f"fejl {len(self.errors)} i {self.where}, afleveret {when}"
        else:
            rest = f"afleveret {when} ({self.where})"
            if self.warnings:
                n = len(self.warnings)
                rest += f", {n} {'advarsel' if n == 1 else 'advarsler'}"
        return f"{self.centre}: for sent, {rest}" if not self.on_time else f"{self.centre}: {rest}"

    def to_json(self) -> dict[str, Any]:
        return {
            "centre": self.centre,
            "emails": self.emails,
            "file": self.file,
            "files": self.files,
            "delivered_at": local(self.delivered_at, self.zone).isoformat()
            if self.delivered_at
            else None,
            "on_time": self.on_time,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "owed": [t.target_id for t in self.owed],
            "missing": [t.target_id for t in self.missing],
        }


@dataclass
class Collection:
    quarter: Quarter
    deadline: datetime
    centres: list[CentreStatus]
    problems: list[Problem]  # the collection's own: contacts, unclaimed files, two files
    files: dict[str, str]  # every delivered key of the quarter -> sha256
    claims: dict[str, list[str]]  # key -> centre keys that deliver it
    zone: str  # the collection's time zone (KVARTAL_TIMEZONE): times are shown in it
    result: ValidationResult | None = None
    figures: dict[str, list[Figure]] = field(default_factory=dict)  # key -> its figure rows

    def file_report(
        self, key: str, status: CentreStatus
    ) -> tuple[list[Problem], list[Problem], list[Target]]:
        """(errors, warnings, owed targets without a figure) of one file for one centre:
        the file's own problems, and what none of the centre's files delivers."""
        blocking = self.result.blocking if self.result else []
        warnings = self.result.warnings if self.result else []
        errors = [p for p in blocking if p.file == key]
        errors += [p for p in self.problems if p.file == key and p.severity == ERROR]
        if key in status.files:
            missing = status.missing
        else:
            figs = self.figures.get(key, [])
            missing = [t for t in status.owed if not any(_serves(f, t) for f in figs)]
        warned = [p for p in warnings if p.file == key]
        warned += [p for p in self.problems if p.file == key and p.severity == WARNING]
        return errors, warned, missing

    def summary(self) -> dict[str, int]:
        delivered = [c for c in self.centres if c.file is not None]
        return {
            "expected": len(self.centres),
            "delivered": len(delivered),
            "on_time": sum(1 for c in delivered if c.on_time),
            "without_errors": sum(1 for c in delivered if not c.errors),
        }

    def all_clear(self) -> bool:
        return all(c.file is not None and c.on_time and not c.errors for c in self.centres)

    def to_json(self) -> dict[str, Any]:
        return {
            "quarter": str(self.quarter),
            "deadline": self.deadline.isoformat(),
            "summary": self.summary(),
            "centres": [c.to_json() for c in self.centres],
            "problems": [p.to_json() for p in self.problems],
        }

    def centre(self, key: str) -> CentreStatus | None:
        return next((c for c in self.centres if centre_key(c.centre) == key), None)


def centres_of(target: Target) -> list[str]:
    """`Ansvarlig` may name several centres separated by `,`; each owes the figures."""
    return [" ".join(p.split()) for p in (target.responsible or "").split(",") if p.strip()]


def owes(target: Target, quarter: Quarter, reached_before: set[str]) -> bool:
    if not target.start <= quarter <= target.end:
        return False
    if not target.is_milestone:
        return True
    if target.target_id.casefold() in reached_before:
        return False
    return target.due is None or target.due >= quarter.first_day


def collect(
    inbox: Storage, quarter: Quarter, cfg: CollectionSettings, limits: Limits
) -> Collection:
    """Read, validate and match the quarter's deliveries to the centres that owe them."""
    from kvartal.pipeline import check

    checked = check(inbox, quarter, limits)  # the run's own check stage
    return collect_from(inbox, checked.inputs, checked.frames, checked.validation, cfg)


def collect_from(
    inbox: Storage,
    inputs: Inputs,
    frames: Frames,
    result: ValidationResult,
    cfg: CollectionSettings,
) -> Collection:
    """The same, from a gather and validation already made (the quarterly run's own)."""
    from kvartal.records import parse_figures, parse_targets

    quarter = inputs.quarter
    targets = parse_targets(frames.catalogue)
    figures_by_file: dict[str, list[Figure]] = {}
    reached: set[str] = set()
    for q, q_frames in frames.figures.items():
        for frame in q_frames:
            figs = parse_figures([frame])
            if q == quarter:
                figures_by_file[frame.file] = figs
            elif q < quarter:
                for f in figs:
                    if f.target_id and _reached(f.reached, quarter):
                        reached.add(f.target_id.casefold())
    contacts = read_contacts(inbox)
    entries = quarter_entries(inbox, quarter)
    sha_of = {s.path: s.sha256 for s in inputs.sources}
    letters = {f.file: f.letters.get("Ansvarlig") for f in frames.catalogue}
    return _match(
        quarter, targets, reached, contacts, entries, sha_of, figures_by_file, result, inbox,
        letters, cfg,
    )  # fmt: skip


def _reached(value: date | bool | None, quarter: Quarter) -> bool:
    if value is True:
        return True
    return isinstance(value, date) and value < quarter.first_day


def _match(
    quarter: Quarter,
    targets: list[Target],
    reached: set[str],
    contacts: Contacts,
    entries: list[Entry],
    sha_of: dict[str, str],
    figures_by_file: dict[str, list[Figure]],
    result: ValidationResult,
    inbox: Storage,
    letters: dict[str, str | None],
    cfg: CollectionSettings,
) -> Collection:
    import hashlib

    due = deadline(quarter, cfg)
    problems = list(contacts.problems)
    # The centres named by the catalogue, in catalogue order, with the first cell naming each.
    named: dict[str, tuple[str, Target]] = {}
    owed: dict[str, list[Target]] = {}
    for t in targets:
        for name in centres_of(t):
            key = centre_key(name)
            named.setdefault(key, (name, t))
            if owes(t, quarter, reached):
                owed.setdefault(key, []).append(t)
    for key, contact in contacts.by_centre.items():
        if key not in named:
            problems.append(
                problem(
                    contact.file, contact.sheet, contact.centre_cell, "Ansvarlig", contact.row,
                    "centre_ukendt", WARNING, contact.centre,
                    f"{contact.centre} er ikke »Ansvarlig« for noget mål i kataloget. Ret "
                    "navnet, så det står som i kataloget, eller slet rækken.",
                )
            )  # fmt: skip
    for key, (name, t) in named.items():
        if key in contacts.by_centre:
            continue
        src = t.source
        letter = letters.get(src.file) if src else None
        problems.append(
            problem(
                src.file if src else "targets/", src.sheet if src else None,
                f"{letter}{src.row}" if src and letter else None, "Ansvarlig",
                src.row if src else None,
                "centre_uden_kontakt", WARNING, name,
                f"{name} er ansvarlig for mål (fx {t.target_id}), men står ikke i arket "
                f"»Centre« (eller targets/centre.csv), så ingen kan få besked om "
                "indsamlingen. Tilføj centret med dets e-mailadresser.",
            )
        )  # fmt: skip

    stems: dict[str, list[str]] = {}
    for key in owed:
        known = contacts.by_centre.get(key)
        stem = known.file_stem if known else key
        stems.setdefault(stem, []).append(key)
    files: dict[str, str] = {}
    claims: dict[str, list[str]] = {}
    by_centre: dict[str, list[Entry]] = {}
    for e in entries:
        sha = sha_of.get(e.key) or hashlib.sha256(inbox.read(e.key)).hexdigest()
        files[e.key] = sha
        name = posixpath.basename(e.key)
        stem = centre_key(name.rsplit(".", 1)[0] if "." in name else name)
        claimants = stems.get(stem, [])
        claims[e.key] = claimants
        if not claimants:
            problems.append(
                problem(
                    e.key, None, None, None, None, "fil_uden_centre", WARNING, None,
                    "Intet centre afleverer en fil med dette navn. Omdøb filen til centrets "
                    "navn (som i kataloget) eller skriv navnet i kolonnen »Fil« i arket "
                    "»Centre«.",
                )
            )  # fmt: skip
        for c in claimants:
            by_centre.setdefault(c, []).append(e)

    times = recorded_times(inbox)
    statuses: list[CentreStatus] = []
    for key in owed:
        name = named[key][0]  # as the catalogue writes it
        status = CentreStatus(name, contacts.by_centre.get(key), owed[key], cfg.timezone, due=due)
        candidates = by_centre.get(key, [])
        if candidates:
            # The quarterly run reads every file a centre delivered, so its delivery is all
            # of them: their problems and their figures. Its time and content are those of
            # its newest file (a readable one before one that is not).
            chosen = max(candidates, key=lambda e: (_readable(e.key), e.modified, e.key))
            keys = sorted(e.key for e in candidates)
            status.file, status.files, status.sha256 = chosen.key, keys, files[chosen.key]
            status.delivered_at = chosen.modified
            recorded = times.get(chosen.key)
            if recorded and recorded[0] == status.sha256:
                status.delivered_at = recorded[1]
            status.errors = [p for p in result.blocking if p.file in keys]
            status.warnings = [p for p in result.warnings if p.file in keys]
            for k in keys:
                if not _readable(k) and not any(p.file == k for p in status.errors):
                    unread = problem(
                        k, None, None, None, None, "centre_fil_format", ERROR, None,
                        f"{name}s fil kan ikke læses: kun .xlsx, .xlsm, .ods og .csv læses. "
                        "Gem den i et af de formater og læg den i indbakken igen.",
                    )  # fmt: skip
                    problems.append(unread)
                    status.errors.append(unread)
            if len(keys) > 1:
                two = problem(
                    chosen.key, None, None, None, None, "centre_flere_filer", WARNING, None,
                    f"{name} har flere filer i {quarter}/: {' og '.join(keys)}. Rapporten "
                    "læser dem alle. Er den ene en ny udgave af den anden, så slet den gamle; "
                    "ellers står dens tal der to gange.",
                )  # fmt: skip
                problems.append(two)
                status.warnings.append(two)
            figs = [f for k in keys for f in figures_by_file.get(k, [])]
            status.missing = [t for t in status.owed if not any(_serves(f, t) for f in figs)]
        else:
            status.missing = list(status.owed)
        statuses.append(status)
    return Collection(
        quarter, due, statuses, problems, files, claims, cfg.timezone, result, figures_by_file
    )


def _readable(key: str) -> bool:
    """A format the quarterly run reads (a file it cannot read delivers no figures)."""
    from kvartal.gather import ACCEPTED

    return key.lower().endswith(ACCEPTED)


def _serves(figure: Figure, target: Target) -> bool:
    from kvartal.typed import feeds

    return feeds(target, figure.target_id, figure.initiative, figure.metric) is not None
