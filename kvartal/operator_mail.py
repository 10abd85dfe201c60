"""What the operators are told, and when: a run waits for them, a decision was made, the
deadline passed, a run failed in a way no decision can fix.

Every mail names its inbox (the register's name for it) in the subject and the first line,
and carries the link to the run in the Prefect UI (PREFECT_UI_URL) and, while a decision is
open, its deadline: an operator reading it on a phone must be able to act without knowing
where the server is, and must never mistake one municipality's quarter for another's.
Sending is `kvartal.notify`'s; this module only writes.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from kvartal.model import Problem
from kvartal.quarters import Quarter

if TYPE_CHECKING:
    from collections.abc import Sequence

    from kvartal.notify import Doubt, SmtpSettings

log = logging.getLogger(__name__)
MAX_LISTED = 50


def what(quarter: Quarter, inbox: str | None) -> str:
    """`Vejen, 3. kvartal 2009` for a register's inbox; the quarter alone for one inbox."""
    return f"{inbox}, {quarter.label_da}" if inbox else quarter.label_da


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _footer(run_url: str | None) -> list[str]:
    lines = [
        "",
        f"Kørslen i Prefect: {run_url}"
        if run_url
        else "Kørslen i Prefect: (PREFECT_UI_URL er ikke sat, så linket kendes ikke)",
    ]
    return [*lines, "", "Denne mail er sendt automatisk af kvartal."]


