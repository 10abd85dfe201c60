"""The stored suites load whole: GX drops expectation types it does not know, silently."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kvartal.validation.rules import RULES
from kvartal.validation.run import SUITE_NAMES, SuiteError, load_suite, suite_json

EXPECTED_COUNTS = {"headers": 1, "catalogue": 32, "figures": 30, "waivers": 2 + 2}
DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules.md"


@pytest.mark.parametrize("name", SUITE_NAMES)
def test_suite_loads_every_stored_expectation(name: str) -> None:
    suite = load_suite(name)
    assert len(suite.expectations) == EXPECTED_COUNTS[name]
    assert len(suite.expectations) == len(suite_json(name)["expectations"])
    assert suite_json(name)["meta"]["expectation_count"] == EXPECTED_COUNTS[name]


def test_unknown_expectation_type_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import kvartal.validation.run as run

    stored = suite_json("waivers")
    stored["expectations"].append(
        {
            "type": "expect_column_values_to_be_danish_numbrs",
            "kwargs": {"column": "Fil"},
            "meta": {},
        }
    )

    def fake(name: str) -> dict[str, Any]:
        return stored

    monkeypatch.setattr(run, "suite_json", fake)
    with pytest.raises(SuiteError):
        load_suite("waivers")


def test_every_expectation_names_a_known_rule() -> None:
    for name in SUITE_NAMES:
        for e in suite_json(name)["expectations"]:
            rule = e["meta"]["rule"]
            assert rule in RULES, rule
            assert e["meta"]["severity"] == RULES[rule].severity


def test_rules_are_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", text, flags=re.M))
    assert set(RULES) <= documented
