"""The quarterly flow: check -> evaluate -> render -> publish (`kvartal.pipeline`).

Every stage is a task run over the pipeline's plain functions. A quarter with validation errors
publishes nothing: an interactive run stops (the command exits 2); a scheduled run is
suspended until an operator decides in the Prefect UI, and the decision is written down.

A suspended run holds no process: Prefect ends it and, on resumption, runs the flow again
from the top on whichever worker picks it up. So the stages before the decision are cached
per flow run with their results persisted (PREFECT_LOCAL_STORAGE_PATH, or a result storage
block shared by the workers): the resumed run reads the same problems, does not write the
review again and does not mail the operators twice, and `suspend_flow_run` with the same key
hands it the operator's input from the run's keyset.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

from prefect import Flow, State, Task, flow, get_run_logger, runtime
from prefect.cache_policies import INPUTS, NONE, RUN_ID
from prefect.client.schemas.objects import FlowRun
from prefect.states import Failed

from flows.approval import (
    CANNOT_PUBLISH,
    CLEAN_ENDS,
    UNRECORDED,
    Blocked,
    await_decision,
    settle,
    tell,
)
from kvartal import operator_mail, pipeline
from kvartal.approval import unwaivable_message, waivable
from kvartal.config import RunSettings, settings
from kvartal.links import ReviewLinks, run_url
from kvartal.model import Problem
from kvartal.pipeline import Checked
from kvartal.quarters import Quarter
from kvartal.readers import Limits
from kvartal.storage import check_locations, open_storage
from kvartal.units import Severity
from tasks.fulfil import evaluate
from tasks.gather import gather_inputs
from tasks.notify import notify_recipients
from tasks.publish import plan_version, publish_report
from tasks.render import render_report
from tasks.validate import validate_inputs, write_review_files


class QuarterBlocked(Exception):
    """Validation errors that nobody waived: nothing is published (exit status 2)."""

    def __init__(self, quarter: Quarter, problems: list[Problem], review: str, why: str = ""):
        self.quarter, self.problems, self.review = quarter, problems, review
        super().__init__(f"{quarter}: {len(problems)} fejl blokerer udgivelsen{why}. Se {review}")


class _CleanEndings(logging.Filter):
    """A quarter that is blocked, rejected or has no figures ends as kvartal meant it to:
    its Danish message is the run's state and its log line, and a Python traceback under it
    would read as a crash. Prefect logs one for every run that does not complete, so
    the traceback is left out here for kvartal's own endings (and only for those)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            return True
        ours = isinstance(exc, QuarterBlocked) or (
            type(exc).__name__ == "FailedRun" and str(exc) in _ENDED
        )
        if not ours:
            return True
        if "Engine execution exited" in str(record.msg):
            return False  # the state message and the ERROR line before it say it all
        record.exc_info, record.exc_text = None, None
        return True


_ENDED: set[str] = set()  # messages of the clean endings this process has given
logging.getLogger("prefect.flow_runs").addFilter(_CleanEndings())


@dataclass
class Outcome:
    quarter: str
    version: int
    published: bool  # False: the same inputs were already published as this version
    report: str
    review: str
    warnings: int
    waived: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _durable(task: Task[Any, Any], durable: bool) -> Any:
    """The task cached for this flow run with its result persisted, when the run may be
    suspended; an interactive run is never suspended and keeps nothing."""
    if not durable:
        return task
    return task.with_options(cache_policy=RUN_ID + INPUTS, persist_result=True)


def _fresh(task: Task[Any, Any]) -> Any:
    return task.with_options(cache_policy=NONE, persist_result=False)


def _check(
    inbox: str,
    quarter: Quarter,
    review_to: str,
    limits: Limits,
    links: ReviewLinks,
    durable: bool | None,
) -> tuple[Checked, str]:
    """The check stage and the review files, cached for a run that may be suspended.
    `durable` None: read afresh after an approval, whose waivers are in the inbox now,
    cached nowhere, and the review written without the collection table."""
    if durable is None:
        checked = _fresh(validate_inputs)(_fresh(gather_inputs)(inbox, quarter, limits))
        return checked, _fresh(write_review_files)(checked, review_to, links)
    gathered = _durable(gather_inputs, durable)(inbox, quarter, limits)
    checked = _durable(validate_inputs, durable)(gathered)
    return checked, _durable(write_review_files, durable)(checked, review_to, links, inbox)


