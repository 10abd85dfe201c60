"""From raw sheets to the frames validation checks, and the operator's review files.

The review files go to the operators' location only; `storage.check_locations` refuses a
review location inside the recipients' one, so no validation report reaches a recipient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kvartal.gather import Inputs
from kvartal.quarters import Quarter
from kvartal.storage import Storage
from kvartal.tables import SheetFrame, sheet_frame

if TYPE_CHECKING:
    from kvartal.links import ReviewLinks


@dataclass
class Frames:
    catalogue: list[SheetFrame] = field(default_factory=list)
    figures: dict[Quarter, list[SheetFrame]] = field(default_factory=dict)
    waivers: SheetFrame | None = None


def frames_of(inputs: Inputs) -> Frames:
    return Frames(
        catalogue=[sheet_frame(s, "catalogue") for s in inputs.catalogue],
        figures={
            q: [sheet_frame(s, "figures") for s in sheets] for q, sheets in inputs.figures.items()
        },
        waivers=sheet_frame(inputs.waivers, "waivers") if inputs.waivers else None,
    )


def write_review(
    storage: Storage,
    quarter: Quarter,
    result: object,
    links: ReviewLinks,
    collection: object = None,
) -> str:
    """Write validation.json then validation.html; returns where a person opens the HTML.

    `collection`: the collection table's rows (`kvartal.collection.render.rows_for_review`).
    """
    from kvartal.validation import review_html, review_json

    storage.write(
        f"{quarter}/validation.json",
        review_json(result, quarter),  # type: ignore[arg-type]
        content_type="application/json",
    )
    storage.write(
        f"{quarter}/validation.html",
        review_html(result, quarter, collection=collection),  # type: ignore[arg-type]
        content_type="text/html; charset=utf-8",
    )
    return link_to(storage, f"{quarter}/validation.html", links)


def link_to(storage: Storage, key: str, links: ReviewLinks) -> str:
    from kvartal.links import review_link

    return review_link(storage, key, links)
