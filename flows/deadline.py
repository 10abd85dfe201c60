"""The deadline of an operator's decision, as a flow run scheduled for that moment.

A suspended quarterly run has no process that could notice its deadline pass, and Prefect's
own pause timeout fails it with an English message and tells nobody. So the quarterly run
schedules a run of this flow for its deadline when it suspends: if the decision is still
open then, this run ends the quarterly run with a Danish message, writes who/why/when to
the review location and mails the operators. A decision in time leaves it nothing to do.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from prefect import flow, get_run_logger

from kvartal import operator_mail
from kvartal.approval import deadline_text, record_decision
from kvartal.links import run_url
from kvartal.quarters import Quarter
from kvartal.storage import open_storage

PREFECT_TIMEOUT_MESSAGE = "never resumed"


@flow(name="approval-deadline")
def approval_deadline(flow_run_id: str, quarter: str, review_to: str, deadline: str) -> str:
    from prefect import get_client
    from prefect.states import Failed

    logger = get_run_logger()
    q, due = Quarter.parse(quarter), datetime.fromisoformat(deadline)
    url = run_url(flow_run_id)
    message = (
        f"{q}: ingen beslutning inden fristen {deadline_text(due)}; intet er udgivet. "
        "Ret fejlene eller skriv afvigelserne i afvigelser.csv, og kør kvartalet igen."
    )
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(flow_run_id)).state
        if state is not None and state.is_paused():
            client.set_flow_run_state(
                UUID(flow_run_id), Failed(name="Frist overskredet", message=message), force=True
            )
        elif not (
            state is not None
            and state.is_failed()
            and PREFECT_TIMEOUT_MESSAGE in (state.message or "")
        ):
            logger.info(
                "%s: beslutningen blev truffet inden fristen (%s)", q, state.name if state else "?"
            )
            return "besluttet"
    record = record_decision(
        open_storage(review_to),
        q,
        flow_run_id,
        "frist_overskredet",
        None,
        f"Ingen beslutning inden fristen {deadline_text(due)}",
        [],
        url,
    )
    operator_mail.send(*operator_mail.timed_out(q, due, record, url))
    logger.warning(message)
    return "frist_overskredet"
