"""The quarterly run's stages, once: check -> evaluate -> render -> publish.

Every way of running a quarter calls these functions, so they cannot disagree: the Prefect
flow (`flows/quarterly.py`, through the thin tasks in `tasks/`, which add retries, caching
and artifacts), `kvartal validate`, the centres' check, the benchmark without Prefect
(`bench/bare.py`) and the tests. What feeds what (gather into frames into validation, the
typed records into the arithmetic and the row accounting, the files into publishing) is
decided here and nowhere else.

The stages know nothing of Prefect and read no settings: the caller reads the settings once
and passes what a stage needs (`RunSettings`, the time zone, the reading limits, the
publish lease, the locations as `Storage`).
Great Expectations and WeasyPrint are imported by the stages that use them, so `kvartal
validate` pays for validation alone.

    check     gather + frames + validate                         -> Checked
              write_review: validation.json/.html (+ the collection table)
    evaluate  typed records, fulfilment for the quarter and the one before,
              and the row accounting, the run's guard             -> Evaluated
    render    the recipients' files for a version and its time   -> {name: bytes}
    publish   plan (version, time) and publish with the index    -> PublishResult
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from kvartal.quarters import Quarter

if TYPE_CHECKING:
    from kvartal.accounting import Accounting
    from kvartal.config import CollectionSettings, RunSettings
    from kvartal.gather import Inputs
    from kvartal.links import ReviewLinks
    from kvartal.model import Figure, Target, TargetResult
    from kvartal.publish import Actor, IndexEntry, Plan, PublishResult
    from kvartal.readers import Limits
    from kvartal.review import Frames
    from kvartal.storage import Storage
    from kvartal.validation import ValidationResult

Render = Callable[[int, datetime], dict[str, bytes]]


# --- check ------------------------------------------------------------------------------


@dataclass
class Checked:
    """What was read for a quarter, as frames, and what validation found in it."""

    inputs: Inputs
    frames: Frames
    validation: ValidationResult

    @property
    def quarter(self) -> Quarter:
        return self.inputs.quarter


def gather_inputs(inbox: Storage, quarter: Quarter, limits: Limits) -> Inputs:
    """The stage's only reading of the inbox (the part worth retrying); `limits` are the
    sizes past which a file is refused unread (KVARTAL_MAX_CELLS, KVARTAL_MAX_UNCOMPRESSED)."""
    from kvartal.gather import gather

    return gather(inbox, quarter, limits)


def validate_inputs(inputs: Inputs) -> Checked:
    from kvartal.review import frames_of
    from kvartal.validation import validate

    frames = frames_of(inputs)
    validation = validate(
        inputs.quarter, frames.catalogue, frames.figures, frames.waivers, inputs.problems
    )
    return Checked(inputs, frames, validation)


def check(inbox: Storage, quarter: Quarter, limits: Limits) -> Checked:
    """Gather and validate one quarter of an inbox; nothing is written."""
    return validate_inputs(gather_inputs(inbox, quarter, limits))


def write_review(
    checked: Checked,
    review: Storage,
    links: ReviewLinks,
    collection: tuple[Storage, CollectionSettings] | None = None,
) -> str:
    """validation.json and validation.html for the operators; returns where the HTML is
    opened (made by `links`). With `collection` (the inbox and the collection's settings),
    the page carries the collection table (CONTRACT §9) and indsamling.json/.html are
    written beside it."""
    from kvartal.review import write_review as write_files

    rows = None
    if collection is not None:
        from kvartal.collection.render import rows_for_review

        inbox, cfg = collection
        rows = rows_for_review(
            inbox, checked.inputs, checked.frames, checked.validation, cfg, (review, links)
        )
    return write_files(review, checked.quarter, checked.validation, links, rows)


def review_markdown(result: ValidationResult, inputs: Inputs, location: str) -> str:
    """The problems as a list per file, not a table: Prefect's UI cuts a table's long
    messages off at the width of a laptop screen, and a list wraps whole. A waived error
    reads as waived, not as `fejl`."""
    from kvartal.model import Problem

    waived = {p for p, _ in result.waived}
    q = inputs.quarter
    lines = [
        f"# Validering af {q.label_da}",
        "",
        f"{len(result.blocking)} fejl, {_plural(len(result.warnings), 'advarsel', 'advarsler')}, "
        f"{_plural(len(result.waived), 'godkendt afvigelse', 'godkendte afvigelser')}.",
        "",
        f"Valideringsrapporten: {location}",
    ]
    by_file: dict[str, list[Problem]] = {}
    for p in result.problems:
        by_file.setdefault(p.file or "(indbakken)", []).append(p)
    for file, problems in by_file.items():
        lines += ["", f"## {file}", ""]
        for p in problems:
            where = f"{p.sheet}!{p.cell}" if p.sheet and p.cell else (p.cell or "hele filen")
            if p.sheet and not p.cell:
                where = f"hele arket {p.sheet}"
            severity = "godkendt afvigelse" if p in waived else p.severity
            value = f" · værdi `{p.value}`" if p.value not in (None, "") else ""
            message = " ".join(str(p.message).split())
            lines.append(f"- **{where}** · {p.rule} · {severity}{value}: {message}")
    return "\n".join(lines) + "\n"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


# --- evaluate ---------------------------------------------------------------------------


@dataclass
class Fulfilment:
    targets: list[Target]
    figures: list[Figure]
    results: list[TargetResult]
    previous: dict[str, TargetResult]


@dataclass
class Evaluated:
    fulfilment: Fulfilment
    accounting: Accounting


def fulfil(checked: Checked, at_risk: float) -> Fulfilment:
    """Fulfilment for the quarter, and for the one before it (the report's ↑ ↓ →), from
    the values validation did not exclude."""
    from kvartal.fulfilment import evaluate as evaluate_targets
    from kvartal.records import parse_figures, parse_targets

    excluded = checked.validation.excluded
    frames = checked.frames
    quarter = checked.quarter
    targets = parse_targets(frames.catalogue, excluded)
    figures = parse_figures([f for fs in frames.figures.values() for f in fs], excluded)
    results = evaluate_targets(targets, figures, quarter, at_risk=at_risk)
    before = evaluate_targets(targets, figures, quarter - 1, at_risk=at_risk)
    return Fulfilment(targets, figures, results, {r.target_id: r for r in before})


def account_rows(checked: Checked, fulfilment: Fulfilment) -> Accounting:
    """Every row read feeds a target or is named by a problem, or `UnaccountedRows` is
    raised here and nothing is published."""
    from kvartal.accounting import check_accounting

    return check_accounting(
        checked.frames.catalogue,
        checked.frames.figures,
        fulfilment.targets,
        fulfilment.figures,
        checked.validation.problems,
    )


def evaluate(checked: Checked, run: RunSettings) -> Evaluated:
    """The arithmetic and its guard: a row that would vanish stops the run here."""
    fulfilment = fulfil(checked, run.at_risk)
    return Evaluated(fulfilment, account_rows(checked, fulfilment))


# --- render -----------------------------------------------------------------------------


def render_files(
    quarter: Quarter,
    version: int,
    published_at: datetime,
    fulfilment: Fulfilment,
    validation: ValidationResult,
    *,
    timezone: str,
    publish_to: Storage | None = None,
    sources: list[dict[str, Any]] | None = None,
) -> dict[str, bytes]:
    """The recipients' files, a function of the inputs and the publication time alone.

    No clock is read here: a run that finishes a version an interrupted run began must
    render exactly the bytes already written, so "Sidst opdateret" is the day the version
    was first published (in the operators' `timezone`), not the day of this run.

    With `publish_to`, what is published there is read too (CONTRACT §10): version n−1 of
    the quarter, for changes.json and the first page's changes (`sources` are this
    version's source files as its manifest lists them), and the other quarters' newest
    versions, for the page of charts.
    """
    from kvartal.report import ReportInput, render_all

    since, course = None, []
    if publish_to is not None:
        from kvartal.history import previous_version, published_quarters

        since = previous_version(publish_to, str(quarter), version)
        course = published_quarters(publish_to)
    return render_all(
        ReportInput(
            quarter=quarter,
            version=version,
            targets=fulfilment.targets,
            results=fulfilment.results,
            previous=fulfilment.previous,
            figures=[f for f in fulfilment.figures if f.quarter == quarter],
            warnings=validation.warnings,
            waivers=validation.waived,
            updated=published_at.astimezone(ZoneInfo(timezone)).date(),
            since=since,
            sources=list(sources or []),
            course=course,
        )
    )


# --- publish ----------------------------------------------------------------------------


def sources(checked: Checked) -> list[dict[str, Any]]:
    """The source files as the manifest lists them."""
    return [asdict(s) for s in checked.inputs.sources]


def source_fingerprint(checked: Checked, run: RunSettings) -> str:
    from kvartal.publish import fingerprint

    return fingerprint(checked.inputs.sources, run.as_dict())


def manifest_extra(checked: Checked, evaluated: Evaluated, run_id: str | None) -> dict[str, Any]:
    """What the manifest says beside the files: where they came from, what was waived,
    the row accounting (folders, files, columns and rows not read, and why) and the code."""
    from kvartal.provenance import git_revision, kvartal_version

    validation = checked.validation
    rows = evaluated.accounting
    return {
        "sources": sources(checked),
        "waivers": [{**w.to_json(), "problem": p.to_json()} for p, w in validation.waived],
        "warnings": len(validation.warnings),
        "rows": rows.counts(),
        "left_out": rows.left_out + [u.left_out() for u in checked.inputs.unused],
        "run_id": run_id,
        "kvartal_version": kvartal_version(),
        "git_revision": git_revision(),
    }


def plan_version(publish_to: Storage, quarter: Quarter, fingerprint: str) -> Plan:
    """The version to render and the publication time it carries: the same inputs again
    publish nothing, and an interrupted version is rendered again with its first time."""
    from kvartal.publish import plan

    return plan(publish_to, str(quarter), fingerprint)


@dataclass(frozen=True)
class Version:
    """What a version is made of beside its files: its quarter, the fingerprint of its
    inputs and what its manifest says (`manifest_extra`)."""

    quarter: Quarter
    fingerprint: str
    extra: dict[str, Any]


def publish_files(
    publish_to: Storage,
    version: Version,
    planned: Plan,
    files: dict[str, bytes],
    render: Render,
    actor: Actor,
) -> PublishResult:
    """Publish the planned version's files; `render` gives the files of another version
    or time when someone published or claimed meanwhile. The same fingerprint again
    writes nothing but finishes a copy an interrupted run left half done."""
    from kvartal.publish import publish
    from kvartal.report import file_at_quarter

    def owed(n: int, published_at: datetime) -> dict[str, bytes]:
        if files and (n, published_at) == (planned.version, planned.published_at):
            return files
        return render(n, published_at)

    # `now`: a new version carries the planned time, so the files rendered for it are used
    return publish(
        publish_to,
        str(version.quarter),
        fingerprint=version.fingerprint,
        render=owed,
        manifest_extra=version.extra,
        index_renderer=index_page,
        now=planned.published_at,
        actor=actor,
        at_quarter=file_at_quarter,
    )


def recipient_link(publish_to: Storage, expiry: int) -> Callable[[str], str]:
    """How a mail links a published file: a presigned URL valid `expiry` seconds (at most
    a week, S3's limit) where the storage signs, else the file's own location."""

    def link(key: str) -> str:
        signed = publish_to.presigned_url(key, min(expiry, 604800))
        return signed or publish_to.location(key)

    return link


def index_page(entries: list[IndexEntry]) -> bytes:
    """index.html at the publish root, from the manifests alone."""
    from kvartal.report import IndexQuarter, IndexVersion, render_index

    return render_index(
        [
            IndexQuarter(
                quarter=e.quarter,
                versions=[
                    IndexVersion(
                        version=v[0],
                        published_at=v[1],
                        href=f"{e.quarter}/versions/{v[0]}/report.html",
                    )
                    for v in e.versions
                ],
            )
            for e in entries
        ]
    )


# --- the whole run, for callers without Prefect -----------------------------------------


@dataclass
class QuarterRun:
    """What a run without Prefect did; `published` is None when errors blocked it."""

    checked: Checked
    review: str
    evaluated: Evaluated | None = None
    published: PublishResult | None = None


def run_quarter(
    inbox: Storage,
    review: Storage,
    publish_to: Storage,
    quarter: Quarter,
    run: RunSettings,
    *,
    timezone: str,
    limits: Limits,
    lease: float,
    collection: CollectionSettings,
    links: ReviewLinks,
    run_id: str | None = None,
    mark: Callable[[str], None] = lambda stage: None,
) -> QuarterRun:
    """check -> evaluate -> render -> publish, as the flow runs it, without the approval
    and the mails; `mark(stage)` is called as each stage ends (the benchmark's timings)."""
    inputs = gather_inputs(inbox, quarter, limits)
    mark("gather")
    checked = validate_inputs(inputs)
    location = write_review(checked, review, links, (inbox, collection))
    mark("validate")
    done = QuarterRun(checked, location)
    if checked.validation.blocking:
        return done
    done.evaluated = evaluate(checked, run)
    mark("fulfil")
    fingerprint = source_fingerprint(checked, run)
    planned = plan_version(publish_to, quarter, fingerprint)

    def render(n: int, published_at: datetime) -> dict[str, bytes]:
        assert done.evaluated is not None
        return render_files(
            quarter,
            n,
            published_at,
            done.evaluated.fulfilment,
            checked.validation,
            timezone=timezone,
            publish_to=publish_to,
            sources=sources(checked),
        )

    files = {} if planned.already else render(planned.version, planned.published_at)
    mark("render")
    version = Version(quarter, fingerprint, manifest_extra(checked, done.evaluated, run_id))
    from kvartal.publish import this_process

    done.published = publish_files(publish_to, version, planned, files, render, this_process(lease))
    mark("publish")
    return done
