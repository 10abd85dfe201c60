"""What recipients receive: report.html, report.pdf, report.xlsx, fulfilment.json, index.html.

The four files of a quarter are rendered from one `ReportInput`, so they cannot tell
different stories. Jinja2, WeasyPrint, openpyxl and Babel are imported inside the functions
that need them: the flow imports this package long before it renders anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

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


def render_html(ri: ReportInput) -> bytes:
    from kvartal.report.pages import report_html

    return report_html(ri)


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
    html = render_html(ri)
    return {
        "report.html": html,
        "report.pdf": render_pdf(html),
        "report.xlsx": render_xlsx(ri),
        "fulfilment.json": fulfilment_json(ri),
    }