def _told_on_failure(flow: Flow[..., Any], flow_run: FlowRun, state: State[Any]) -> None:
    """A scheduled run that fails or crashes in a way kvartal did not mean (a bug, a server
    that refuses to suspend it, a lost worker that Prefect noticed) is mailed: otherwise the
    quarter goes unpublished without anyone knowing. Interactive runs report on the console."""
    params = flow_run.parameters or {}
    if params.get("interactive", True) or state.name in CLEAN_ENDS:
        _update_overview(flow_run, state)
        return
    quarter = Quarter.parse(params["quarter"]) if params.get("quarter") else None
    message = state.message or state.name or "ukendt fejl"
    from kvartal.notify import SmtpSettings

    operator_mail.send(
        *operator_mail.crashed(
            quarter, message, run_url(str(flow_run.id)), params.get("inbox_name")
        ),
        settings().operator_addresses,
        SmtpSettings.from_env(),
    )
    _update_overview(flow_run, state)


def _on_completion(flow: Flow[..., Any], flow_run: FlowRun, state: State[Any]) -> None:
    _update_overview(flow_run, state)


def _update_overview(run: FlowRun, state: State[Any]) -> None:
    """A register's blocked inbox ends in its own run: its line of the overview follows."""
    params = run.parameters or {}
    if not params.get("summary_to") or not params.get("inbox_name") or not params.get("quarter"):
        return
    from kvartal.storage import open_storage
    from kvartal.summary import InboxOutcome, update_inbox

    name = params["inbox_name"]
    if state.is_completed():
        result = state.result(raise_on_failure=False)
        if not isinstance(result, dict):
            return
        outcome = InboxOutcome.published(name, result, str(run.id))
    elif state.name in CLEAN_ENDS:
        outcome = InboxOutcome(
            name,
            "blokeret",
            reason=state.message,
            flow_run_id=str(run.id),
            run_url=run_url(str(run.id)),
        )
    else:
        outcome = InboxOutcome(
            name,
            "fejl",
            reason=f"godkendelseskørslen endte som {state.name}: {state.message}",
            flow_run_id=str(run.id),
            run_url=run_url(str(run.id)),
        )
    update_inbox(
        open_storage(params["summary_to"]), params["quarter"], outcome, settings().timezone
    )


@flow(
    name="quarterly-report",
    log_prints=True,
    on_failure=[_told_on_failure],
    on_crashed=[_told_on_failure],
    on_completion=[_on_completion],
)
def quarterly_report(
    quarter: str | None = None,
    inbox: str | None = None,
    publish_to: str | None = None,
    review_to: str | None = None,
    interactive: bool = True,
    inbox_name: str | None = None,
    review_url: str | None = None,
    approval_timeout: int | None = None,
    at_risk: float | None = None,
    summary_to: str | None = None,
) -> dict[str, Any] | State[Any]:
    """Publish one quarter's status report.

    `quarter` None means the quarter before the run's *scheduled* time, so a late or
    re-run scheduled job still reports the quarter it was scheduled for. The settings
    that decide what a run does (`review_url`, `approval_timeout`, `at_risk`) are the
    deployment's parameters, fixed when `kvartal deploy` ran; None falls back to this
    process's KVARTAL_* settings (`kvartal run`). `inbox_name` names a register's inbox in
    every mail, form and link; `summary_to` is where its register's overview lives.
    """
    return _quarterly_report(
        quarter,
        inbox,
        publish_to,
        review_to,
        interactive,
        inbox_name,
        review_url,
        approval_timeout,
        at_risk,
    )


