"""An operator's decision on a blocked quarter, written down as waivers.

Approval in the Prefect UI is only a faster way to fill in `afvigelser.csv`: the decision is
appended to that file in the inbox, so it is on the record beside the figures and a re-run
of the same quarter reproduces it without anyone clicking again.
"""

from __future__ import annotations

import csv
import io

from kvartal.model import WAIVER_COLUMNS, Problem, Waiver
from kvartal.quarters import Quarter
from kvartal.storage import Storage

WAIVER_FILE = "afvigelser.csv"


def problem_key(problem: Problem) -> str:
    """How a problem is named in the approval form: `file:cell:rule` (unique per finding)."""
    return f"{problem.file}:{problem.cell or ''}:{problem.rule}"


def waivers_for(problems: list[Problem], keys: list[str], reason: str,
                approved_by: str) -> list[Waiver]:
    chosen = set(keys)
    return [Waiver(file=p.file, cell=p.cell, rule=p.rule, reason=reason, approved_by=approved_by)
            for p in problems if problem_key(p) in chosen]


def append_waivers(inbox: Storage, quarter: Quarter, waivers: list[Waiver]) -> str:
    """Add rows to `<quarter>/afvigelser.csv`, keeping what is there; returns the key."""
    key = f"{quarter}/{WAIVER_FILE}"
    existing = [k for k in inbox.list(f"{quarter}/") if k.lower() == key.lower()]
    rows: list[list[str]] = []
    if existing:
        key = existing[0]
        raw = inbox.read(key)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")
        dialect = ";" if text.split("\n", 1)[0].count(";") >= text.split("\n", 1)[0].count(",") \
            else ","
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=dialect) if any(r)]
    if not rows:
        rows = [list(WAIVER_COLUMNS)]
    header = [h.strip().rstrip(".").lower() for h in rows[0]]
    for w in waivers:
        values = {"fil": w.file, "celle": w.cell or "", "regel": w.rule or "",
                  "begrundelse": w.reason, "godkendt af": w.approved_by}
        rows.append([values.get(h, "") for h in header])
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    inbox.write(key, out.getvalue().encode("utf-8-sig"), content_type="text/csv")
    return key
