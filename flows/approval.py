"""An operator's decision on a blocked quarter, as two steps the quarterly flow calls.

`await_decision` tells the operators, schedules the deadline's run and suspends the flow run
(the process ends there); on resumption it returns the operator's answer. `settle` writes
the decision down, tells the operators, cancels the deadline's run and, for an approval,
appends the waivers to the inbox; a rejection comes back as the run's final Danish state.
Prefect's own human-approval pattern, kept out of the main flow so that it reads as a table
of contents and this part can be run on its own against a test API.

Only a top-level flow run of a deployment can be suspended: a register's blocked inbox
therefore gets a run of its own (`flows.quarterly_reports.await_approval_elsewhere`), never
a child run of the register's run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import State, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.flow_runs import suspend_flow_run
from prefect.states import Failed

from kvartal import operator_mail
from kvartal.approval import (
    append_waivers,
    decision_form,
    record_decision,
    waivable,
    waivers_for,
)
from kvartal.model import Problem, Waiver
from kvartal.quarters import Quarter
from kvartal.storage import open_storage

DECISION_KEY = "beslutning"
# Final states kvartal gives a run on purpose; each has been mailed already.
REJECTED, TIMED_OUT, CANNOT_PUBLISH = "Afvist", "Frist overskredet", "Kan ikke udgives"
# Published, but a recipient's mail could not be recorded: told by its own operator mail.
UNRECORDED = "Mail ikke noteret"
CLEAN_ENDS = frozenset({REJECTED, TIMED_OUT, CANNOT_PUBLISH, UNRECORDED})


@dataclass(frozen=True)
class Blocked:
    """What the decision is about, and where it is written down; fixed for the run."""

    quarter: Quarter
    inbox: str
    review_to: str
    name: str | None  # the register's name for the inbox, None for a lone inbox
    run_id: str | None
    url: str | None
    timeout: int  # seconds from suspension to the deadline
    zone: str  # KVARTAL_TIMEZONE: the deadline as operators read it


@dataclass(frozen=True)
class Decision:
    approved: bool
    who: str
    why: str
    waived: list[str]
    deadline_run: str | None


def tell(subject: str, text: str, durable: bool = False) -> None:
    """Mail the operators; a mail server that is down is logged, never the run's end."""
    from flows.quarterly import _durable
    from tasks.notify import notify_operators

    state = _durable(notify_operators, durable)(subject, text, return_state=True)
    if state.is_failed():
        get_run_logger().error(
            "E-mail til operatørerne mislykkedes: %s", state.result(raise_on_failure=False)
        )


def await_decision(blocked: Blocked, problems: list[Problem], review: str) -> Decision:
    """Suspend the run until an operator decides; returns the decision.

    The first execution tells the operators, schedules the deadline's run and suspends.
    The execution after resumption finds those steps cached and gets the answer from
    `suspend_flow_run` at once. Prefect's own pause timeout is the deadline itself: the
    server fails an undecided run at that moment whether or not a worker is free, and the
    deadline's run then records it in Danish and mails the operators.
    """
    from flows.quarterly import _durable

    q = blocked.quarter
    deadline, deadline_run = _durable(schedule_deadline, True)(
        q, blocked.run_id, blocked.review_to, blocked.timeout, blocked.name
    )
    listed = [p for p in problems if waivable(p)]
    tell(
        *operator_mail.waiting(
            q, listed, review, blocked.url, deadline, blocked.name, zone=blocked.zone
        ),
        durable=True,
    )
    form = decision_form(
        problems, q, review, blocked.url, deadline, blocked.name, zone=blocked.zone
    )
    get_run_logger().warning(
        "%s: %d fejl; kørslen venter på en operatørs beslutning i Prefect (frist %s)",
        operator_mail.what(q, blocked.name),
        len(listed),
        deadline.isoformat(),
    )
    answer: Any = suspend(form, blocked.timeout)
    approved = answer.beslutning == "godkend"
    return Decision(
        approved,
        answer.godkendt_af,
        answer.begrundelse,
        list(answer.afvigelser) if approved else [],
        deadline_run,
    )


