from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from kvartal.config import settings
from kvartal.quarters import Quarter
from kvartal.storage import open_storage
from tasks.fulfil import Fulfilment

REPORT_FILES = ("report.html", "report.pdf", "report.xlsx")


@task(name="notify-recipients", retries=2, retry_delay_seconds=[5, 20], cache_policy=NONE)
def notify_recipients(
    publish_to: str, review_to: str, quarter: Quarter, fulfilment: Fulfilment
) -> dict[int, list[str]]:
    """Every recipient gets one mail per published version of the quarter: what the ledger
    says is owed, whichever run published it. Returns who was mailed, by version; raises
    (the task fails, the flow logs it, the next run tries again) if anyone is still owed."""
    from kvartal import notify

    logger = get_run_logger()
    smtp = notify.SmtpSettings.from_env()
    agreements = sorted({t.agreement for t in fulfilment.targets})
    recipients = notify.recipients_for(notify.recipients_from_env(), agreements)
    if smtp is None or not recipients:
        return {}
    storage = open_storage(publish_to)
    expiry = min(settings().link_expiry, 604800)
    presign = getattr(storage, "presigned_url", None)

    def link(key: str) -> str:
        return str(presign(key, expiry)) if presign else storage.location(key)

    titles = {t.target_id: t.title for t in fulfilment.targets}
    delivery = notify.deliver_owed(
        storage, open_storage(review_to), quarter, recipients, smtp, titles, link, REPORT_FILES
    )
    for version, sent in sorted(delivery.sent.items()):
        logger.info("Version %d af %s: mail sendt til %s", version, quarter, ", ".join(sent))
    return delivery.sent


@task(name="notify-operators", retries=2, retry_delay_seconds=[10, 60], cache_policy=NONE)
def notify_operators(subject: str, text: str) -> list[str]:
    """Mail the operators (KVARTAL_OPERATOR_EMAILS); the text is kvartal.operator_mail's."""
    from kvartal import operator_mail

    sent = operator_mail.send(subject, text)
    if not sent:
        get_run_logger().info(
            "Ingen operatøradresser eller SMTP-server sat; ingen e-mail: %s", subject
        )
    return sent


DEADLINE_FLOW = "approval-deadline"
DEADLINE_DEPLOYMENT = "kvartal-frist"
