"""The collection's deployments and flows on a real Prefect API (the session's harness),
with mail to aiosmtpd: what `kvartal deploy` registers, and runs of both flows."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from tests.support.smtp import Inbox

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parent / "data" / "collection" / "inbox"


def test_the_quarter_being_collected() -> None:
    from flows.collection import collecting

    assert str(collecting(date(2009, 9, 29))) == "2009Q2"
    assert str(collecting(date(2009, 9, 30))) == "2009Q3"  # from its last day
    assert str(collecting(date(2009, 10, 6))) == "2009Q3"
    assert str(collecting(date(2009, 12, 30))) == "2009Q3"
    assert str(collecting(date(2009, 12, 31))) == "2009Q4"


def test_deployments_and_runs(prefect_api: str, tmp_path: Path, mail: Inbox) -> None:
    from prefect import get_client

    from deployments.collection import collection_deployments
    from deployments.quarterly import Locations
    from flows.collection import collection_check, collection_reminders

    inbox, review, publish = tmp_path / "inbox", tmp_path / "review", tmp_path / "publish"
    shutil.copytree(DATA, inbox)
    where = Locations(str(inbox), str(publish), str(review), [])
    for d in collection_deployments(None, where):
        d.apply()
    with get_client(sync_client=True) as client:
        check = client.read_deployment_by_name("collection-check/indsamling-kontrol")
        assert check.entrypoint == "flows.collection.collection_check"
        assert check.parameters == {
            "inbox": str(inbox),
            "review_to": str(review),
            "publish_to": str(publish),
        }
        (schedule,) = check.schedules
        assert schedule.schedule.interval.total_seconds() == 600
        remind = client.read_deployment_by_name("collection-reminders/indsamling-paamindelser")
        (schedule,) = remind.schedules
        assert (schedule.schedule.cron, schedule.schedule.timezone) == (
            "0 8 * * *",
            "Europe/Copenhagen",
        )

    params = {"inbox": str(inbox), "review_to": str(review), "publish_to": str(publish)}
    state = collection_check(**params, quarter="2009Q3", return_state=True)
    assert state.is_completed()
    # Three files: Center A (one address), Center B (two), Center C (one).
    assert sorted(to[0] for to, _ in mail.messages) == [
        "a@kommune.example",
        "b1@kommune.example",
        "b2@kommune.example",
        "c@kommune.example",
    ]
    assert collection_check(**params, quarter="2009Q3") == ["2009Q3: intet nyt i indbakken"]
    assert len(mail.messages) == 4

    # 2009-10-03 is two days before 2009Q3's deadline: the centres without a delivery free
    # of errors are reminded (B's file has an error, D delivered nothing); A and C are not.
    lines = collection_reminders(inbox=str(inbox), review_to=str(review), day="2009-10-03")
    reminded = sorted(to[0] for to, _ in mail.messages[4:])
    assert reminded == ["b1@kommune.example", "b2@kommune.example", "d@kommune.example"]
    assert "Center D: mail til d@kommune.example" in lines


def test_reminders_take_their_day_from_the_scheduled_time_in_danish_time(
    prefect_api: str, tmp_path: Path, mail: Inbox
) -> None:
    """A run of the reminder deployment acts for its scheduled day in Danish time: a run
    scheduled 22:30 UTC on 2 October is 3 October 00:30 in Copenhagen (summer time, +02:00),
    two days before 2009Q3's deadline; 21:30 UTC is still 2 October there: nothing due.
    The runs are created on the API as the scheduler creates them, then executed here."""
    from datetime import UTC, datetime

    from prefect import get_client
    from prefect.flow_engine import run_flow
    from prefect.states import Scheduled

    from deployments.collection import collection_deployments
    from deployments.quarterly import Locations
    from flows.collection import collection_reminders

    inbox, review = tmp_path / "inbox", tmp_path / "review"
    shutil.copytree(DATA, inbox)
    where = Locations(str(inbox), str(tmp_path / "publish"), str(review), [])
    _, reminders = collection_deployments(None, where)
    deployment_id = reminders.apply()

    def scheduled_run(moment: datetime) -> list[str]:
        with get_client(sync_client=True) as client:
            run = client.create_flow_run_from_deployment(
                deployment_id, state=Scheduled(scheduled_time=moment)
            )
        lines = run_flow(collection_reminders, flow_run=run, parameters=run.parameters)
        assert isinstance(lines, list)
        return lines

    assert scheduled_run(datetime(2009, 10, 2, 21, 30, tzinfo=UTC)) == [
        "2009Q3: intet at sende 2009-10-02",
        "2009Q4: intet at sende 2009-10-02",
    ]
    assert mail.messages == []
    scheduled_run(datetime(2009, 10, 2, 22, 30, tzinfo=UTC))
    assert sorted(to[0] for to, _ in mail.messages) == [
        "b1@kommune.example",
        "b2@kommune.example",
        "d@kommune.example",
    ]
    scheduled_run(datetime(2009, 10, 2, 23, 30, tzinfo=UTC))  # a repeated run that day
    assert len(mail.messages) == 3
