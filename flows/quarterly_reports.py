"""Many inboxes in one quarter: a parent flow with one quarterly child flow run per inbox.

Each inbox runs as the `quarterly-report` flow, in this process, as a child flow run with
its own state, logs and artifacts in the Prefect UI: the ~15 s of imports and the Prefect
API are paid once per process, not once per inbox. A child that fails or is blocked is
recorded and the next inbox runs.

Across machines the parent splits the register into `shards` parts: it runs the first part
itself and submits each other part as a run of the `quarterly-reports-shard` deployment,
which any worker of the work pool picks up and runs the same way, in its own process. A
blocked inbox in a scheduled run does not wait in-process (that would hold every inbox
behind it): its own run of the single-inbox deployment is submitted, and that run waits
for the operator's decision. Concurrency per S3 endpoint and per mail server is a Prefect
global concurrency limit, held around each inbox's child run.
"""

from __future__ import annotations

import re
import time
from typing import Any
from uuid import UUID, uuid4

from prefect import State, flow, get_run_logger, runtime, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NONE
from prefect.client.schemas.objects import FlowRun
from prefect.concurrency.sync import concurrency

from flows.quarterly import QuarterBlocked, quarterly_report, scheduled_quarter
from kvartal.collection import recorded_summary
from kvartal.config import settings
from kvartal.links import run_url
from kvartal.quarters import Quarter
from kvartal.register import InboxEntry, Register
from kvartal.storage import open_storage, shared_services
from kvartal.summary import InboxOutcome, summary_json, table_rows, write_summary

SHARD_ARTIFACT = "kvartal-{quarter}-del"


class SummaryNotWritten(RuntimeError):
    """Every inbox ran, but the overview could not be written; the outcomes travel along."""

    def __init__(self, outcomes: list[InboxOutcome], reason: str):
        self.outcomes = outcomes
        super().__init__(f"oversigten kunne ikke skrives: {reason}")


def _limit_name(kind: str, where: str) -> str:
    return f"kvartal-{kind}-" + re.sub(r"[^A-Za-z0-9._:-]+", "_", where)


def limit_names(entry: InboxEntry) -> list[str]:
    """The shared services an inbox's run talks to, as global concurrency limit names."""
    names = []
    locations = (entry.inbox, entry.publish_to, entry.review_to)
    for kind, where in shared_services(locations, settings().s3_endpoint):
        names.append(_limit_name(kind, where))
    smtp_where = settings().smtp_host.strip() or settings().smtp_block.strip()
    if smtp_where:
        names.append(_limit_name("smtp", smtp_where))
    return names


def ensure_limits(register: Register) -> None:
    """Create the limits this register needs, with the configured sizes, if missing.

    A limit an administrator already set on the server is left as it is.
    """
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    sizes = {"s3": settings().s3_concurrency, "smtp": settings().smtp_concurrency}
    wanted = {name for entry in register.inboxes for name in limit_names(entry)}
    with get_client(sync_client=True) as client:
        for name in sorted(wanted):
            try:
                client.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

                kind = name.split("-")[1]
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=sizes[kind])
                )


def outcome_of(entry: InboxEntry, state: State[Any]) -> InboxOutcome:
    run_id = str(state.state_details.flow_run_id) if state.state_details.flow_run_id else None
    if state.is_completed():
        result = state.result()
        assert isinstance(result, dict)
        return InboxOutcome.published(entry.name, result, run_id)
    exc = state.result(raise_on_failure=False)
    if isinstance(exc, QuarterBlocked):
        return InboxOutcome(
            entry.name, "blokeret", errors=len(exc.problems), review=exc.review, flow_run_id=run_id
        )
    reason = str(exc) if isinstance(exc, BaseException) else (state.message or state.name)
    return InboxOutcome(entry.name, "fejl", reason=reason, flow_run_id=run_id)


def run_inbox(
    entry: InboxEntry,
    quarter: Quarter,
    approval_deployment: str | None = None,
    at_risk: float | None = None,
    summary_to: str | None = None,
) -> InboxOutcome:
    """One inbox as `kvartal run` would run it, as a child flow run of the current flow."""
    logger = get_run_logger()
    child = quarterly_report.with_options(flow_run_name=f"{entry.name} {quarter}")
    try:
        with concurrency(limit_names(entry), occupy=1, strict=False):
            state = child(
                quarter=str(quarter),
                inbox=entry.inbox,
                publish_to=entry.publish_to,
                review_to=entry.review_to,
                interactive=True,
                inbox_name=entry.name,
                review_url=entry.review_url,
                at_risk=at_risk,
                return_state=True,
            )
        outcome = outcome_of(entry, state)
    except Exception as exc:  # recorded as this inbox's failure; the next inbox still runs
        logger.exception("%s: kørslen kunne ikke gennemføres", entry.name)
        return InboxOutcome(entry.name, "fejl", reason=f"{type(exc).__name__}: {exc}")
    # the centres' deliveries as this run's validation counted them (CONTRACT §9)
    outcome.summary = recorded_summary(entry.review_to, str(quarter))
    if outcome.status == "blokeret" and approval_deployment:
        run = await_approval_elsewhere(entry, quarter, approval_deployment, summary_to)
        outcome.reason = f"venter på en operatørs godkendelse i kørslen {run.name}"
        outcome.flow_run_id = str(run.id)
        outcome.run_url = run_url(str(run.id))
    logger.info("%s", outcome.line())
    return outcome


