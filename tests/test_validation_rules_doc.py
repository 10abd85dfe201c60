"""docs/rules.md lists every rule slug kvartal can report, each with its severity."""

from __future__ import annotations

import json
import re
from pathlib import Path

from kvartal.validation.rules import RULES, every_rule

REPO = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^\|\s*`([a-z0-9_]+)`\s*\|\s*(fejl|advarsel)\s*\|", re.MULTILINE)


def documented() -> dict[str, str]:
    text = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    rows = ROW.findall(text)
    slugs = [slug for slug, _ in rows]
    assert len(slugs) == len(set(slugs)), "a rule is listed twice"
    return dict(rows)


def test_docs_list_exactly_the_rules_the_code_can_emit() -> None:
    assert documented() == every_rule()


def test_every_slug_written_in_the_code_is_registered() -> None:
    """Slugs handed to a Problem or a ReadError as literals, and the expectation suites'
    rules, are all in the registry the docs are checked against."""
    known = every_rule()
    literal = re.compile(
        r"""(?:ReadError\(\s*|rule=|_whole_file_problem\(\s*[^,]+,\s*)["']([a-z0-9_]+)["']"""
    )
    found: set[str] = set()
    for path in (REPO / "kvartal").rglob("*.py"):
        found |= set(literal.findall(path.read_text(encoding="utf-8")))
    assert found, "the pattern finds the slugs written in the code"
    assert found <= set(known), found - set(known)
    for suite in (REPO / "expectations").glob("*.json"):
        for expectation in json.loads(suite.read_text(encoding="utf-8"))["expectations"]:
            assert expectation["meta"]["rule"] in RULES, (suite.name, expectation["meta"])
