"""`<review>/<quarter>/indsamling.json` for machines and `indsamling.html` for the operators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kvartal.collection.status import Collection, local
from kvartal.storage import Storage

if TYPE_CHECKING:
    from kvartal.config import CollectionSettings
    from kvartal.gather import Inputs
    from kvartal.links import ReviewLinks
    from kvartal.review import Frames
    from kvartal.validation import ValidationResult

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def collection_json(collection: Collection) -> bytes:
    return (json.dumps(collection.to_json(), ensure_ascii=False, indent=2) + "\n").encode()


def table_rows(collection: Collection) -> list[dict[str, Any]]:
    """One row per centre for `_indsamling.html.j2` (also shown in validation.html)."""
    rows = []
    for c in collection.centres:
        if c.file is None:
            status, css = "mangler", "mangler"
        elif c.errors:
            status, css = f"fejl ({len(c.errors)})", "fejl"
        else:
            status, css = "afleveret", "ok"
        if c.file is not None and not c.on_time:
            status, css = f"for sent, {status}", "fejl" if c.errors else "sent"
        rows.append(
            {
                "centre": c.centre,
                "status": status,
                "css": css,
                "file": c.where or None,
                "delivered_at": local(c.delivered_at, c.zone).strftime("%d.%m.%Y %H.%M")
                if c.delivered_at
                else "",
                "errors": len(c.errors),
                "warnings": len(c.warnings),
                "owed": len(c.owed),
                "missing": [t.target_id for t in c.missing],
                "emails": ", ".join(c.emails),
            }
        )
    return rows


def collection_html(collection: Collection) -> bytes:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    html = env.get_template("indsamling.html.j2").render(
        quarter=collection.quarter,
        label=collection.quarter.label_da,
        deadline=local(collection.deadline, collection.zone).strftime("%d.%m.%Y kl. %H.%M"),
        summary=collection.summary(),
        collection_rows=table_rows(collection),
        problems=[p.to_json() for p in collection.problems],
    )
    return html.encode("utf-8")


def write_collection(review: Storage, collection: Collection, links: ReviewLinks) -> str:
    from kvartal.review import link_to

    q = collection.quarter
    review.write(
        f"{q}/indsamling.json", collection_json(collection), content_type="application/json"
    )
    review.write(
        f"{q}/indsamling.html", collection_html(collection), content_type="text/html; charset=utf-8"
    )
    return link_to(review, f"{q}/indsamling.html", links)


def rows_for_review(
    inbox: Storage,
    inputs: Inputs,
    frames: Frames,
    result: ValidationResult,
    cfg: CollectionSettings,
    review: tuple[Storage, ReviewLinks] | None = None,
) -> list[dict[str, Any]] | str:
    """The collection table for validation.html, from the run's own validation (and, given
    the review location, `indsamling.json`/`.html` beside it); or why it cannot be shown
    (a bad `.afleveringstider.json`, an unreadable listing): the validation report is
    written either way."""
    from kvartal.collection.status import collect_from

    try:
        collection = collect_from(inbox, inputs, frames, result, cfg)
        if review is not None:
            store, links = review
            write_collection(store, collection, links)
    except (OSError, ValueError, TypeError) as exc:
        return f"Indsamlingen kan ikke vises: {exc}"
    return table_rows(collection)
