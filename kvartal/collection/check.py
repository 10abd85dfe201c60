"""The centres' own check: each new file content is validated once and its centre told.

The idle pass (nothing new) must cost next to nothing over a whole quarter of polls: it
lists the inbox, hashes only files whose size or time changed since the last pass, lists
the ledger and stops, importing neither pandas nor Great Expectations. Only a new content
pays for the quarterly run's own check stage (`kvartal.pipeline.check`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kvartal.collection import ledger
from kvartal.collection.files import quarter_entries
from kvartal.quarters import Quarter

if TYPE_CHECKING:
    from kvartal.config import CollectionSettings
    from kvartal.notify import SmtpSettings
    from kvartal.readers import Limits
    from kvartal.storage import Storage


class MailNotConfigured(RuntimeError):
    """The check has something to tell but no mail server to tell it with."""


@dataclass
class CheckOutcome:
    lines: list[str] = field(default_factory=list)
    checked: int = 0  # file contents checked in this pass
    failed: dict[str, str] = field(default_factory=dict)  # address -> why


def new_contents(inbox: Storage, review: Storage, quarter: Quarter) -> dict[str, str]:
    """key -> sha256 of every file of the quarter whose content no pass has checked."""
    seen = ledger.read_seen(review, quarter)
    current: dict[str, tuple[str, str]] = {}
    for e in quarter_entries(inbox, quarter):
        cached = seen.get(e.key)
        if cached is not None and cached[0] == e.stamp:
            current[e.key] = cached
        else:
            current[e.key] = (e.stamp, hashlib.sha256(inbox.read(e.key)).hexdigest())
    if current != seen:
        ledger.write_seen(review, quarter, current)
    done = ledger.checked(review, quarter)
    return {k: sha for k, (_, sha) in current.items() if sha not in done}


def check(
    inbox: Storage,
    review: Storage,
    quarter: Quarter,
    smtp: SmtpSettings | None,
    limits: Limits,
    cfg: CollectionSettings,
) -> CheckOutcome:
    outcome = CheckOutcome()
    new = new_contents(inbox, review, quarter)
    if not new:
        outcome.lines.append(f"{quarter}: intet nyt i indbakken")
        return outcome
    if smtp is None:
        raise MailNotConfigured(
            f"{len(new)} nye filer i {quarter}/, men der er ingen mailserver (sæt "
            "KVARTAL_SMTP_HOST eller KVARTAL_SMTP_BLOCK); centrene kan ikke få svar."
        )

    from kvartal import pipeline
    from kvartal.collection.mails import check_mail
    from kvartal.collection.status import collect_from
    from kvartal.notify import NotifyError, send_mail

    checked = pipeline.check(inbox, quarter, limits)  # the quarterly run's own check stage
    collection = collect_from(inbox, checked.inputs, checked.frames, checked.validation, cfg)
    done = ledger.checked(review, quarter)
    sent = set(review.list(ledger.check_dir(quarter) + "/"))
    for key in sorted(collection.files):
        sha = collection.files[key]  # what was read and validated now
        if sha in done:
            continue
        outcome.checked += 1
        claimants = collection.claims.get(key, [])
        if not claimants:
            outcome.lines.append(f"{key}: intet centre afleverer en fil med dette navn")
        failed_here = False
        for centre_key_ in claimants:
            status = collection.centre(centre_key_)
            if status is None:
                continue
            if not status.emails:
                outcome.lines.append(f"{key}: {status.centre} har ingen e-mailadresse")
                continue
            errors, warnings, missing = collection.file_report(key, status)
            subject, text = check_mail(
                status.centre,
                key,
                status.delivered_at if status.file == key else None,
                errors,
                warnings,
                missing,
                quarter.label_da,
                collection.deadline,
            )
            result = f"{len(errors)} fejl" if errors else "uden fejl"
            for address in status.emails:
                record = ledger.check_mail_key(quarter, sha, status.centre, address)
                if record in sent:
                    continue
                try:
                    send_mail(smtp, address, subject, text)
                except (OSError, NotifyError) as exc:  # smtplib's errors are OSErrors
                    outcome.failed[address] = f"{type(exc).__name__}: {exc}"
                    failed_here = True
                    continue
                ledger.record(review, record, file=key, sha256=sha, centre=status.centre)
                sent.add(record)
                outcome.lines.append(f"{key}: {status.centre}: {result}; mail til {address}")
        if not failed_here:
            ledger.record(review, ledger.done_key(quarter, sha), file=key, sha256=sha)
    return outcome
