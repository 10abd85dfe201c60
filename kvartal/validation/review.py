"""What operators read after validation: `validation.json` for machines, `.html` for people.

The HTML carries cell values and comments straight from the centres' spreadsheets, so it is
rendered with autoescaping on and with no external resources: it must open safely from a
mail attachment or a file share, and a hostile cell must stay text.
"""

from __future__ import annotations

import json
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kvartal.model import ERROR
from kvartal.quarters import Quarter

if TYPE_CHECKING:
    from kvartal.validation import ValidationResult

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _records(result: ValidationResult) -> list[dict[str, Any]]:
    out = []
    for p in result.problems:
        record = p.to_json()
        waiver = result.waiver_of(p)
        record["waived"] = (
            {"reason": waiver.reason, "approved_by": waiver.approved_by}
            if waiver is not None
            else None
        )
        out.append(record)
    return out


def review_json(result: ValidationResult, quarter: Quarter) -> bytes:
    """CONTRACT §6: a JSON list of problems, each with where, which rule and what to do."""
    return (json.dumps(_records(result), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def review_html(
    result: ValidationResult,
    quarter: Quarter,
    data_docs_href: str | None = None,
    collection: object = None,
) -> bytes:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    records = _records(result)
    files = [(file, list(items)) for file, items in groupby(records, key=lambda r: r["file"])]
    blocking = len(result.blocking)
    html = env.get_template("validation.html.j2").render(
        quarter=quarter,
        label=quarter.label_da,
        files=files,
        blocking=blocking,
        errors=sum(1 for r in records if r["severity"] == ERROR),
        warnings=len(result.warnings),
        waived=len(result.waived),
        data_docs_href=data_docs_href,
        collection_rows=collection if isinstance(collection, list) else None,
        collection_note=collection if isinstance(collection, str) else None,
    )
    return html.encode("utf-8")
