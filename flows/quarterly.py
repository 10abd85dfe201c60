"""The quarterly flow: gather -> validate -> fulfil -> render -> publish.

Every stage is a task run over kvartal's plain functions. A quarter with validation errors
publishes nothing: an interactive run stops (the command exits 2); a scheduled run pauses
and waits for an operator's decision in the Prefect UI, which is written down as waivers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pydantic
from prefect import flow, get_run_logger, runtime
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput

from kvartal.approval import append_waivers, problem_key, waivers_for
from kvartal.config import RunSettings, setting
from kvartal.model import Problem
from kvartal.provenance import git_revision, kvartal_version
from kvartal.publish import fingerprint
from kvartal.quarters import Quarter
from kvartal.storage import check_locations, open_storage
from kvartal.validation import ValidationResult
from tasks.fulfil import account_rows, calculate_fulfilment
from tasks.gather import gather_inputs
from tasks.notify import notify_operators, notify_recipients
from tasks.publish import plan_version, publish_report
from tasks.render import render_report
from tasks.validate import validate_inputs, write_review_files


class QuarterBlocked(Exception):
    """Validation errors that nobody waived: nothing is published (exit status 2)."""

    def __init__(self, quarter: Quarter, problems: list[Problem], review: str, why: str = ""):
        self.quarter, self.problems, self.review = quarter, problems, review
        super().__init__(
            f"{quarter}: {len(problems)} fejl blokerer udgivelsen{why}. Se {review}")


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


@flow(name="quarterly-report", log_prints=True)
def quarterly_report(
    quarter: str | None = None,
    inbox: str | None = None,
    publish_to: str | None = None,
    review_to: str | None = None,
    interactive: bool = True,
) -> dict[str, Any]:
    """Publish one quarter's status report.

    `quarter` None means the quarter before the run's *scheduled* time, so a late or
    re-run scheduled job still reports the quarter it was scheduled for.
    """
    logger = get_run_logger()
    report_quarter = Quarter.parse(quarter) if quarter else scheduled_quarter()
    inbox = inbox or setting("KVARTAL_INBOX")
    publish_to = publish_to or setting("KVARTAL_PUBLISH_TO")
    review_to = review_to or setting("KVARTAL_REVIEW_TO")
    check_locations(publish_to, review_to)
    settings = RunSettings.from_env()

    inputs = gather_inputs(inbox, report_quarter)
    frames, validation = validate_inputs(inputs)
    review = write_review_files(validation, inputs, review_to)

    if validation.blocking:
        if interactive:
            raise QuarterBlocked(report_quarter, validation.blocking, review)
        approved = await_operator(report_quarter, validation, review, inbox)
        if not approved:
            raise QuarterBlocked(report_quarter, validation.blocking, review,
                                 " (afvist af operatøren)")
        inputs = gather_inputs(inbox, report_quarter)  # the waivers are now in the inbox
        frames, validation = validate_inputs(inputs)
        review = write_review_files(validation, inputs, review_to)
        if validation.blocking:
            raise QuarterBlocked(report_quarter, validation.blocking, review)

    fulfilment = calculate_fulfilment(frames, report_quarter, validation.excluded,
                                      settings.at_risk)
    rows = account_rows(frames, fulfilment, validation)  # fails on a row that would vanish
    source_print = fingerprint(inputs.sources, settings.as_dict())
    planned = plan_version(publish_to, report_quarter, source_print)
    if planned.already:
        logger.info("%s er allerede udgivet som version %d med samme indhold", report_quarter,
                    planned.version)
    # The publication time comes from the plan, never the clock: a run that finishes what
    # an interrupted run began renders the very bytes it wrote.
    files = {} if planned.already else render_report(
        report_quarter, planned.version, planned.published_at, fulfilment, validation)
    # Publishing again with the same fingerprint writes nothing, but finishes a copy that
    # an interrupted run left half done.
    published = publish_report(publish_to, report_quarter, planned, files, source_print, {
        "sources": [asdict(s) for s in inputs.sources],
        "waivers": [{**w.to_json(), "problem": p.to_json()} for p, w in validation.waived],
        "warnings": len(validation.warnings),
        "rows": rows.counts(),
        "run_id": str(runtime.flow_run.id) if runtime.flow_run.id else None,
        "kvartal_version": kvartal_version(),
        "git_revision": git_revision(),
    }, fulfilment, validation)
    # Whatever this run published, recipients get what the ledger says they are owed for
    # every published version (a killed run or a mail server that was down is made good).
    # The report is out whatever the mail server does: a delivery failure is logged and
    # told, not turned into a failed publication; the next run sends what is missing.
    delivery = notify_recipients(publish_to, review_to, report_quarter, fulfilment,
                                 return_state=True)
    if delivery.is_failed():
        logger.error("E-mail til modtagerne mislykkedes: %s",
                     delivery.result(raise_on_failure=False))
    logger.info("Rapporten for %s, version %d: %s", report_quarter, published.version,
                published.location)
    return Outcome(str(report_quarter), published.version, published.created,
                   published.location, review, len(validation.warnings),
                   len(validation.waived)).to_dict()


def scheduled_quarter() -> Quarter:
    moment = runtime.flow_run.scheduled_start_time
    return Quarter.before(moment.astimezone(ZoneInfo(setting("KVARTAL_TIMEZONE"))))


def approval_form(problems: list[Problem], quarter: Quarter, review: str) -> type[RunInput]:
    """A form listing exactly this run's errors, so the operator picks what to waive."""
    keys = tuple(problem_key(p) for p in problems)
    choice: Any = Literal.__getitem__(keys) if keys else str
    fields: dict[str, Any] = {
        "beslutning": (Literal["godkend", "afvis"], pydantic.Field(
            description="godkend: udgiv med de valgte afvigelser; afvis: udgiv ikke")),
        "afvigelser": (list[choice], pydantic.Field(
            default=list(keys), description="Fejl der godkendes som afvigelser")),
        "begrundelse": (str, pydantic.Field(description="Hvorfor fejlene kan godkendes")),
        "godkendt_af": (str, pydantic.Field(description="Navn på den der godkender")),
    }
    form: type[RunInput] = pydantic.create_model("Godkendelse", __base__=RunInput, **fields)
    lines = "\n".join(f"- `{problem_key(p)}`: {p.message}" for p in problems)
    return form.with_initial_data(
        description=f"## {quarter.label_da}: {len(problems)} fejl blokerer udgivelsen\n\n"
                    f"Valideringsrapport: {review}\n\n{lines}\n\n"
                    "Godkend de fejl, der kan accepteres, med en begrundelse og dit navn, "
                    "eller afvis, så centrene retter filerne.")


def await_operator(quarter: Quarter, validation: ValidationResult, review: str,
                   inbox: str) -> bool:
    """Pause for an operator; an approval is appended to the inbox's afvigelser.csv."""
    logger = get_run_logger()
    notify_operators(quarter, validation.blocking, review)
    form = approval_form(validation.blocking, quarter, review)
    timeout = int(setting("KVARTAL_APPROVAL_TIMEOUT"))
    logger.warning("%s: %d fejl; kørslen venter på en operatørs beslutning i Prefect "
                   "(højst %d s)", quarter, len(validation.blocking), timeout)
    answer = pause_flow_run(wait_for_input=form, timeout=timeout, poll_interval=2)
    if answer.beslutning != "godkend":  # type: ignore[attr-defined]
        return False
    waivers = waivers_for(validation.blocking, list(answer.afvigelser),  # type: ignore[attr-defined]
                          answer.begrundelse, answer.godkendt_af)  # type: ignore[attr-defined]
    key = append_waivers(open_storage(inbox), quarter, waivers)
    logger.info("%d afvigelser godkendt af %s skrevet i %s", len(waivers),
                answer.godkendt_af, key)  # type: ignore[attr-defined]
    return True
