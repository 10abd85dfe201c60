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


@pytest.fixture
def mail(smtp: tuple[Inbox, object], monkeypatch: pytest.MonkeyPatch) -> Inbox:
    box, cfg = smtp
    monkeypatch.setenv("KVARTAL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KVARTAL_SMTP_PORT", str(cfg.port))  # type: ignore[attr-defined]
    return box


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
