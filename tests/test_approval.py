"""What an operator may waive, and the decision form Prefect shows (CONTRACT §6)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kvartal.approval import decision_form, record_decision, unwaivable_message, waivable
from kvartal.model import Problem
from kvartal.quarters import Quarter
from kvartal.storage import open_storage

Q3 = Quarter(2009, 3)


def _problem(file: str, cell: str | None, rule: str) -> Problem:
    return Problem(
        file=file,
        sheet=None,
        cell=cell,
        column=None,
        row=None,
        rule=rule,
        severity="fejl",
        value=None,
        message=f"{rule} i {file}",
    )


BAD_CELL = _problem("2009Q3/centre.csv", "D3", "ikke_tal")
NO_QUARTER = _problem("2009Q3/", None, "kvartal_mangler")
NO_CATALOGUE = _problem("targets/", None, "katalog_mangler")
LOCKED_CATALOGUE = _problem("targets/katalog.xlsx", None, "fil_beskyttet")
BAD_TARGET_CELL = _problem("targets/katalog.xlsx", "K4", "ikke_tal")


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        (BAD_CELL, True),
        (BAD_TARGET_CELL, True),  # one cell can be left out
        (NO_QUARTER, False),
        (NO_CATALOGUE, False),
        (LOCKED_CATALOGUE, False),
    ],
)
def test_what_can_be_waived(problem, expected):
    assert waivable(problem) is expected


def test_the_form_has_the_contract_fields_and_offers_only_waivable_errors():
    form = decision_form(
        [BAD_CELL, LOCKED_CATALOGUE],
        Q3,
        "https://drift.example/x",
        None,
        datetime(2009, 10, 13, 4, 0, tzinfo=UTC),
    )
    schema = form.model_json_schema()
    assert set(schema["properties"]) == {"beslutning", "afvigelser", "begrundelse", "godkendt_af"}
    answer = form(
        beslutning="godkend",
        afvigelser=["2009Q3/centre.csv:D3:ikke_tal"],
        begrundelse="tastefejl",
        godkendt_af="Olsen",
    )
    assert answer.afvigelser == ["2009Q3/centre.csv:D3:ikke_tal"]
    with pytest.raises(ValueError):  # the catalogue cannot be chosen
        form(
            beslutning="godkend",
            afvigelser=["targets/katalog.xlsx::fil_beskyttet"],
            begrundelse="",
            godkendt_af="Olsen",
        )
    with pytest.raises(ValueError):
        form(beslutning="måske", afvigelser=[], begrundelse="", godkendt_af="Olsen")


def test_messages_name_the_folder_looked_for():
    text = unwaivable_message(Q3, [NO_QUARTER], "s3://indbakke/kbh")
    assert "mappen 2009Q3/ i indbakken s3://indbakke/kbh findes ikke eller er tom" in text


def test_a_decision_is_recorded_once_per_run(tmp_path):
    review = open_storage(str(tmp_path))
    where = record_decision(review, Q3, "run-1", "afvis", "Olsen", "retter filen", [], None)
    record_decision(review, Q3, "run-1", "godkend", "Hansen", "senere", [], None)
    assert where == str(tmp_path / "2009Q3" / "beslutninger" / "run-1.json")
    import json

    record = json.loads((tmp_path / "2009Q3" / "beslutninger" / "run-1.json").read_text())
    assert (record["beslutning"], record["beslutter"], record["begrundelse"]) == (
        "afvis",
        "Olsen",
        "retter filen",
    )
