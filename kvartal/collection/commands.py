"""`kvartal collection`, `kvartal check` and `kvartal remind` (CONTRACT §9).

No Prefect here: an operator, a test and the deployment's flow all call the same plain
functions, and the check's idle pass must stay cheap.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from kvartal.config import settings
from kvartal.quarters import Quarter
from kvartal.storage import open_storage

if TYPE_CHECKING:
    from kvartal.config import Settings
    from kvartal.notify import SmtpSettings

EXIT_OK, EXIT_FAILED, EXIT_INCOMPLETE = 0, 1, 2


def run_command(args: argparse.Namespace, inbox_url: str, quarter_text: str) -> int:
    quarter = Quarter.parse(quarter_text)
    inbox = open_storage(inbox_url)
    review = open_storage(args.review_to or settings().review_to)
    cfg = settings()
    if args.command == "collection":
        return collection_command(inbox, review, quarter, cfg)
    if args.command == "check":
        return check_command(inbox, review, quarter, cfg)
    return remind_command(inbox, review, quarter, _day(args.day, cfg.timezone), cfg)


def _day(text: str | None, timezone: str) -> date:
    if text:
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"--day {text!r} er ikke en dato (skriv fx 2009-09-28)") from None
    return datetime.now(ZoneInfo(timezone)).date()


def _smtp() -> SmtpSettings | None:
    from kvartal.notify import SmtpSettings

    return SmtpSettings.from_env()


def collection_command(inbox: object, review: object, quarter: Quarter, cfg: Settings) -> int:
    from kvartal.collection.render import write_collection
    from kvartal.collection.status import collect
    from kvartal.links import ReviewLinks

    collection = collect(inbox, quarter, cfg.collection(), cfg.read_limits())  # type: ignore[arg-type]
    where = write_collection(review, collection, ReviewLinks.of(cfg))  # type: ignore[arg-type]
    for c in collection.centres:
        print(c.line())
    for p in collection.problems:
        print(p.line(), file=sys.stderr)
    s = collection.summary()
    print(
        f"{quarter}: {s['delivered']} af {s['expected']} centre har afleveret, "
        f"{s['on_time']} til tiden, {s['without_errors']} uden fejl. Oversigt: {where}",
        file=sys.stderr,
    )
    return EXIT_OK if collection.all_clear() else EXIT_INCOMPLETE


def check_command(inbox: object, review: object, quarter: Quarter, cfg: Settings) -> int:
    from kvartal.collection.check import check

    outcome = check(inbox, review, quarter, _smtp(), cfg.read_limits(), cfg.collection())  # type: ignore[arg-type]
    return _told(outcome.lines, outcome.failed)


def remind_command(
    inbox: object, review: object, quarter: Quarter, day: date, cfg: Settings
) -> int:
    from kvartal.collection.remind import remind

    outcome = remind(inbox, review, quarter, day, _smtp(), cfg.collection(), cfg.read_limits())  # type: ignore[arg-type]
    return _told(outcome.lines, outcome.failed)


def _told(lines: list[str], failed: dict[str, str]) -> int:
    """What a check or a reminder round did, and a failed exit if any mail failed."""
    for line in lines:
        print(line)
    for to, why in failed.items():
        print(f"kvartal: mail til {to} mislykkedes: {why}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK
