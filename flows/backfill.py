"""`kvartal backfill` (CONTRACT §10): every quarter from --from to --to, in order, each as
its own quarterly flow run under one parent flow run.

A municipality taking kvartal into use has earlier quarters in spreadsheets; each is
published exactly as `kvartal run --quarter Q` would publish it (the same child flow as a
register's inbox, `flows.quarterly_reports.run_inbox`, with the quarter as its name), so a
backfill and separate runs give the same files, and a second backfill publishes nothing
new. A blocked or failed quarter is reported and the next one still runs; the lines and the
exit status are `run-all`'s (`kvartal.summary`). Quarters go in order because each report's
page of charts shows the quarters published before it.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from flows.quarterly_reports import run_inbox
from kvartal.quarters import Quarter
from kvartal.register import InboxEntry
from kvartal.summary import table_rows


def quarters_between(first: str, last: str) -> list[Quarter]:
    """Every quarter from `first` to `last`, both included; a reversed span is an error."""
    start, end = Quarter.parse(first), Quarter.parse(last)
    if end < start:
        raise ValueError(
            f"--from {start} ligger efter --to {end}; angiv det første kvartal i --from "
            "og det sidste i --to"
        )
    return start.until(end)


@flow(name="backfill", log_prints=True)
def backfill(
    first: str, last: str, inbox: str, publish_to: str, review_to: str
) -> list[dict[str, Any]]:
    """Publish every quarter of the span, oldest first; the outcomes as `run-all` gives them."""
    quarters = quarters_between(first, last)
    outcomes = [run_inbox(InboxEntry(str(q), inbox, publish_to, review_to), q) for q in quarters]
    create_table_artifact(
        key=f"kvartal-backfill-{str(quarters[0]).lower()}-{str(quarters[-1]).lower()}",
        table=table_rows(outcomes),
        description=f"Tilbageudfyldning {quarters[0]}–{quarters[-1]} fra {inbox}",
    )
    get_run_logger().info("%d kvartaler kørt", len(outcomes))
    return [o.to_dict() for o in outcomes]
