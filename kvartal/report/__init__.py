"""What recipients receive: report.html, report.pdf, report.xlsx, fulfilment.json, index.html.

The four files of a quarter are rendered from one `ReportInput`, so they cannot tell
different stories. Jinja2, WeasyPrint, openpyxl and Babel are imported inside the functions
that need them: the flow imports this package long before it renders anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from kvartal.history.changes import CHANGES, Previous, changes_doc, changes_json
from kvartal.history.trend import PublishedQuarter
from kvartal.model import Figure, Problem, Target, TargetResult, Waiver
from kvartal.quarters import Quarter

__all__ = [
    "LABELS",
    "MAILED_FILES",
    "RECIPIENT_FILES",
    "IndexQuarter",
    "IndexVersion",
    "PdfAccessibilityError",
    "RecipientFile",
    "ReportInput",
    "file_at_quarter",
    "fulfilment_json",
    "render_all",
    "render_html",
    "render_index",
    "render_pdf",
    "render_xlsx",
]


@dataclass
class ReportInput:
    quarter: Quarter
    version: int
    targets: list[Target]  # the whole catalogue (titles, themes, descriptions)
    results: list[TargetResult]  # fulfilment.evaluate for this quarter
    previous: dict[str, TargetResult]  # target_id -> result for the quarter before
    figures: list[Figure]  # this quarter's figures (comments live in Figure.comment)
    warnings: list[Problem]  # validation warnings, published as notes
    waivers: list[tuple[Problem, Waiver]]  # waived errors with reason and approver
    updated: date  # "Sidst opdateret"
    # CONTRACT §10. The version before this one as published (None for version 1), and the
    # source files this version reads (as its manifest lists them): changes.json and the
    # first page's "what changed" are computed from the two.
    since: Previous | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    # The published quarters before this one (their newest versions), for the page of charts
    course: list[PublishedQuarter] = field(default_factory=list)


@dataclass
class IndexVersion:
    version: int
    published_at: str
    href: str  # relative link


@dataclass
class IndexQuarter:
    quarter: str
    versions: list[IndexVersion]  # newest version first


class PdfAccessibilityError(RuntimeError):
    """WeasyPrint could not make the PDF accessible (PDF/UA); publishing it would exclude
    readers who depend on assistive technology, so the build stops instead."""


def fulfilment_json(ri: ReportInput) -> bytes:
    doc = {
        "quarter": str(ri.quarter),
        "version": ri.version,
        "targets": [r.to_json() for r in ri.results],
    }
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def changes_of(ri: ReportInput, fulfilment: bytes) -> dict[str, Any] | None:
    """§10's changes.json of this version against the one before it; None for version 1."""
    if ri.since is None:
        return None
    waivers = [w.to_json() for _, w in ri.waivers]
    return changes_doc(str(ri.quarter), ri.version, ri.since, fulfilment, ri.sources, waivers)


def render_html(ri: ReportInput, changes: dict[str, Any] | None = None) -> bytes:
    from kvartal.report.pages import report_html

    return report_html(ri, changes)


def render_pdf(html: bytes) -> bytes:
    from kvartal.report.pdf import html_to_pdf

    return html_to_pdf(html)


def render_xlsx(ri: ReportInput) -> bytes:
    from kvartal.report.workbook import report_xlsx

    return report_xlsx(ri)


def html_at_quarter(html: bytes) -> bytes:
    from kvartal.report.view import html_at_quarter as at_quarter

    return at_quarter(html)


def render_index(quarters: list[IndexQuarter]) -> bytes:
    from kvartal.report.pages import index_html

    return index_html(quarters)


class Rendering:
    """One version's files in the making: what several files share is made once."""

    def __init__(self, ri: ReportInput):
        self.ri = ri
        self.fulfilment = fulfilment_json(ri)
        self.changes = changes_of(ri, self.fulfilment)

    @cached_property
    def html(self) -> bytes:
        return render_html(self.ri, self.changes)


@dataclass(frozen=True)
class RecipientFile:
    """A file the recipients get: its name, its link's text, how a version renders it
    (None: rendered over all versions, the index), whether the mail a recipient gets for
    each version links it, and how its copy at `<quarter>/` differs from the version's
    (None: not at all)."""

    name: str
    label: str
    render: Callable[[Rendering], bytes | None] | None
    mailed: bool = False
    at_quarter: Callable[[bytes], bytes] | None = None


# The one list of the recipients' files: `render_all` renders the ones with a renderer (in
# this order), the recipients' mail links the `mailed` ones with their labels. A new output
# format is one entry here.
RECIPIENT_FILES: tuple[RecipientFile, ...] = (
    RecipientFile(
        "report.html", "Rapporten (HTML)", lambda r: r.html, mailed=True, at_quarter=html_at_quarter
    ),
    RecipientFile("report.pdf", "Rapporten (PDF)", lambda r: render_pdf(r.html), mailed=True),
    RecipientFile("report.xlsx", "Regneark (Excel)", lambda r: render_xlsx(r.ri), mailed=True),
    RecipientFile("fulfilment.json", "Data (JSON)", lambda r: r.fulfilment),
    # version 1 has nothing to compare with, so no changes.json (CONTRACT §10)
    RecipientFile(
        CHANGES, CHANGES, lambda r: changes_json(r.changes) if r.changes is not None else None
    ),
    RecipientFile("index.html", "Alle rapporter", None),
)
MAILED_FILES: tuple[str, ...] = tuple(f.name for f in RECIPIENT_FILES if f.mailed)
LABELS: dict[str, str] = {f.name: f.label for f in RECIPIENT_FILES}


def file_at_quarter(name: str, data: bytes) -> bytes:
    """A version's file as its copy at `<quarter>/` holds it (publish's `at_quarter`)."""
    for f in RECIPIENT_FILES:
        if f.name == name and f.at_quarter is not None:
            return f.at_quarter(data)
    return data


def render_all(ri: ReportInput) -> dict[str, bytes]:
    rendering = Rendering(ri)
    files: dict[str, bytes] = {}
    for f in RECIPIENT_FILES:
        data = f.render(rendering) if f.render is not None else None
        if data is not None:
            files[f.name] = data
    return files
