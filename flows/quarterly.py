"""The quarterly flow: gather -> validate -> fulfil -> render -> publish.

Every stage is a task run over kvartal's plain functions. A quarter with validation errors
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

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from prefect import Task, flow, get_run_logger, runtime
from prefect.cache_policies import INPUTS, NONE, RUN_ID
from prefect.flow_runs import suspend_flow_run
from prefect.states import Failed, State

from kvartal import operator_mail
from kvartal.approval import (
    append_waivers,
    decision_form,
    record_decision,
    unwaivable_message,
    waivable,
    waivers_for,
)
from kvartal.config import RunSettings, settings
from kvartal.links import run_url
from kvartal.model import Problem
from kvartal.provenance import git_revision, kvartal_version
from kvartal.publish import fingerprint
from kvartal.quarters import Quarter
from kvartal.storage import check_locations, open_storage
from kvartal.validation import ValidationResult
from tasks.fulfil import account_rows, calculate_fulfilment
from tasks.gather import gather_inputs
from tasks.notify import notify_operators, notify_recipients, schedule_deadline
from tasks.publish import plan_version, publish_report
from tasks.render import render_report
from tasks.validate import validate_inputs, write_review_files


class QuarterBlocked(Exception):
    """Validation errors that nobody waived: nothing is published (exit status 2)."""

    def __init__(self, quarter: Quarter, problems: list[Problem], review: str, why: str = ""):
        self.quarter, self.problems, self.review = quarter, problems, review
        super().__init__(f"{quarter}: {len(problems)} fejl blokerer udgivelsen{why}. Se {review}")


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


DECISION_KEY = "beslutning"
# Prefect's own deadline for a suspended run comes this long after kvartal's, so the
# approval-deadline run can record and tell before Prefect fails the run without a word.
PREFECT_TIMEOUT_GRACE = timedelta(hours=1)


def _durable(task: Task[Any, Any], durable: bool) -> Any:
    """The task cached for this flow run with its result persisted, when the run may be
    suspended; an interactive run is never suspended and keeps nothing."""
    if not durable:
        return task
    return task.with_options(cache_policy=RUN_ID + INPUTS, persist_result=True)


def _fresh(task: Task[Any, Any]) -> Any:
    return task.with_options(cache_policy=NONE, persist_result=False)


@flow(name="quarterly-report", log_prints=True)
def quarterly_report(
    quarter: str | None = None,
    inbox: str | None = None,
    publish_to: str | None = None,
    review_to: str | None = None,
    interactive: bool = True,
) -> dict[str, Any] | State[Any]:
    """Publish one quarter's status report.

    `quarter` None means the quarter before the run's *scheduled* time, so a late or
    re-run scheduled job still reports the quarter it was scheduled for.
    """
    logger = get_run_logger()
    cfg = settings()
    report_quarter = Quarter.parse(quarter) if quarter else scheduled_quarter()
    inbox = inbox or cfg.inbox
    publish_to = publish_to or cfg.publish_to
    review_to = review_to or cfg.review_to
    check_locations(publish_to, review_to)
    run_settings = RunSettings.from_env()
    durable = not interactive
    run_id = str(runtime.flow_run.id) if runtime.flow_run.id else None
    url = run_url(run_id)

    inputs = _durable(gather_inputs, durable)(inbox, report_quarter)
    frames, validation = _durable(validate_inputs, durable)(inputs)
    review = _durable(write_review_files, durable)(validation, inputs, review_to, inbox, frames)

    # A waiver row in afvigelser.csv cannot waive these either: no publication without
    # a catalogue and the quarter's figures.
    fatal = [p for p in validation.problems if p.severity == "fejl" and not waivable(p)]
    if validation.blocking or fatal:
        if interactive:
            why = f" ({unwaivable_message(report_quarter, fatal, inbox)})" if fatal else ""
            raise QuarterBlocked(report_quarter, validation.blocking or fatal, review, why)
        if fatal:
            return _stop(report_quarter, unwaivable_message(report_quarter, fatal, inbox), url)
        answer = await_operator(report_quarter, validation, review, review_to, run_id, url)
        who, why = answer.godkendt_af, answer.begrundelse
        chosen = list(answer.afvigelser)
        approved = answer.beslutning == "godkend"
        record = record_decision(
            open_storage(review_to),
            report_quarter,
            run_id or "",
            "godkend" if approved else "afvis",
            who,
            why,
            chosen if approved else [],
            url,
        )
        _tell(
            *operator_mail.decided(
                report_quarter,
                "godkend" if approved else "afvis",
                who,
                why,
                chosen if approved else [],
                record,
                url,
            )
        )
        if not approved:
            return Failed(
                name="Afvist",
                message=(
                    f"{report_quarter}: udgivelsen er afvist af {who}: {why}. Intet er udgivet. "
                    f"Beslutningen er registreret i {record}"
                ),
            )
        waivers = waivers_for(validation.blocking, chosen, why, who)
        key = append_waivers(open_storage(inbox), report_quarter, waivers)
        logger.info("%d afvigelser godkendt af %s skrevet i %s", len(waivers), who, key)
        inputs = _fresh(gather_inputs)(inbox, report_quarter)  # the waivers are in the inbox
        frames, validation = _fresh(validate_inputs)(inputs)
        review = _fresh(write_review_files)(validation, inputs, review_to)
        if validation.blocking:
            return _stop(
                report_quarter,
                str(
                    QuarterBlocked(
                        report_quarter,
                        validation.blocking,
                        review,
                        " (også efter godkendelsen: ikke alle fejl er godkendt)",
                    )
                ),
                url,
            )

    fulfilment = calculate_fulfilment(
        frames, report_quarter, validation.excluded, run_settings.at_risk
    )
    rows = account_rows(frames, fulfilment, validation)  # fails on a row that would vanish
    source_print = fingerprint(inputs.sources, run_settings.as_dict())
    planned = plan_version(publish_to, report_quarter, source_print)
    if planned.already:
        logger.info(
            "%s er allerede udgivet som version %d med samme indhold",
            report_quarter,
            planned.version,
        )
    sources = [asdict(s) for s in inputs.sources]
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
            publish_to,
            sources,
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
        {
            "sources": sources,
            "waivers": [{**w.to_json(), "problem": p.to_json()} for p, w in validation.waived],
            "warnings": len(validation.warnings),
            "rows": rows.counts(),
            "left_out": rows.left_out,  # folders, files, columns and rows not read, and why
            "run_id": run_id,
            "kvartal_version": kvartal_version(),
            "git_revision": git_revision(),
        },
        fulfilment,
        validation,
    )
    # Whatever this run published, recipients get what the ledger says they are owed for
    # every published version (a killed run or a mail server that was down is made good).
    # The report is out whatever the mail server does: a delivery failure is logged and
    # told, not turned into a failed publication; the next run sends what is missing.
    delivery = notify_recipients(
        publish_to, review_to, report_quarter, fulfilment, return_state=True
    )
    if delivery.is_failed():
        failure = delivery.result(raise_on_failure=False)
        logger.error("E-mail til modtagerne mislykkedes: %s", failure)
        # Except a mail the server accepted that the ledger could not record: a later run
        # cannot see it and mails again. That is kvartal's own failure: exit 1, told.
        lost = getattr(failure, "unrecorded", [])
        if lost:
            _tell(*operator_mail.delivery_doubts(report_quarter, lost, url))
            return Failed(
                message=f"{report_quarter} version {published.version} er udgivet "
                f"({published.location}), men {len(lost)} mail(s) kunne ikke noteres: {failure}"
            )
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


def _tell(subject: str, text: str, durable: bool = False) -> None:
    """Mail the operators; a mail server that is down is logged, never the run's end."""
    state = _durable(notify_operators, durable)(subject, text, return_state=True)
    if state.is_failed():
        get_run_logger().error(
            "E-mail til operatørerne mislykkedes: %s", state.result(raise_on_failure=False)
        )


