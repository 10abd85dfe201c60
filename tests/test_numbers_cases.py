"""What a clerk reads when a cell cannot be read, and the key text validation matches on.

Each message below is the exact Danish sentence the person who typed the cell is shown:
a changed word, a lost value or a missing explanation is a worse message, so every one
is pinned whole. The key cases pin the text a `Nr.`/`Nøgletal`/`Mål-id` cell counts as
(CONTRACT §1, "the key cells count as shown").
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kvartal.numbers import (
    CellValueError,
    DateError,
    NumberError,
    Parsed,
    parse_date,
    parse_number,
    parse_reached,
    parse_text_key,
)

NBSP = "\u00a0"
HOW = "Skriv tallet på dansk, fx 1.400 eller 6,5 eller 86 pct. eller 3,5 mio."
DATE_HOW = "Skriv datoen som 2009-12-31 eller 31.12.2009."


class Unreadable:
    """A cell value of a type no reader knows, that cannot become a number."""

    def __str__(self) -> str:
        return "#REF!"


UNREADABLE = Unreadable()


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (True, "'True' er en sandhedsværdi, ikke et tal. Skriv tallet i cellen."),
        (float("inf"), "Cellen indeholder et uendeligt tal. Skriv tallet i cellen."),
        (
            date(2009, 4, 1),
            "Cellen er en dato (2009-04-01), ikke et tal. Formatér cellen som tal eller "
            "tekst og skriv tallet igen.",
        ),
        (UNREADABLE, "'#REF!' er ikke et tal. Skriv tallet i cellen."),
        (
            " 1.5 ",
            "' 1.5 ' er tvetydigt: punktum er tusindtalsskilletegn på dansk og skal følges af "
            "netop tre cifre. Skriv decimaltal med komma (1,5) og tusinder med punktum (1.500).",
        ),
        (
            "12 34",
            "'12 34' er ikke et tal: mellemrum mellem cifrene skal dele tallet i grupper af "
            "tre. " + HOW,
        ),
        # a dot among letters is not the ambiguous-dot case: nothing here is a number
        ("1.5x", "'1.5x' er ikke et tal: teksten kan ikke læses som et tal. " + HOW),
        ("abc", "'abc' er ikke et tal: teksten kan ikke læses som et tal. " + HOW),
    ],
)
def test_number_messages_name_the_cell_value(cell: object, message: str) -> None:
    with pytest.raises(NumberError) as info:
        parse_number(cell)
    assert info.value.message == message
    assert str(info.value) == message
    assert info.value.value is cell  # the value as it was in the cell, untrimmed


def test_numeric_values_of_other_types_are_taken_as_they_are() -> None:
    # Decimal is what a database export gives; it is numeric, so it is the number it holds
    assert parse_number(Decimal("2.5")) == Parsed(2.5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # `cirka` is the word `ca.` abbreviates: the same Danish habit (CONTRACT §1)
        ("cirka 400", Parsed(400, approximate=True)),
        ("Cirka 1.200", Parsed(1200, approximate=True)),
        ("ca.-5", Parsed(-5, approximate=True)),
        ("400", Parsed(400, approximate=False)),
    ],
)
def test_approximate_prefixes(text: str, expected: Parsed) -> None:
    got = parse_number(text)
    assert got == expected
    assert got is not None and got.approximate is expected.approximate


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("i morgen", "'i morgen' er ikke en dato. " + DATE_HOW),
        ("2009-02-30", "'2009-02-30' er ikke en dato (den dag findes ikke). " + DATE_HOW),
        (40178, "'40178' er ikke en dato (cellen er et tal; formatér den som dato). " + DATE_HOW),
    ],
)
def test_date_messages_name_the_cell_value(cell: object, message: str) -> None:
    with pytest.raises(DateError) as info:
        parse_date(cell)
    assert info.value.message == message
    assert info.value.value == cell


def test_reached_message_names_the_cell_value() -> None:
    with pytest.raises(DateError) as info:
        parse_reached("måske")
    assert info.value.message == (
        "'måske' kan ikke læses i 'Milepæl nået'. Skriv datoen milepælen blev nået "
        "(fx 2009-12-31), eller ja eller nej."
    )
    assert info.value.value == "måske"


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (False, "'False' er ikke et nummer. Skriv nummeret som tekst, fx 1.4."),
        (
            date(2009, 4, 1),
            "Nummeret er blevet til datoen 2009-04-01. Formatér cellen som tekst og skriv "
            "nummeret igen, fx 1.4.",
        ),
        (float("-inf"), "Cellen indeholder et uendeligt tal, ikke et nummer."),
    ],
)
def test_key_messages_name_the_cell_value(cell: object, message: str) -> None:
    with pytest.raises(NumberError) as info:
        parse_text_key(cell)
    assert info.value.message == message
    assert info.value.value is cell


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        # runs of any space inside a key count as one space, as a reader sees them
        (f"ledige{NBSP} unge", "ledige unge"),
        ("placeret /\tløntilskud", "placeret / løntilskud"),
        (" 1.4  b ", "1.4 b"),
        # a decimal from a database export keeps the digits it shows
        (Decimal("1.10"), "1.10"),
    ],
)
def test_key_text_is_the_text_shown(cell: object, shown: str) -> None:
    assert parse_text_key(cell) == shown


def test_cell_value_error_keeps_message_and_value() -> None:
    error = CellValueError("Skriv et tal.", "x")
    assert (error.message, error.value, str(error)) == ("Skriv et tal.", "x", "Skriv et tal.")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("400 kr", 400), ("86 procent", 86), ("86 Procent", 86), ("1,5 MIA.", 1_500_000_000)],
)
def test_suffixes_spelled_out_or_without_a_full_stop(text: str, expected: float) -> None:
    assert parse_number(text) == Parsed(expected)


def test_a_date_and_midnight_apart_by_a_non_breaking_space() -> None:
    # what a spreadsheet program writes when it shows a date cell's text with its time
    assert parse_date(f"2009-12-31{NBSP}00:00:00") == date(2009, 12, 31)


@pytest.mark.parametrize("text", ["09-12-31", "031-12-31", "31.12.09"])
def test_a_year_has_four_digits(text: str) -> None:
    with pytest.raises(DateError):
        parse_date(text)
