"""The one wiring of the quarterly run (`kvartal.pipeline`), over the inboxes kept as
fixtures: its guard, the row accounting, holds for every one of them.

An inbox with errors is included: a scheduled run evaluates it after an operator waives
the errors, with the same problems naming the same rows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kvartal import pipeline
from kvartal.config import RunSettings
from kvartal.quarters import Quarter
from kvartal.readers import Limits
from kvartal.storage import LocalStorage

ROOT = Path(__file__).resolve().parent.parent
QUARTER_FOLDER = re.compile(r"^\d{4}Q[1-4]$")


def fixture_inboxes() -> list[tuple[Path, Quarter]]:
    """Every folder under tests/data and examples/inbox with a catalogue, at the newest
    quarter it has a folder for."""
    found = []
    for targets in sorted(
        [*(ROOT / "tests" / "data").rglob("targets"), ROOT / "examples/inbox/targets"]
    ):
        inbox = targets.parent
        quarters = [Quarter.parse(d.name) for d in inbox.iterdir() if QUARTER_FOLDER.match(d.name)]
        if targets.is_dir() and quarters:
            found.append((inbox, max(quarters)))
    return found


INBOXES = fixture_inboxes()


def test_the_fixture_inboxes_are_found() -> None:
    names = {str(inbox.relative_to(ROOT)) for inbox, _ in INBOXES}
    assert {"examples/inbox", "tests/data/flow/inbox", "tests/data/collection/inbox"} <= names


@pytest.mark.parametrize(
    ("inbox", "quarter"), INBOXES, ids=[str(i.relative_to(ROOT)) for i, _ in INBOXES]
)
def test_every_row_read_feeds_a_target_or_is_named(inbox: Path, quarter: Quarter) -> None:
    """Every row read feeds a target or is named by a problem: `evaluate` raises on any
    other, and the count of rows read is every data row of every sheet gathered."""
    checked = pipeline.check(LocalStorage(inbox), quarter, Limits())
    evaluated = pipeline.evaluate(checked, RunSettings())
    inputs = checked.inputs
    sheets = [*inputs.catalogue, *(s for q in inputs.figures.values() for s in q)]
    rows = evaluated.accounting
    assert rows.rows_read == sum(len(sheet.rows) for sheet in sheets) > 0
    assert rows.unaccounted == []
    assert rows.rows_used + rows.rows_with_problems >= rows.rows_read


# The calls that join one stage to the next. A second place making them is a second
# wiring, free to leave a stage out (bench/bare.py once published without the accounting).
JOINS = (
    "frames_of(",
    "frames.waivers",
    "check_accounting(",
    "render_all(",
    "render_index(",
)
PRODUCTION = ("kvartal", "flows", "tasks", "bench", "deployments")


def test_the_stages_are_joined_in_one_module() -> None:
    callers: dict[str, set[str]] = {}
    for folder in PRODUCTION:
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for join in JOINS:
                calls = text.count(join) - text.count(f"def {join}")
                if calls:
                    callers.setdefault(join, set()).add(path.relative_to(ROOT).as_posix())
    assert callers == {join: {"kvartal/pipeline.py"} for join in JOINS}


def test_a_mail_links_a_signed_url_of_at_most_a_week_or_the_file(tmp_path: Path) -> None:
    class Signing(LocalStorage):
        def presigned_url(self, key: str, expiry: int) -> str:
            return f"https://s3.example/{key}?X-Amz-Expires={expiry}"

    signed = pipeline.recipient_link(Signing(tmp_path), 30 * 86400)
    assert (
        signed("2009Q3/report.pdf") == "https://s3.example/2009Q3/report.pdf?X-Amz-Expires=604800"
    )
    short = pipeline.recipient_link(Signing(tmp_path), 86400)
    assert short("2009Q3/report.pdf").endswith("X-Amz-Expires=86400")
    plain = pipeline.recipient_link(LocalStorage(tmp_path), 86400)
    assert plain("2009Q3/report.pdf") == str(tmp_path / "2009Q3" / "report.pdf")
