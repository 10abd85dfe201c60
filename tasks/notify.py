from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from kvartal.config import settings
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

    smtp = notify.SmtpSettings.from_env()
    agreements = sorted({t.agreement for t in fulfilment.targets})
    recipients = notify.recipients_for(notify.recipients_from_env(), agreements)
    if smtp is None or not recipients:
        return []
    storage = open_storage(publish_to)
    expiry = min(settings().link_expiry, 604800)
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
        ledger=open_storage(review_to), settings=smtp)


@task(name="notify-operators", retries=2, retry_delay_seconds=[10, 60], cache_policy=NONE)
def notify_operators(subject: str, text: str) -> list[str]:
    """Mail the operators (KVARTAL_OPERATOR_EMAILS); the text is kvartal.operator_mail's."""
    from kvartal import operator_mail

    sent = operator_mail.send(subject, text)
    if not sent:
        get_run_logger().info("Ingen operatøradresser eller SMTP-server sat; ingen e-mail: %s",
                              subject)
    return sent


DEADLINE_FLOW = "approval-deadline"
DEADLINE_DEPLOYMENT = "kvartal-frist"


@task(name="schedule-deadline", retries=2, retry_delay_seconds=[5, 20], cache_policy=NONE)
def schedule_deadline(quarter: Quarter, run_id: str | None, review_to: str,
                      timeout: int) -> datetime:
    """The decision's deadline, and a run of the deadline deployment scheduled for it.

    That run holds no process while it waits; at the deadline it fails an undecided run
    with a Danish message, records it in the review location and tells the operators.
    Without the deadline deployment (a flow run outside `kvartal deploy`) Prefect's own
    timeout still ends the run, an hour later and silently, which the log says here.
    """
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Scheduled

    deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=timeout)
    if run_id is None:
        return deadline
    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(
                f"{DEADLINE_FLOW}/{DEADLINE_DEPLOYMENT}")
        except ObjectNotFound:
            get_run_logger().warning(
                "Deploymentet %s/%s findes ikke (kør kvartal deploy): fristen overvåges "
                "kun af Prefect, uden registrering og uden mail", DEADLINE_FLOW,
                DEADLINE_DEPLOYMENT)
            return deadline
        client.create_flow_run_from_deployment(
            deployment.id,
            parameters={"flow_run_id": run_id, "quarter": str(quarter),
                        "review_to": review_to, "deadline": deadline.isoformat()},
            state=Scheduled(scheduled_time=deadline),
            tags=["kvartal", "frist"])
    return deadline