def await_approval_elsewhere(
    entry: InboxEntry, quarter: Quarter, deployment: str, summary_to: str | None
) -> FlowRun:
    """A run of the single-inbox deployment that waits for the operator on its own.

    It is a top-level run (`as_subflow=False`), not a child of this run: Prefect suspends
    only a top-level run of a deployment ("Cannot suspend subflows"), and only a suspended
    run survives a worker's or the server's restart without holding a worker. The settings
    that decide its behaviour (timeout, at-risk) are its deployment's parameters, fixed at
    `kvartal deploy`; what is the inbox's own (its name, its review link) comes from here.
    """
    from prefect.deployments import run_deployment

    run = run_deployment(
        deployment,
        timeout=0,
        as_subflow=False,
        # one key per call: a creation sent again because its answer was lost returns the
        # run made the first time instead of a second run asking the operators again
        idempotency_key=f"godkendelse-{uuid4()}",
        flow_run_name=f"{entry.name} {quarter} (godkendelse)",
        tags=["kvartal", "godkendelse", f"indbakke:{entry.slug}"],
        parameters={
            "quarter": str(quarter),
            "inbox": entry.inbox,
            "publish_to": entry.publish_to,
            "review_to": entry.review_to,
            "interactive": False,
            "inbox_name": entry.name,
            "review_url": entry.review_url,
            "summary_to": summary_to,
        },
    )
    assert isinstance(run, FlowRun)  # called from sync code it is a value
    return run


def run_inboxes(
    entries: list[InboxEntry],
    quarter: Quarter,
    approval_deployment: str | None = None,
    at_risk: float | None = None,
    summary_to: str | None = None,
) -> list[InboxOutcome]:
    return [run_inbox(e, quarter, approval_deployment, at_risk, summary_to) for e in entries]


def split(entries: tuple[InboxEntry, ...], parts: int) -> list[list[InboxEntry]]:
    """Round robin, so a register sorted by size still gives each part a fair share."""
    parts = max(1, min(parts, len(entries)))
    return [list(entries[i::parts]) for i in range(parts)]


@flow(name="quarterly-reports-shard", log_prints=True)
def quarterly_reports_shard(
    inboxes: list[dict[str, str]],
    quarter: str,
    approval_deployment: str | None = None,
    at_risk: float | None = None,
    summary_to: str | None = None,
) -> list[dict[str, Any]]:
    """A share of the register, run on whichever worker picks it up."""
    q = Quarter.parse(quarter)
    outcomes = run_inboxes(
        [InboxEntry(**e) for e in inboxes], q, approval_deployment, at_risk, summary_to
    )
    # The parent, possibly on another machine, reads the outcomes from this artifact: it
    # lives in Prefect's database, so no result storage has to be shared between machines.
    create_table_artifact(
        key=SHARD_ARTIFACT.format(quarter=str(q).lower()),
        table=[o.to_dict() for o in outcomes],
        description=f"Delkørsel af registret for {q.label_da}",
    )
    return [o.to_dict() for o in outcomes]


def submit_shard(
    deployment: str,
    entries: list[InboxEntry],
    quarter: Quarter,
    number: int,
    approval_deployment: str | None,
    at_risk: float | None = None,
    summary_to: str | None = None,
) -> UUID:
    from dataclasses import asdict

    from prefect.deployments import run_deployment

    run = run_deployment(
        deployment,
        timeout=0,
        flow_run_name=f"{quarter} del {number}",
        # a creation sent again (its answer lost) returns this share, not a second one
        # running the same inboxes unwatched
        idempotency_key=f"del-{uuid4()}",
        parameters={
            "inboxes": [asdict(e) for e in entries],
            "quarter": str(quarter),
            "approval_deployment": approval_deployment,
            "at_risk": at_risk,
            "summary_to": summary_to,
        },
    )
    assert isinstance(run, FlowRun)
    return run.id


TAKEN_BACK = "ingen worker tog delen; forældrekørslen kører den selv"


def take_back(run_id: UUID) -> bool:
    """Cancel a share no worker has started yet, so the parent can run it itself.

    With fewer free workers than shares (one worker, or workers busy elsewhere) the parent
    would otherwise wait for a run that cannot start while it holds a worker itself. If a
    worker takes the run at the same moment, the cancelled run is refused when it tries to
    start, so no share runs twice.
    """
    from prefect import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.states import Cancelled

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        if run.state is None or run.state.type != StateType.SCHEDULED:
            return False
        result: Any = client.set_flow_run_state(run_id, Cancelled(message=TAKEN_BACK))
        if result.status == SetStateStatus.ACCEPT:
            return True
        # Refused: a worker started it, or this very cancellation landed and its answer was
        # lost, so the client sent it again and a cancelled run cannot be cancelled twice.
        # The share is ours to run only in the second case, and only its message says so.
        now = client.read_flow_run(run_id).state
        return now is not None and now.is_cancelled() and now.message == TAKEN_BACK