def suspend(form: type[Any], timeout: int) -> Any:
    """Prefect's `suspend_flow_run`, with the decision form stored whatever the API answered.

    Prefect stores the form only after the API has answered the suspension. When that
    answer is lost (a read timeout while the server waits on its database) the client sends
    the suspension again, is told the run is paused already and ends the execution without
    storing the form; the server then refuses every operator's answer ("Run input schema
    not found") until the deadline. So the run's paused state is read back from the
    exception and its form stored when it is missing.
    """
    from prefect.exceptions import Pause
    from prefect.input.actions import read_flow_run_input
    from prefect.input.run_input import keyset_from_paused_state, run_input_subclass_from_type

    try:
        return suspend_flow_run(wait_for_input=form, key=DECISION_KEY, timeout=timeout)
    except Pause as paused:
        state = paused.state
        if state is not None and state.is_paused():
            keyset: Any = state.state_details.run_input_keyset or keyset_from_paused_state(state)
            if read_flow_run_input(keyset["schema"]) is None:
                run_input_subclass_from_type(form).save(keyset)
        raise


def settle(
    blocked: Blocked, decision: Decision, problems: list[Problem]
) -> list[Waiver] | State[Any]:
    """Write the decision down and tell it; the waivers to publish with, or the run's end."""
    q = blocked.quarter
    cancel_deadline_run(decision.deadline_run)
    word = "godkend" if decision.approved else "afvis"
    record = record_decision(
        open_storage(blocked.review_to),
        q,
        blocked.run_id or "",
        word,
        decision.who,
        decision.why,
        decision.waived,
        blocked.url,
    )
    tell(
        *operator_mail.decided(
            q, word, decision.who, decision.why, decision.waived, record, blocked.url, blocked.name
        )
    )
    if not decision.approved:
        message = (
            f"{operator_mail.what(q, blocked.name)}: udgivelsen er afvist af "
            f"{decision.who}: {decision.why}. Intet er udgivet. Beslutningen er "
            f"registreret i {record}"
        )
        get_run_logger().warning(message)  # the last line of the run's log says it too
        return Failed(name=REJECTED, message=message)
    waivers = waivers_for(problems, decision.waived, decision.why, decision.who)
    key = append_waivers(open_storage(blocked.inbox), q, waivers)
    get_run_logger().info(
        "%s godkendt af %s skrevet i %s",
        operator_mail.plural(len(waivers), "afvigelse", "afvigelser"),
        decision.who,
        key,
    )
    return waivers


def cancel_deadline_run(run_id: str | None) -> None:
    """A decided run's deadline has nothing left to do: it is cancelled, not left Scheduled."""
    if not run_id:
        return
    from uuid import UUID

    from prefect import get_client
    from prefect.states import Cancelled

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(run_id))
        if run.state is not None and run.state.is_scheduled():
            client.set_flow_run_state(
                UUID(run_id), Cancelled(message="beslutningen blev truffet inden fristen")
            )


@task(name="schedule-deadline", retries=2, retry_delay_seconds=[5, 20], cache_policy=NONE)
def schedule_deadline(
    quarter: Quarter, run_id: str | None, review_to: str, timeout: int, name: str | None = None
) -> tuple[datetime, str | None]:
    """The decision's deadline, and a run of the deadline deployment scheduled for it.

    That run holds no process while it waits; at the deadline it records in the review
    location why the run ended and tells the operators. Its id comes back so that a
    decision in time can cancel it. Without the deadline deployment (a flow run outside
    `kvartal deploy`) Prefect's own timeout still ends the run at the deadline, silently,
    which the log says here.
    """
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Scheduled

    from tasks.notify import DEADLINE_DEPLOYMENT, DEADLINE_FLOW

    deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=timeout)
    if run_id is None:
        return deadline, None
    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(f"{DEADLINE_FLOW}/{DEADLINE_DEPLOYMENT}")
        except ObjectNotFound:
            get_run_logger().warning(
                "Deploymentet %s/%s findes ikke (kør kvartal deploy): fristen overvåges "
                "kun af Prefect, uden registrering og uden mail",
                DEADLINE_FLOW,
                DEADLINE_DEPLOYMENT,
            )
            return deadline, None
        run = client.create_flow_run_from_deployment(
            deployment.id,
            parameters={
                "flow_run_id": run_id,
                "quarter": str(quarter),
                "review_to": review_to,
                "deadline": deadline.isoformat(),
                "inbox_name": name,
            },
            state=Scheduled(scheduled_time=deadline),
            tags=["kvartal", "frist"],
            # a creation sent again (its answer lost) returns the run made the first time
            idempotency_key=f"{run_id}:frist:{deadline.isoformat()}",
        )
    return deadline, str(run.id)
