"""The operators' overview of a register run (CONTRACT §8): one line per inbox.

Each inbox ends as one of three things an operator acts on differently: `udgivet` (nothing
to do), `blokeret` (the centres correct their files, or an operator waives; the validation
report says what) and `fejl` (something else went wrong: the reason says what). The same
outcome gives the command's line, the exit status, `oversigt.json`/`.html` and the table
artifact, so they cannot disagree.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any, Literal

from kvartal.quarters import Quarter
from kvartal.storage import Storage

Status = Literal["udgivet", "blokeret", "fejl"]
EXIT_OK, EXIT_FAILED, EXIT_BLOCKED = 0, 1, 2


@dataclass
class InboxOutcome:
    name: str
    status: Status
    version: int | None = None
    already_published: bool = False
    report: str | None = None
    review: str | None = None  # the validation report (blocked) or the review location
    errors: int | None = None
    warnings: int | None = None
    reason: str | None = None
    flow_run_id: str | None = None
    # the run an operator opens: the approval run of a blocked inbox, else the inbox's run
    run_url: str | None = None
    # the collection's counts (CONTRACT §9: expected, delivered, on_time, without_errors)
    summary: dict[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InboxOutcome:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def published(cls, name: str, result: dict[str, Any], flow_run_id: str | None) -> InboxOutcome:
        """The outcome of a quarterly run that completed, from the dict it returned."""
        return cls(
            name,
            "udgivet",
            version=result["version"],
            already_published=not result["published"],
            report=result["report"],
            review=result["review"],
            warnings=result["warnings"],
            flow_run_id=flow_run_id,
        )

    @property
    def detail(self) -> str:
        if self.status == "udgivet":
            what = " (allerede udgivet med samme indhold)" if self.already_published else ""
            return f"version {self.version}{what}: {self.report}"
        if self.status == "blokeret":
            text = f"{self.errors} fejl; se {self.review}"
            return f"{text}; {self.reason}" if self.reason else text
        return self.reason or "ukendt fejl"

    def line(self) -> str:
        """`name: status …` as `run-all` prints it; the status word comes first."""
        sep = " " if self.status == "udgivet" else ": "
        return f"{self.name}: {self.status}{sep}{self.detail}"


def exit_status(outcomes: list[InboxOutcome]) -> int:
    """0 all published; 1 any failed; else 2 when any was blocked."""
    statuses = {o.status for o in outcomes}
    if "fejl" in statuses:
        return EXIT_FAILED
    if "blokeret" in statuses:
        return EXIT_BLOCKED
    return EXIT_OK


def counts(outcomes: list[InboxOutcome]) -> dict[str, int]:
    return {s: sum(1 for o in outcomes if o.status == s) for s in ("udgivet", "blokeret", "fejl")}


def summary_json(
    quarter: Quarter, outcomes: list[InboxOutcome], register: str = "", run_id: str | None = None
) -> dict[str, Any]:
    return {
        "quarter": str(quarter),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "register": register,
        "run_id": run_id,
        "counts": counts(outcomes),
        "inboxes": [o.to_dict() for o in outcomes],
    }


def _href(location: str | None) -> str | None:
    if not location:
        return None
    return location if "://" in location else "file://" + location


def summary_html(summary: dict[str, Any], zone: str) -> bytes:
    from kvartal.report.pages import environment

    quarter = Quarter.parse(summary["quarter"])
    rows = []
    for item in summary["inboxes"]:
        o = InboxOutcome.from_dict(item)
        rows.append(
            {
                "name": o.name,
                "status": o.status,
                "version": o.version if o.version is not None else "",
                "errors": o.errors if o.status == "blokeret" else "",
                "text": (
                    ("Allerede udgivet med samme indhold" if o.already_published else "Udgivet")
                    if o.status == "udgivet"
                    else (
                        f"{o.errors} fejl blokerer udgivelsen"
                        + (f"; {o.reason}" if o.reason else "")
                    )
                    if o.status == "blokeret"
                    else (o.reason or "Ukendt fejl")
                ),
                "href": _href(o.report if o.status == "udgivet" else o.review),
                "link_text": ("Rapporten" if o.status == "udgivet" else "Valideringsrapporten"),
                "run_url": o.run_url,
                "collection": collection_text(o.summary),
            }
        )
    text = (
        environment()
        .get_template("oversigt.html.j2")
        .render(
            quarter=summary["quarter"],
            label=quarter.label_da,
            counts=summary["counts"],
            created=local_time(summary["created"], zone),
            rows=rows,
        )
    )
    return text.encode("utf-8")


def collection_text(counts: dict[str, int] | None) -> str:
    """`5 af 6 afleveret, 4 til tiden, 4 uden fejl`: the centres' deliveries in one line."""
    if not counts:
        return ""
    return (
        f"{counts.get('delivered', 0)} af {counts.get('expected', 0)} afleveret, "
        f"{counts.get('on_time', 0)} til tiden, {counts.get('without_errors', 0)} uden fejl"
    )


def local_time(iso: str, zone: str) -> str:
    """`10.10.2009 kl. 08:00` in KVARTAL_TIMEZONE (`zone`): what an operator in Denmark reads."""
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(iso)
    return moment.astimezone(ZoneInfo(zone)).strftime("%d.%m.%Y kl. %H:%M")


def update_inbox(storage: Storage, quarter: str, outcome: InboxOutcome, zone: str) -> str | None:
    """Replace one inbox's line of an overview already written (a blocked inbox decided,
    rejected, timed out or crashed in its own run, after the register's run wrote it).

    Two inboxes' runs may end at the same moment; each reads back what it wrote and writes
    again if the other's write replaced its line. Returns where, or None without overview.
    """
    key = f"{quarter}/oversigt.json"
    for _ in range(5):
        if not storage.exists(key):
            return None
        summary = json.loads(storage.read(key))
        items = [InboxOutcome.from_dict(i) for i in summary["inboxes"]]
        if outcome.name not in {i.name for i in items}:
            return None
        before = next(i for i in items if i.name == outcome.name)
        if outcome.summary is None:  # the collection did not change with the decision
            outcome.summary = before.summary
        items = [outcome if i.name == outcome.name else i for i in items]
        summary["inboxes"] = [i.to_dict() for i in items]
        summary["counts"] = counts(items)
        summary["created"] = datetime.now(UTC).isoformat(timespec="seconds")
        location = write_summary(storage, summary, zone)
        again = json.loads(storage.read(key))
        mine = [i for i in again["inboxes"] if i["name"] == outcome.name]
        if mine and mine[0] == outcome.to_dict():
            return location
    return location


def write_summary(storage: Storage, summary: dict[str, Any], zone: str) -> str:
    """oversigt.json then oversigt.html, replacing an earlier run's overview of the quarter;
    `zone` (KVARTAL_TIMEZONE) is the one the page's time is shown in."""
    quarter = summary["quarter"]
    storage.write(
        f"{quarter}/oversigt.json",
        json.dumps(summary, ensure_ascii=False, indent=2).encode("utf-8"),
        content_type="application/json",
    )
    storage.write(
        f"{quarter}/oversigt.html",
        summary_html(summary, zone),
        content_type="text/html; charset=utf-8",
    )
    return storage.location(f"{quarter}/oversigt.html")


def table_rows(outcomes: list[InboxOutcome]) -> list[dict[str, Any]]:
    """The overview as a Prefect table artifact: the same facts, Danish column names."""
    return [
        {
            "indbakke": o.name,
            "status": o.status,
            "version": o.version if o.version is not None else "",
            "fejl": o.errors if o.errors is not None else "",
            "detaljer": o.detail + (f" ({o.run_url})" if o.run_url else ""),
        }
        for o in outcomes
    ]
