"""The HTML pages, from the Jinja2 templates in the repository's `templates/` folder.

Autoescaping is on for every template and undefined names fail loudly: a value a reader
should see must never silently vanish, and text from spreadsheets must never become markup.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import kvartal
from kvartal.quarters import Quarter, QuarterError
from kvartal.report import danish, view

if TYPE_CHECKING:
    from jinja2 import Environment

    from kvartal.report import IndexQuarter, ReportInput

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def templates_dir() -> Path:
    return Path(kvartal.__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["CSP"] = CSP
    env.globals["BAR_WIDTH"] = view.BAR_WIDTH
    return env


def report_html(ri: ReportInput, changes: dict[str, Any] | None = None) -> bytes:
    page = view.build(ri, changes)
    text = environment().get_template("report.html.j2").render(page=page)
    return text.encode("utf-8")


def _quarter_key(q: str) -> tuple[int, str]:
    try:
        return (Quarter.parse(q).ordinal, q)
    except QuarterError:
        return (-1, q)


def _quarter_label(q: str) -> str:
    try:
        return Quarter.parse(q).label_da
    except QuarterError:
        return q


def _safe_href(href: str) -> str:
    """Links come from the publisher, but a `javascript:` or `data:` link must never slip in."""
    scheme = urlsplit(href).scheme.lower()
    if scheme not in ("", "http", "https"):
        raise ValueError(f"link with scheme {scheme!r} refused: {href!r}")
    return href


def index_html(quarters: list[IndexQuarter]) -> bytes:
    ordered = sorted(quarters, key=lambda iq: _quarter_key(iq.quarter), reverse=True)
    rows = [
        {
            "quarter": iq.quarter,
            "label": _quarter_label(iq.quarter),
            "versions": [
                {
                    "version": v.version,
                    "href": _safe_href(v.href),
                    "published": danish.moment(v.published_at),
                }
                for v in sorted(iq.versions, key=lambda v: v.version, reverse=True)
            ],
        }
        for iq in ordered
    ]
    text = environment().get_template("index.html.j2").render(quarters=rows)
    return text.encode("utf-8")
