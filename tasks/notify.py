from __future__ import annotations

from collections import Counter

from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from kvartal.config import setting
from kvartal.model import Problem
from kvartal.publish import PublishResult
from kvartal.quarters import Quarter
from kvartal.storage import open_storage
from tasks.fulfil import Fulfilment

REPORT_FILES = ("report.html", "report.pdf", "report.xlsx")


@task(name="notify-recipients", retries=2, retry_delay_seconds=[5, 20], cache_policy=NONE)
def notify_recipients(publish_to: str, review_to: str, published: PublishResult,
                      fulfilment: Fulfilment) -> list[str]:
    """One email per recipient per new version; the ledger in the review location makes a
    retried task send nothing twice."""
    from kvartal import notify

    settings = notify.SmtpSettings.from_env()
    agreements = sorted({t.agreement for t in fulfilment.targets})
    recipients = notify.recipients_for(notify.recipients_from_env(), agreements)
    if settings is None or not recipients:
        return []
    storage = open_storage(publish_to)
    expiry = min(int(setting("KVARTAL_LINK_EXPIRY")), 604800)
    links = {}
    for name in REPORT_FILES:
        key = f"{published.quarter}/versions/{published.version}/{name}"
        presign = getattr(storage, "presigned_url", None)
        links[name] = presign(key, expiry) if presign else storage.location(key)
    counts = Counter(r.status for r in fulfilment.results)
    titles = {t.target_id: t for t in fulfilment.targets}
    off_track = [f"{r.initiative} {titles[r.target_id].title} ({r.target_id})"
                 for r in fulfilment.results if r.status == "off_track"]
    return notify.notify_publication(
        published.quarter, published.version, dict(counts), off_track, links, recipients,
        ledger=open_storage(review_to), settings=settings)


@task(name="notify-operators", retries=2, retry_delay_seconds=[10, 60], cache_policy=NONE)
def notify_operators(quarter: Quarter, problems: list[Problem], review: str) -> None:
    """Tell the operators a scheduled run waits for them (if they configured addresses)."""
    from kvartal import notify

    logger = get_run_logger()
    to = [a.strip() for a in setting("KVARTAL_OPERATOR_EMAILS").split(",") if a.strip()]
    settings = notify.SmtpSettings.from_env()
    if not to or settings is None:
        logger.info("Ingen operatøradresser sat (KVARTAL_OPERATOR_EMAILS); ingen e-mail sendt")
        return
    lines = "\n".join(f"- {p.line()}" for p in problems[:50])
    for address in to:
        notify.send_mail(settings, address,
                         f"kvartal venter på godkendelse: {quarter.label_da}",
                         f"Kørslen for {quarter.label_da} har {len(problems)} fejl og venter "
                         f"på en beslutning i Prefect (godkend eller afvis).\n\n"
                         f"Valideringsrapport: {review}\n\n{lines}\n")