def collect_shard(
    run_id: UUID, entries: list[InboxEntry], quarter: Quarter, poll_seconds: float = 2.0
) -> list[InboxOutcome]:
    """Wait for a submitted share to end; its inboxes' outcomes, or why there are none."""
    import json

    from prefect import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    with get_client(sync_client=True) as client:
        while True:
            run = client.read_flow_run(run_id)
            if run.state is not None and run.state.is_final():
                break
            time.sleep(poll_seconds)
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]),
                key=ArtifactFilterKey(any_=[SHARD_ARTIFACT.format(quarter=str(quarter).lower())]),
            )
        )
    found: dict[str, InboxOutcome] = {}
    for artifact in artifacts:
        rows = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
        for row in rows or []:
            assert isinstance(row, dict)
            outcome = InboxOutcome.from_dict(row)
            found[outcome.name] = outcome
    state = run.state.name if run.state else "ukendt"
    return [
        found.get(e.name)
        or InboxOutcome(
            e.name,
            "fejl",
            reason=f"delkørslen {run.name} ({run_id}) endte som {state} uden "
            "et resultat for denne indbakke",
        )
        for e in entries
    ]


def settled_meanwhile(outcome: InboxOutcome) -> InboxOutcome:
    """An approval run that already ended before the overview is written (a crash at
    start, a quick decision) has updated no overview yet: its end is written here."""
    if outcome.status != "blokeret" or not outcome.run_url or not outcome.flow_run_id:
        return outcome
    from prefect import get_client

    from flows.approval import CLEAN_ENDS

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(outcome.flow_run_id)).state
    if state is None or not state.is_final():
        return outcome
    if state.is_completed():
        outcome.reason = "godkendt og udgivet i kørslen; se kørslen"
    elif state.name in CLEAN_ENDS:
        outcome.reason = state.message
    else:
        outcome.status = "fejl"
        outcome.reason = f"godkendelseskørslen endte som {state.name}: {state.message}"
    return outcome


@task(name="write-summary", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def write_summary_files(summary_to: str, summary: dict[str, Any], zone: str) -> str:
    return write_summary(open_storage(summary_to), summary, zone)


@flow(name="quarterly-reports", log_prints=True)
def quarterly_reports(
    inbox_register: dict[str, Any],
    quarter: str | None = None,
    shards: int = 1,
    shard_deployment: str | None = None,
    approval_deployment: str | None = None,
    at_risk: float | None = None,
) -> list[dict[str, Any]]:
    """Every inbox of the register for one quarter, and the operators' overview.

    `inbox_register` is `Register.to_dict()`. `quarter` None means the quarter before the run's
    scheduled time. With `shard_deployment`, `shards - 1` parts run elsewhere.
    """
    logger = get_run_logger()
    reg = Register.from_dict(inbox_register)
    q = Quarter.parse(quarter) if quarter else scheduled_quarter()
    ensure_limits(reg)
    parts = split(reg.inboxes, shards if shard_deployment else 1)
    where = reg.summary_to
    submitted = [
        (submit_shard(shard_deployment, part, q, n, approval_deployment, at_risk, where), part)
        for n, part in enumerate(parts[1:], start=2)
        if shard_deployment
    ]
    if submitted:
        logger.info(
            "%d indbakker fordelt på %d dele; del 1 køres her", len(reg.inboxes), len(parts)
        )
    outcomes = run_inboxes(parts[0], q, approval_deployment, at_risk, where)
    for shard_id, part in submitted:
        if take_back(shard_id):
            logger.info("Ingen worker tog delkørslen %s; den køres her", shard_id)
            outcomes += run_inboxes(part, q, approval_deployment, at_risk, where)
        else:
            outcomes += collect_shard(shard_id, part, q)
    order = {e.name: i for i, e in enumerate(reg.inboxes)}
    outcomes.sort(key=lambda o: order[o.name])

    outcomes = [settled_meanwhile(o) for o in outcomes]
    run_id = str(runtime.flow_run.id) if runtime.flow_run.id else None
    summary = summary_json(q, outcomes, reg.source, run_id)
    create_table_artifact(
        key=f"kvartal-{str(q).lower()}-oversigt",
        table=table_rows(outcomes),
        description=f"Oversigt over registrets indbakker, {q.label_da}",
    )
    state = write_summary_files(reg.summary_to, summary, settings().timezone, return_state=True)
    if not state.is_completed():
        raise SummaryNotWritten(outcomes, str(state.result(raise_on_failure=False)))
    logger.info("Oversigt: %s", state.result())
    return [o.to_dict() for o in outcomes]
