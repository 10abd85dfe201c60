"""Quarter spellings (CONTRACT §1) and the arithmetic windows and schedules rely on."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from kvartal.quarters import Quarter, QuarterError


@pytest.mark.parametrize(
    "text",
    [
        "2009Q3",
        "2009q3",
        "2009K3",
        "2009-Q3",
        "Q3 2009",
        "3. kvartal 2009",
        " 3.kvartal  2009 ",
        "K3 2009",
    ],
)
def test_every_accepted_spelling_is_2009q3(text):
    assert Quarter.parse(text) == Quarter(2009, 3)


@pytest.mark.parametrize("text", ["2009Q5", "2009", "Q0 2009", "tredje kvartal 2009", "", "09Q3"])
def test_other_texts_are_refused(text):
    with pytest.raises(QuarterError):
        Quarter.parse(text)


def test_str_is_the_path_spelling_and_label_is_danish():
    assert str(Quarter(2009, 3)) == "2009Q3"
    assert Quarter(2009, 3).label_da == "3. kvartal 2009"


def test_stepping_crosses_years():
    assert Quarter(2009, 4) + 1 == Quarter(2010, 1)
    assert Quarter(2010, 1) - 1 == Quarter(2009, 4)
    assert Quarter(2013, 1).until(Quarter(2015, 4))[-1] == Quarter(2015, 4)
    assert len(Quarter(2013, 1).until(Quarter(2015, 4))) == 12
    assert Quarter(2010, 1).until(Quarter(2009, 4)) == []


def test_days():
    assert Quarter(2009, 3).first_day == date(2009, 7, 1)
    assert Quarter(2009, 3).last_day == date(2009, 9, 30)
    assert Quarter(2009, 4).last_day == date(2009, 12, 31)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2009, 10, 10, 6, 0, tzinfo=ZoneInfo("Europe/Copenhagen")), Quarter(2009, 3)),
        (datetime(2010, 1, 10, 6, 0, tzinfo=ZoneInfo("Europe/Copenhagen")), Quarter(2009, 4)),
        (datetime(2009, 9, 30, 23, 59), Quarter(2009, 2)),
        (date(2009, 12, 31), Quarter(2009, 3)),
    ],
)
def test_a_run_reports_the_quarter_before_its_scheduled_time(moment, expected):
    assert Quarter.before(moment) == expected
