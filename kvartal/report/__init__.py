"""What recipients receive: report.html, report.pdf, report.xlsx, fulfilment.json, index.html.

The four files of a quarter are rendered from one `ReportInput`, so they cannot tell
different stories. Jinja2, WeasyPrint, openpyxl and Babel are imported inside the functions
that need them: the flow imports this package long before it renders anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kvartal.history.changes import CHANGES, Previous, changes_doc, changes_json
from kvartal.history.trend import PublishedQuarter
from kvartal.model import Figure, Problem, Target, TargetResult, Waiver
from kvartal.quarters import Quarter

__all__ = [
    "IndexQuarter",
    "IndexVersion",
    "PdfAccessibilityError",
    "ReportInput",
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


def render_index(quarters: list[IndexQuarter]) -> bytes:
    from kvartal.report.pages import index_html

    return index_html(quarters)


def render_all(ri: ReportInput) -> dict[str, bytes]:
    fulfilment = fulfilment_json(ri)
    changes = changes_of(ri, fulfilment)
    html = render_html(ri, changes)
    files = {
        "report.html": html,
        "report.pdf": render_pdf(html),
        "report.xlsx": render_xlsx(ri),
        "fulfilment.json": fulfilment,
    }
    if changes is not None:
        files[CHANGES] = changes_json(changes)
    return files
