"""The deadline of an operator's decision, as a flow run scheduled for that moment.

A suspended quarterly run has no process that could notice its deadline pass. Prefect's own
pause timeout is set to the deadline, so the server fails an undecided run on time whether
or not a worker slot is free (an English "never resumed"). This run, scheduled for the same
moment, then does what Prefect does not: it gives the run its Danish ending, writes
who/why/when to the review location, mails the operators and updates the register's
overview. It may start late behind busy workers; the quarter has stopped on time anyway.
A decision in time cancels this run (flows.approval.settle); if it runs anyway, it finds the
run decided and does nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger

from flows.approval import TIMED_OUT
from kvartal import operator_mail
from kvartal.approval import deadline_text, record_decision
from kvartal.config import settings
from kvartal.links import run_url
from kvartal.notify import SmtpSettings
from kvartal.quarters import Quarter
from kvartal.storage import open_storage

PREFECT_TIMEOUT_MESSAGE = "never resumed"


@flow(name="approval-deadline")
def approval_deadline(
    flow_run_id: str,
    quarter: str,
    review_to: str,
    deadline: str,
    inbox_name: str | None = None,
) -> str:
    from prefect import get_client
    from prefect.states import Failed

    logger = get_run_logger()
    zone = settings().timezone
    q, due = Quarter.parse(quarter), datetime.fromisoformat(deadline)
    url = run_url(flow_run_id)
    message = (
        f"{operator_mail.what(q, inbox_name)}: ingen beslutning inden fristen "
        f"{deadline_text(due, zone)}; intet er udgivet. Ret fejlene eller skriv afvigelserne i "
        "afvigelser.csv, og kør kvartalet igen."
    )
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(flow_run_id))
        state = run.state
        expired = (
            state is not None
            and state.is_failed()
            and PREFECT_TIMEOUT_MESSAGE in (state.message or "")
        )
        if not (state is not None and state.is_paused()) and not expired:
            logger.info(
                "%s: beslutningen blev truffet inden fristen (%s)",
                operator_mail.what(q, inbox_name),
                state.name if state else "?",
            )
            return "besluttet"
        ended: Any = Failed(name=TIMED_OUT, message=message)
        client.set_flow_run_state(UUID(flow_run_id), ended, force=True)
    record = record_decision(
        open_storage(review_to),
        q,
        flow_run_id,
        "frist_overskredet",
        None,
        f"Ingen beslutning inden fristen {deadline_text(due, zone)}",
        [],
        url,
    )
    operator_mail.send(
        *operator_mail.timed_out(q, due, record, url, inbox_name, zone=zone),
        settings().operator_addresses,
        SmtpSettings.from_env(),
    )
    _overview(run.parameters or {}, flow_run_id, message, zone)
    logger.warning(message)
    return "frist_overskredet"


def _overview(params: dict[str, Any], flow_run_id: str, message: str, zone: str) -> None:
    if not params.get("summary_to") or not params.get("inbox_name") or not params.get("quarter"):
        return
    from kvartal.summary import InboxOutcome, update_inbox

    update_inbox(
        open_storage(params["summary_to"]),
        params["quarter"],
        InboxOutcome(
            params["inbox_name"],
            "blokeret",
            reason=message,
            flow_run_id=flow_run_id,
            run_url=run_url(flow_run_id),
        ),
        zone,
    )
