"""A scheduled run reports the quarter before its *scheduled* time, in Danish time."""

from __future__ import annotations

from datetime import datetime

import pytest

from kvartal.quarters import Quarter


@pytest.mark.parametrize(
    ("scheduled", "expected"),
    [
        # 06:00 on 10 January 2010 in Copenhagen (05:00 UTC): the quarter that ended is 2009Q4
        ("2010-01-10T05:00:00+00:00", Quarter(2009, 4)),
        # a run scheduled for 10 October 2009 but started weeks late still reports 2009Q3;
        # what counts is the scheduled time, not the clock
        ("2009-10-10T04:00:00+00:00", Quarter(2009, 3)),
        # 23:30 UTC on 31 December is already 1 January in Copenhagen: 2009Q4 has ended
        ("2009-12-31T23:30:00+00:00", Quarter(2009, 4)),
        # 21:30 UTC on 30 September is 23:30 the same day in Copenhagen: 2009Q3 has not ended
        ("2009-09-30T21:30:00+00:00", Quarter(2009, 2)),
    ],
)
def test_the_quarter_comes_from_the_scheduled_time(monkeypatch, scheduled, expected):
    import prefect.runtime.flow_run as flow_run_runtime

    from flows.quarterly import scheduled_quarter

    # what a deployment's run sees: its scheduled start time from the Prefect API
    monkeypatch.setitem(
        flow_run_runtime.FIELDS, "scheduled_start_time", lambda: datetime.fromisoformat(scheduled)
    )

    assert scheduled_quarter() == expected
