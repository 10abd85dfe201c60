"""The collection's mails, in plain Danish: the check's answer, the reminder, the operators'.

Each mail to a centre carries only that centre's file and targets (CONTRACT §9). Texts are
built from the collection's records alone, so a test can read them without a mail server.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from kvartal.model import Problem, Target

MONTHS = [
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
]
WEEKDAYS = ["mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"]


def day_text(d: date) -> str:
    return f"{WEEKDAYS[d.weekday()]} {d.day}. {MONTHS[d.month - 1]} {d.year}"


def moment_text(moment: datetime, zone: tzinfo | None) -> str:
    """`moment` as the clock in `zone` shows it. The mails pass the deadline's own zone:
    `status.deadline` makes it in the collection's time zone (KVARTAL_TIMEZONE)."""
    m = moment.astimezone(zone)
    return f"{day_text(m.date())} kl. {m:%H.%M}"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _target_lines(targets: list[Target]) -> list[str]:
    out = []
    for t in targets:
        metric = t.metric or "milepæl (skriv datoen i »Milepæl nået« og målets Mål-id)"
        out += [
            f"  - Mål-id {t.target_id}, Nr. {t.initiative}: {t.title}",
            f"    Mål: {t.description}",
            f"    Nøgletal: {metric}",
        ]
    return out


def _problem_lines(i: int, p: Problem) -> list[str]:
    where = [f"ark »{p.sheet}«" if p.sheet else None, f"celle {p.cell}" if p.cell else None]
    if not p.cell and p.row:
        where.append(f"række {p.row}")
    place = ", ".join(w for w in where if w) or "hele filen"
    lines = [f"{i}. {place}" + (f" (kolonne {p.column})" if p.column else "")]
    if p.value is not None:
        lines.append(f"   Værdien i filen: {p.value}")
    lines.append(f"   {p.message}")
    return lines


def check_mail(
    centre: str,
    file: str,
    delivered_at: datetime | None,
    errors: list[Problem],
    warnings: list[Problem],
    missing: list[Target],
    quarter_label: str,
    deadline: datetime,
) -> tuple[str, str]:
    """(subject, text) of the answer to one file content."""
    name = file.rsplit("/", 1)[-1]
    if errors:
        subject = f"Jeres fil til {quarter_label} har {_plural(len(errors), 'fejl', 'fejl')}"
    else:
        subject = f"Jeres fil til {quarter_label} er modtaget uden fejl"
    lines = [f"Til {centre}", ""]
    when = f", afleveret {moment_text(delivered_at, deadline.tzinfo)}" if delivered_at else ""
    lines.append(f"Vi har modtaget og kontrolleret jeres fil »{name}« ({file}{when}).")
    lines.append("")
    if errors:
        lines.append(
            f"Filen har {_plural(len(errors), 'fejl', 'fejl')}. Tallene kan ikke komme med i "
            "rapporten, før de er rettet:"
        )
        lines.append("")
        for i, p in enumerate(errors, 1):
            lines += _problem_lines(i, p)
        lines.append("")
        lines.append(
            "Ret cellerne, gem filen under samme navn og læg den i indbakken igen. Vi "
            "kontrollerer den nye fil og svarer igen."
        )
    else:
        lines.append("Filen har ingen fejl.")
    if warnings:
        lines += ["", "Advarsler (tallene kommer med, men se efter om de er rigtige):", ""]
        for i, p in enumerate(warnings, 1):
            lines += _problem_lines(i, p)
    lines.append("")
    if missing:
        lines.append(f"Disse mål mangler stadig et tal for {quarter_label}:")
        lines += _target_lines(missing)
    else:
        lines.append(f"Alle jeres mål for {quarter_label} har et tal.")
    lines += [
        "",
        f"Fristen er {moment_text(deadline, deadline.tzinfo)}.",
        "",
        "Venlig hilsen",
        "kvartal",
    ]
    return subject, "\n".join(lines) + "\n"


def reminder_mail(
    centre: str,
    owed: list[Target],
    file: str | None,
    errors: int,
    quarter_label: str,
    deadline: datetime,
) -> tuple[str, str]:
    subject = f"Påmindelse: tal til {quarter_label} senest {moment_text(deadline, deadline.tzinfo)}"
    lines = [f"Til {centre}", ""]
    if file is None:
        lines.append(f"Vi har endnu ikke modtaget jeres tal til {quarter_label}.")
    else:
        lines.append(
            f"Jeres fil {file} har {_plural(errors, 'fejl', 'fejl')}, som skal rettes; se "
            "svaret på filen, I fik fra os."
        )
    lines += ["", "I skal indberette et tal for hvert af disse mål:"]
    lines += _target_lines(owed)
    lines += [
        "",
        f"Fristen er {moment_text(deadline, deadline.tzinfo)}.",
        "Læg filen i indbakkens mappe for kvartalet, med centrets navn som filnavn.",
        "",
        "Venlig hilsen",
        "kvartal",
    ]
    return subject, "\n".join(lines) + "\n"


def operators_mail(
    lines_by_kind: dict[str, list[str]], quarter_label: str, deadline: datetime
) -> tuple[str, str]:
    subject = f"Indsamlingen til {quarter_label}: fristen er overskredet"
    lines = [f"Fristen for {quarter_label} var {moment_text(deadline, deadline.tzinfo)}.", ""]
    for heading, items in lines_by_kind.items():
        lines.append(f"{heading}:")
        lines += [f"  - {x}" for x in items] or ["  (ingen)"]
        lines.append("")
    lines.append("Se indsamling.html i gennemsynsmappen for kvartalet.")
    return subject, "\n".join(lines) + "\n"