def _quarterly_report(
    quarter: str | None,
    inbox: str | None,
    publish_to: str | None,
    review_to: str | None,
    interactive: bool,
    inbox_name: str | None,
    review_url: str | None,
    approval_timeout: int | None,
    at_risk: float | None,
) -> dict[str, Any] | State[Any]:
    logger = get_run_logger()
    cfg = settings()
    report_quarter = Quarter.parse(quarter) if quarter else scheduled_quarter()
    inbox = inbox or cfg.inbox
    publish_to = publish_to or cfg.publish_to
    review_to = review_to or cfg.review_to
    check_locations(publish_to, review_to)
    limits = cfg.read_limits()
    links = ReviewLinks.of(cfg, review_url)
    run_settings = RunSettings(at_risk=cfg.at_risk if at_risk is None else at_risk)
    durable = not interactive
    run_id = str(runtime.flow_run.id) if runtime.flow_run.id else None
    url = run_url(run_id)

    checked, review = _check(inbox, report_quarter, review_to, limits, links, durable=durable)
    validation = checked.validation

    # A waiver row in afvigelser.csv cannot waive these either: no publication without
    # a catalogue and the quarter's figures.
    fatal = [p for p in validation.problems if p.severity == Severity.ERROR and not waivable(p)]
    if validation.blocking or fatal:
        if interactive:
            why = f" ({unwaivable_message(report_quarter, fatal, inbox)})" if fatal else ""
            raise QuarterBlocked(report_quarter, validation.blocking or fatal, review, why)
        if fatal:
            return _stop(
                report_quarter, unwaivable_message(report_quarter, fatal, inbox), url, inbox_name
            )
        blocked = Blocked(
            report_quarter,
            inbox,
            review_to,
            inbox_name,
            run_id,
            url,
            approval_timeout or cfg.approval_timeout,
            cfg.timezone,
        )
        decision = await_decision(blocked, validation.blocking, review)
        settled = settle(blocked, decision, validation.blocking)
        if isinstance(settled, State):
            _ENDED.add(settled.message or "")
            return settled
        checked, review = _check(inbox, report_quarter, review_to, limits, links, durable=None)
        validation = checked.validation
        if validation.blocking:
            return _stop(
                report_quarter,
                str(
                    QuarterBlocked(
                        report_quarter,
                        validation.blocking,
                        review,
                        " (også efter godkendelsen: nye fejl er kommet til)",
                    )
                ),
                url,
                inbox_name,
            )

    evaluated = evaluate(checked, run_settings)  # fails on a row that would vanish
    fulfilment = evaluated.fulfilment
    source_print = pipeline.source_fingerprint(checked, run_settings)
    planned = plan_version(publish_to, report_quarter, source_print)
    if planned.already:
        logger.info(
            "%s er allerede udgivet som version %d med samme indhold",
            report_quarter,
            planned.version,
        )
    # The publication time comes from the plan, never the clock: a run that finishes what
    # an interrupted run began renders the very bytes it wrote. Version n−1 and the other
    # quarters are read from the recipients' location (changes.json, the page of charts).
    files = (
        {}
        if planned.already
        else render_report(
            report_quarter,
            planned.version,
            planned.published_at,
            fulfilment,
            validation,
            timezone=cfg.timezone,
            publish_to=open_storage(publish_to),
            sources=pipeline.sources(checked),
        )
    )
    # Publishing again with the same fingerprint writes nothing, but finishes a copy that
    # an interrupted run left half done.
    published = publish_report(
        publish_to,
        report_quarter,
        planned,
        files,
        source_print,
        pipeline.manifest_extra(checked, evaluated, run_id),
        fulfilment,
        validation,
        cfg.timezone,
        cfg.publish_lease,
    )
    # Whatever this run published, recipients get what the ledger says they are owed for
    # every published version (a killed run or a mail server that was down is made good).
    # The report is out whatever the mail server does: a delivery failure is logged and
    # told, not turned into a failed publication; the next run sends what is missing.
    delivery = notify_recipients(
        publish_to, review_to, report_quarter, fulfilment, inbox_name, return_state=True
    )
    if delivery.is_failed():
        failure = delivery.result(raise_on_failure=False)
        logger.error("E-mail til modtagerne mislykkedes: %s", failure)
        # Except a mail the server accepted that the ledger could not record: a later run
        # cannot see it and mails again. That is kvartal's own failure: exit 1, told.
        lost = getattr(failure, "unrecorded", [])
        if lost:
            tell(*operator_mail.delivery_doubts(report_quarter, lost, url, inbox_name))
            message = (
                f"{report_quarter} version {published.version} er udgivet "
                f"({published.location}), men {len(lost)} mail(s) kunne ikke noteres: {failure}"
            )
            _ENDED.add(message)
            return Failed(name=UNRECORDED, message=message)
    logger.info(
        "Rapporten for %s, version %d: %s", report_quarter, published.version, published.location
    )
    return Outcome(
        str(report_quarter),
        published.version,
        published.created,
        published.location,
        review,
        len(validation.warnings),
        len(validation.waived),
    ).to_dict()


def scheduled_quarter() -> Quarter:
    moment = runtime.flow_run.scheduled_start_time
    return Quarter.before(moment.astimezone(ZoneInfo(settings().timezone)))


def _stop(quarter: Quarter, message: str, url: str | None, name: str | None) -> State[Any]:
    """End a scheduled run that cannot publish, in Danish, without a traceback."""
    get_run_logger().error(message)
    tell(*operator_mail.failed(quarter, message, url, name))
    _ENDED.add(message)
    return Failed(name=CANNOT_PUBLISH, message=message)
