from __future__ import annotations

import smtplib

from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from kvartal import pipeline
from kvartal.config import settings
from kvartal.pipeline import Fulfilment
from kvartal.quarters import Quarter
from kvartal.report import MAILED_FILES
from kvartal.storage import open_storage


@task(name="notify-recipients", retries=2, retry_delay_seconds=[5, 20], cache_policy=NONE)
def notify_recipients(
    publish_to: str,
    review_to: str,
    quarter: Quarter,
    fulfilment: Fulfilment,
    inbox_name: str | None = None,
) -> dict[int, list[str]]:
    """Every recipient gets one mail per published version of the quarter: what the ledger
    says is owed, whichever run published it. Returns who was mailed, by version; raises
    (the task fails, the flow logs it, the next run tries again) if anyone is still owed.

    A retry in this process writes the records of mails the server accepted but the ledger
    did not take; if they still cannot be written the error says so (`fails_run`), and the
    flow fails the run. An unknown outcome this run takes over is told at once.
    """
    from kvartal import notify, operator_mail
    from kvartal.links import run_url

    logger = get_run_logger()
    smtp = notify.SmtpSettings.from_env()
    agreements = sorted({t.agreement for t in fulfilment.targets})
    recipients = notify.recipients_for(notify.recipients_from_env(), agreements)
    if smtp is None or not recipients:
        return {}
    storage = open_storage(publish_to)
    link = pipeline.recipient_link(storage, settings().link_expiry)

    def tell(doubts: list[notify.Doubt]) -> None:
        for d in doubts:
            logger.error("Ukendt udfald af mail, sendes igen: %s", d.line().removeprefix("- "))
        subject, text = operator_mail.delivery_doubts(
            quarter, doubts, run_url(_run_id()), inbox_name
        )
        try:
            operator_mail.send(subject, text, settings().operator_addresses, smtp)
        except (OSError, smtplib.SMTPException, notify.NotifyError) as exc:
            logger.error("E-mail til operatørerne mislykkedes: %s", exc)

    titles = {t.target_id: t.title for t in fulfilment.targets}
    delivery = notify.deliver_owed(
        storage,
        open_storage(review_to),
        quarter,
        recipients,
        smtp,
        titles,
        link,
        MAILED_FILES,
        notify.Courier.smtp(smtp, tell=tell, zone=settings().timezone),
    )
    for version, sent in sorted(delivery.sent.items()):
        if sent:
            logger.info("Version %d af %s: mail sendt til %s", version, quarter, ", ".join(sent))
    for version, busy in sorted(delivery.busy.items()):
        for to, holder in busy.items():
            logger.info(
                "Version %d af %s: mailen til %s sendes af en anden kørsel (%s)",
                version,
                quarter,
                to,
                holder,
            )
    return delivery.sent


def _run_id() -> str | None:
    from prefect import runtime

    run_id = runtime.flow_run.id
    return str(run_id) if run_id else None


@task(name="notify-operators", retries=2, retry_delay_seconds=[10, 60], cache_policy=NONE)
def notify_operators(subject: str, text: str) -> list[str]:
    """Mail the operators (KVARTAL_OPERATOR_EMAILS); the text is kvartal.operator_mail's."""
    from kvartal import operator_mail
    from kvartal.notify import SmtpSettings

    sent = operator_mail.send(subject, text, settings().operator_addresses, SmtpSettings.from_env())
    if not sent:
        get_run_logger().info(
            "Ingen operatøradresser eller SMTP-server sat; ingen e-mail: %s", subject
        )
    return sent


DEADLINE_FLOW = "approval-deadline"
DEADLINE_DEPLOYMENT = "kvartal-frist"
