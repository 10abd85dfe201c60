"""The centres' check and the reminders as Prefect flows (CONTRACT §9).

Both call the plain functions `kvartal check` and `kvartal remind` call, in the flow run's
own process: a check that finds nothing new lists the inbox and the ledger and ends, without
loading pandas or Great Expectations. Nothing here publishes.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger

from kvartal.config import settings
from kvartal.quarters import Quarter
from kvartal.storage import open_storage


class CollectionMailFailed(RuntimeError):
    """Some mails could not be sent; the ledger shows who is still owed, the next run sends."""


def collecting(day: date) -> Quarter:
    """The quarter being collected on `day`: from its last day until the next one's."""
    current = Quarter.containing(day)
    return current if day == current.last_day else current - 1


def _today() -> date:
    """The run's scheduled day in Danish time (a late run still acts for its own day)."""
    from prefect.runtime import flow_run

    zone = ZoneInfo(settings().timezone)
    scheduled = flow_run.scheduled_start_time
    moment = datetime.fromisoformat(str(scheduled)) if scheduled else datetime.now(zone)
    return moment.astimezone(zone).date()


def _published(publish_to: str, quarter: Quarter) -> bool:
    return open_storage(publish_to).exists(f"{quarter}/manifest.json")


@flow(name="collection-check")
def collection_check(
    inbox: str, review_to: str, publish_to: str, quarter: str | None = None
) -> list[str]:
    from kvartal.collection.check import check
    from kvartal.notify import SmtpSettings

    logger = get_run_logger()
    q = Quarter.parse(quarter) if quarter else collecting(_today())
    if quarter is None and _published(publish_to, q):
        logger.info("%s er udgivet; indsamlingen er slut", q)
        return [f"{q}: udgivet; ingen kontrol"]
    outcome = check(
        open_storage(inbox),
        open_storage(review_to),
        q,
        SmtpSettings.from_env(),
        settings().read_limits(),
        settings().collection(),
    )
    for line in outcome.lines:
        logger.info(line)
    if outcome.failed:
        raise CollectionMailFailed(
            "mail kunne ikke sendes til: "
            + ", ".join(f"{to} ({why})" for to, why in outcome.failed.items())
        )
    return outcome.lines


@flow(name="collection-reminders")
def collection_reminders(
    inbox: str, review_to: str, quarter: str | None = None, day: str | None = None
) -> list[str]:
    from kvartal.collection.remind import remind
    from kvartal.notify import SmtpSettings

    logger = get_run_logger()
    d = date.fromisoformat(day) if day else _today()
    # Reminders fall before a quarter's deadline, inside the quarter or just after it; the
    # operators' mail the day after the deadline: both quarters around `d` are asked.
    quarters = (
        [Quarter.parse(quarter)] if quarter else [Quarter.containing(d) - 1, Quarter.containing(d)]
    )
    lines: list[str] = []
    failed: dict[str, str] = {}
    cfg = settings()
    for q in quarters:
        outcome = remind(
            open_storage(inbox),
            open_storage(review_to),
            q,
            d,
            SmtpSettings.from_env(),
            cfg.collection(),
            cfg.read_limits(),
        )
        lines += outcome.lines
        failed.update(outcome.failed)
    for line in lines:
        logger.info(line)
    if failed:
        raise CollectionMailFailed(
            "mail kunne ikke sendes til: "
            + ", ".join(f"{to} ({why})" for to, why in failed.items())
        )
    return lines
