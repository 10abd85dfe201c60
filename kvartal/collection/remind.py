"""Reminders before the deadline, and the operators' mail the day after it.

`remind` is told the day (the deployment's scheduled day, an operator's catch-up, a test's
clock); on a day with nothing due it returns before reading a spreadsheet. Every mail is
recorded in the ledger create-only, once per centre, address and day, so repeated runs and
restarts send nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from kvartal.collection import ledger
from kvartal.quarters import Quarter

if TYPE_CHECKING:
    from kvartal.config import CollectionSettings
    from kvartal.notify import SmtpSettings
    from kvartal.readers import Limits
    from kvartal.storage import Storage


@dataclass
class RemindOutcome:
    lines: list[str] = field(default_factory=list)
    sent: list[tuple[str, str]] = field(default_factory=list)  # (centre or "operatører", to)
    failed: dict[str, str] = field(default_factory=dict)


def due_on(quarter: Quarter, day: date, cfg: CollectionSettings) -> str | None:
    """'påmindelse', 'operatører' or None: what `day` asks for."""
    from kvartal.collection.status import deadline

    last = deadline(quarter, cfg).date()
    if (last - day).days in cfg.reminder_offsets and day <= last:
        return "påmindelse"
    if day == last + timedelta(days=1):
        return "operatører"
    return None


def remind(
    inbox: Storage,
    review: Storage,
    quarter: Quarter,
    day: date,
    smtp: SmtpSettings | None,
    cfg: CollectionSettings,
    limits: Limits,
) -> RemindOutcome:
    outcome = RemindOutcome()
    kind = due_on(quarter, day, cfg)
    if kind is None:
        outcome.lines.append(f"{quarter}: intet at sende {day.isoformat()}")
        return outcome

    from kvartal.collection.mails import operators_mail, reminder_mail
    from kvartal.collection.status import collect
    from kvartal.notify import NotifyError, send_mail

    collection = collect(inbox, quarter, cfg, limits)
    sent = set(review.list(f"{ledger.ROOT}/{quarter}/"))

    def deliver(record: str, who: str, to: str, subject: str, text: str) -> None:
        if record in sent:
            return
        if smtp is None:
            outcome.failed[to] = "ingen mailserver (sæt KVARTAL_SMTP_HOST)"
            return
        try:
            send_mail(smtp, to, subject, text)
        except (OSError, NotifyError) as exc:  # smtplib's errors are OSErrors
            outcome.failed[to] = f"{type(exc).__name__}: {exc}"
            return
        ledger.record(review, record, to=to, who=who, day=day.isoformat())
        sent.add(record)
        outcome.sent.append((who, to))
        outcome.lines.append(f"{who}: mail til {to}")

    if kind == "påmindelse":
        for c in collection.centres:
            if c.complete or not c.owed:
                continue
            if not c.emails:
                outcome.lines.append(f"{c.centre}: ingen e-mailadresse; ingen påmindelse")
                continue
            subject, text = reminder_mail(
                c.centre,
                c.owed,
                c.where or None,
                len(c.errors),
                quarter.label_da,
                collection.deadline,
            )
            for to in c.emails:
                deliver(
                    ledger.reminder_key(quarter, day.isoformat(), c.centre, to),
                    c.centre,
                    to,
                    subject,
                    text,
                )
    else:
        groups: dict[str, list[str]] = {"Mangler": [], "For sent": [], "Med fejl": []}
        for c in collection.centres:
            if c.file is None:
                groups["Mangler"].append(c.centre)
                continue
            if not c.on_time:
                groups["For sent"].append(f"{c.centre} ({c.where})")
            if c.errors:
                groups["Med fejl"].append(f"{c.centre}: {len(c.errors)} fejl i {c.where}")
        subject, text = operators_mail(groups, quarter.label_da, collection.deadline)
        operators = cfg.operator_addresses
        if not operators:
            outcome.lines.append("operatører: KVARTAL_OPERATOR_EMAILS er ikke sat; intet sendt")
        for to in operators:
            deliver(ledger.operators_key(quarter, to), "operatører", to, subject, text)
    if not outcome.sent and not outcome.failed:
        outcome.lines.append(f"{quarter}: alt, der skulle sendes {day.isoformat()}, er sendt")
    return outcome