def _stop(quarter: Quarter, message: str, url: str | None) -> State[Any]:
    """End a scheduled run that cannot publish, in Danish, without a traceback."""
    get_run_logger().error(message)
    _tell(*operator_mail.failed(quarter, message, url))
    return Failed(message=message)


def await_operator(
    quarter: Quarter,
    validation: ValidationResult,
    review: str,
    review_to: str,
    run_id: str | None,
    url: str | None,
) -> Any:
    """Suspend the run until an operator decides; returns the decision form's answer.

    The first execution tells the operators, schedules the deadline's check and suspends
    (the process ends here). The execution after resumption finds those steps cached and
    gets the answer from `suspend_flow_run` at once.
    """
    logger = get_run_logger()
    timeout = settings().approval_timeout
    deadline = _durable(schedule_deadline, True)(quarter, run_id, review_to, timeout)
    problems = [p for p in validation.blocking if waivable(p)]
    _tell(*operator_mail.waiting(quarter, problems, review, url, deadline), durable=True)
    form = decision_form(validation.blocking, quarter, review, url, deadline)
    logger.warning(
        "%s: %d fejl; kørslen venter på en operatørs beslutning i Prefect (frist %s)",
        quarter,
        len(problems),
        deadline.isoformat(),
    )
    return suspend_flow_run(
        wait_for_input=form,
        key=DECISION_KEY,
        timeout=timeout + int(PREFECT_TIMEOUT_GRACE.total_seconds()),
    )