def waiting(
    quarter: Quarter,
    problems: list[Problem],
    review_link: str,
    run_url: str | None,
    deadline: datetime,
    inbox: str | None = None,
    *,
    zone: str,
) -> tuple[str, str]:
    from kvartal.approval import deadline_text, problem_key

    lines = [
        f"Kørslen for {what(quarter, inbox)} har {len(problems)} fejl, der blokerer "
        "udgivelsen, og venter på en beslutning i Prefect. Kvartalet udgives kun, hvis "
        f"alle {len(problems)} fejl godkendes som afvigelser (med begrundelse og navn); "
        "ellers afvis, så centrene retter filerne.",
        "",
        f"Frist: {deadline_text(deadline, zone)}. Uden beslutning inden da udgives intet.",
        "",
        f"Valideringsrapport: {review_link}",
        "",
        "Fejl:",
    ]
    lines += [f"- {problem_key(p)}: {p.message}" for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        lines.append(f"- … og {len(problems) - MAX_LISTED} flere i valideringsrapporten")
    return (
        f"kvartal venter på godkendelse: {what(quarter, inbox)}",
        "\n".join(lines + _footer(run_url)) + "\n",
    )


def decided(
    quarter: Quarter,
    decision: str,
    who: str,
    why: str,
    waived: list[str],
    record: str,
    run_url: str | None,
    inbox: str | None = None,
) -> tuple[str, str]:
    if decision == "godkend":
        lines = [
            f"{who} har godkendt {plural(len(waived), 'afvigelse', 'afvigelser')} for "
            f"{what(quarter, inbox)}; kørslen validerer igen med afvigelserne og udgiver "
            "rapporten. Er der derefter fejl, som ikke er godkendt (fx fordi en fil er "
            "ændret imens), udgives intet, og I får en mail om det.",
            "",
            f"Begrundelse: {why}",
            "",
            "Afvigelser:",
            *[f"- {k}" for k in waived],
        ]
        subject = f"kvartal: {what(quarter, inbox)} godkendt af {who}"
    else:
        lines = [
            f"{who} har afvist udgivelsen af {what(quarter, inbox)}. Intet er udgivet; "
            "centrene skal rette filerne, hvorefter kvartalet køres igen.",
            "",
            f"Begrundelse: {why}",
        ]
        subject = f"kvartal: {what(quarter, inbox)} afvist af {who}"
    lines += ["", f"Beslutningen er registreret i {record}"]
    return subject, "\n".join(lines + _footer(run_url)) + "\n"


def timed_out(
    quarter: Quarter,
    deadline: datetime,
    record: str,
    run_url: str | None,
    inbox: str | None = None,
    *,
    zone: str,
) -> tuple[str, str]:
    from kvartal.approval import deadline_text

    lines = [
        f"Ingen har godkendt eller afvist kørslen for {what(quarter, inbox)} inden fristen "
        f"{deadline_text(deadline, zone)}. Kørslen er stoppet, og intet er udgivet.",
        "",
        "Ret fejlene eller skriv afvigelserne i afvigelser.csv, og kør kvartalet igen "
        "(kvartal run, eller »Run« på deploymentet i Prefect).",
        "",
        f"Registreret i {record}",
    ]
    return (
        f"kvartal: fristen for {what(quarter, inbox)} er overskredet",
        "\n".join(lines + _footer(run_url)) + "\n",
    )


def failed(
    quarter: Quarter, message: str, run_url: str | None, inbox: str | None = None
) -> tuple[str, str]:
    lines = [f"Kørslen for {what(quarter, inbox)} er stoppet uden udgivelse:", "", message]
    return (
        f"kvartal: {what(quarter, inbox)} kan ikke udgives",
        "\n".join(lines + _footer(run_url)) + "\n",
    )


def crashed(
    quarter: Quarter | None, message: str, run_url: str | None, inbox: str | None = None
) -> tuple[str, str]:
    """A run that waits for a decision ended in a way kvartal did not mean: nobody else
    would hear of it, and the quarter would quietly go unpublished."""
    where = what(quarter, inbox) if quarter else (inbox or "kvartalet")
    lines = [
        f"Kørslen for {where} er endt uventet, og intet er udgivet:",
        "",
        message,
        "",
        "Se kørslens log i Prefect, ret årsagen, og start kørslen igen (»Run« på "
        "deploymentet, eller kvartal run).",
    ]
    return (
        f"kvartal: kørslen for {where} er fejlet",
        "\n".join(lines + _footer(run_url)) + "\n",
    )


def delivery_doubts(
    quarter: Quarter, doubts: list[Doubt], run_url: str | None, inbox: str | None = None
) -> tuple[str, str]:
    """Mails to recipients the ledger cannot vouch for (`kvartal.notify.Doubt`): sent but not
    recorded (the run failed), or an unknown outcome that is being sent again."""
    label = what(quarter, inbox)
    lost = [d for d in doubts if d.kind == "unrecorded"]
    unknown = [d for d in doubts if d.kind != "unrecorded"]
    lines: list[str] = []
    if lost:
        lines += [
            f"Kørslen for {label} har sendt mails til modtagerne, som ikke kunne "
            "noteres i modtagerloggen. Kørslen er derfor markeret som fejlet (exit 1).",
            "",
            *[d.line() for d in lost],
            "",
            "Få lageret til at virke igen. Indtil en kørsel har noteret mailen, kan den samme "
            "modtager få den to gange; samme Message-ID gør, at nogle mailprogrammer kun viser "
            "den én gang.",
        ]
    if unknown:
        lines += [
            *([""] if lines else []),
            f"Det vides ikke, om disse modtagere fik mailen om {label}: kørslen, der "
            "sendte, noterede aldrig svaret. Mailen sendes igen, så ingen går glip af en "
            "version; modtageren kan have fået den to gange.",
            "",
            *[d.line() for d in unknown],
        ]
    subject = (
        f"kvartal: mail om {label} kunne ikke noteres"
        if lost
        else f"kvartal: mail om {label} sendt igen (ukendt udfald)"
    )
    return subject, "\n".join(lines + _footer(run_url)) + "\n"


def send(subject: str, text: str, to: Sequence[str], smtp: SmtpSettings | None) -> list[str]:
    """Mail every operator address `to` (the caller's KVARTAL_OPERATOR_EMAILS) through
    `smtp` (its `SmtpSettings.from_env()`); returns who was mailed."""
    from kvartal import notify

    if not to or smtp is None:
        log.info(
            "Ingen operatøradresser eller SMTP-server sat (KVARTAL_OPERATOR_EMAILS, "
            "KVARTAL_SMTP_HOST); ingen e-mail sendt: %s",
            subject,
        )
        return []
    for address in to:
        notify.send_mail(smtp, address, subject, text)
    return list(to)
