"""Danish number, date and key parsing: expected, edge and erroneous values."""

from __future__ import annotations

from datetime import date, datetime

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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the habits CONTRACT §1 names
        ("1.400", Parsed(1400)),
        ("1.400.000", Parsed(1_400_000)),
        ("6,5", Parsed(6.5)),
        ("1.400,5", Parsed(1400.5)),
        ("86 pct.", Parsed(86)),
        ("86 pct", Parsed(86)),
        ("86 %", Parsed(86)),
        ("86%", Parsed(86)),
        ("3,5 mio.", Parsed(3_500_000)),
        ("3,5 mio", Parsed(3_500_000)),
        ("2 mia.", Parsed(2_000_000_000)),
        ("1,25 mia. kr.", Parsed(1_250_000_000)),
        ("3,5 mio. kr.", Parsed(3_500_000)),
        ("400 kr.", Parsed(400)),
        ("ca. 400", Parsed(400, approximate=True)),
        ("Ca. 1.200", Parsed(1200, approximate=True)),
        ("ca 400", Parsed(400, approximate=True)),
        ("3 500 000", Parsed(3_500_000)),
        (f"3{NBSP}500{NBSP}000", Parsed(3_500_000)),
        (f"1{NBSP}400,5", Parsed(1400.5)),
        ("-5", Parsed(-5)),
        ("\u22125,5", Parsed(-5.5)),
        ("- 12", Parsed(-12)),
        # edges
        ("0", Parsed(0)),
        ("007", Parsed(7)),
        ("1,400", Parsed(1.4)),  # the comma is the decimal sign in Danish
        ("  71  ", Parsed(71)),
        ("999", Parsed(999)),
        ("12345", Parsed(12345)),
        ("0,5 pct.", Parsed(0.5)),
        ("1.000 mio.", Parsed(1_000_000_000)),
    ],
)
def test_danish_text_numbers(text: str, expected: Parsed) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "1.5",  # English decimal point or a thousands separator missing digits
        "3.6 mio.",
        "1.40",
        "1.4000",
        "1.",
        ".5",
        "1.400.00",
        "1,400.5",
        "12 34",  # spaces must group by three
        "1 2345",
        "abc",
        "ca.",
        "-",
        "1e5",
        "86 pct. pct.",
        "mio.",
        "1/2",
        "1,5,5",
        "++1",
        "NaN",
        "inf",
        "0x10",
        "#DIV/0!",
    ],
)
def test_refused_text(text: str) -> None:
    with pytest.raises(NumberError) as info:
        parse_number(text)
    assert info.value.message  # a Danish message that says what to write instead
    assert "Skriv" in info.value.message


def test_ambiguous_dot_message_says_what_to_write() -> None:
    with pytest.raises(NumberError, match="tvetydigt") as info:
        parse_number("1.5")
    assert "1,5" in str(info.value) and "1.500" in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, CellValueError)


@pytest.mark.parametrize("empty", [None, "", "   ", NBSP, "\t", float("nan")])
def test_empty_is_missing_not_zero(empty: object) -> None:
    assert parse_number(empty) is None


@pytest.mark.parametrize(
    ("cell", "expected"), [(71, 71.0), (6.5, 6.5), (0, 0.0), (-3, -3.0), (1.5, 1.5)]
)
def test_numeric_cells_taken_as_they_are(cell: object, expected: float) -> None:
    parsed = parse_number(cell)
    assert parsed == Parsed(expected)
    assert isinstance(parsed.value, float) if parsed else False


@pytest.mark.parametrize(
    "cell", [True, False, date(2009, 1, 1), datetime(2009, 1, 1), float("inf"), object()]
)
def test_non_numeric_cells_refused(cell: object) -> None:
    with pytest.raises(NumberError):
        parse_number(cell)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2009-12-31", date(2009, 12, 31)),
        ("31.12.2009", date(2009, 12, 31)),
        ("31-12-2009", date(2009, 12, 31)),
        ("31/12/2009", date(2009, 12, 31)),
        ("1.2.2009", date(2009, 2, 1)),
        (" 2009-12-31 ", date(2009, 12, 31)),
        ("2009-12-31 00:00:00", date(2009, 12, 31)),
        (date(2009, 12, 31), date(2009, 12, 31)),
        (datetime(2009, 12, 31, 15, 30), date(2009, 12, 31)),
        (None, None),
        ("", None),
    ],
)
def test_dates(cell: object, expected: date | None) -> None:
    assert parse_date(cell) == expected


@pytest.mark.parametrize(
    "cell", ["12/31/2009", "31.12.09", "2009-02-30", "i morgen", "2009", 40178, 3.5, True]
)
def test_bad_dates(cell: object) -> None:
    with pytest.raises(DateError) as info:
        parse_date(cell)
    assert "2009-12-31" in info.value.message


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("ja", True),
        ("Ja ", True),
        ("NEJ", False),
        (True, True),
        (False, False),
        ("2009-11-15", date(2009, 11, 15)),
        (datetime(2009, 11, 15), date(2009, 11, 15)),
        (None, None),
        ("", None),
    ],
)
def test_reached(cell: object, expected: object) -> None:
    assert parse_reached(cell) == expected


@pytest.mark.parametrize("cell", ["måske", "yes", "1", 1])
def test_bad_reached(cell: object) -> None:
    with pytest.raises(DateError, match="ja eller nej"):
        parse_reached(cell)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1.10", "1.10"),
        (" 1.4 ", "1.4"),
        (1.1, "1.1"),
        (2.0, "2"),
        (2, "2"),
        (3.25, "3.25"),
        (f"{NBSP}1.5{NBSP}", "1.5"),
        ("1.4-b", "1.4-b"),
        (None, None),
        ("  ", None),
    ],
)
def test_text_key(cell: object, expected: str | None) -> None:
    assert parse_text_key(cell) == expected


def test_text_key_refuses_a_date_made_from_a_number() -> None:
    # Danish Excel turns a typed 1.4 into the first of April.
    with pytest.raises(NumberError, match="dato"):
        parse_text_key(datetime(2009, 4, 1))
    with pytest.raises(NumberError):
        parse_text_key(True)
