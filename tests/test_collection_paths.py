"""The collection's flows run in this process on the tests' Prefect API, mail to
aiosmtpd on loopback, or to a loopback port nobody listens on.

tests/data/collection/inbox (its README): for 2009Q3, Center A (a@), Center B (b1@, b2@)
and Center C (c@) have delivered a file, Center D (d@) has not; B's file has an error.
The deadline is 2009-10-05.
"""

from __future__ import annotations

import shutil
import socket
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support import flowrun
from tests.support.smtp import Inbox

DATA = Path(__file__).resolve().parent / "data" / "collection" / "inbox"


@pytest.fixture
def places(tmp_path: Path) -> dict[str, str]:
    shutil.copytree(DATA, tmp_path / "inbox")
    return {"inbox": str(tmp_path / "inbox"), "review_to": str(tmp_path / "review")}


def _mail_to(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    monkeypatch.setenv("KVARTAL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KVARTAL_SMTP_PORT", str(port))
    monkeypatch.setenv("KVARTAL_SMTP_FROM", "kvartal@kommune.example")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_check_that_cannot_mail_fails_and_the_next_check_sends(
    prefect_api, places, smtp: tuple[Inbox, Any], monkeypatch, tmp_path
):
    from flows.collection import CollectionMailFailed, collection_check

    box, cfg = smtp
    _mail_to(monkeypatch, _closed_port())
    publish = str(tmp_path / "published")
    state = collection_check(**places, publish_to=publish, quarter="2009Q3", return_state=True)
    assert state.is_failed()
    failure = state.result(raise_on_failure=False)
    assert isinstance(failure, CollectionMailFailed)
    assert str(failure).startswith("mail kunne ikke sendes til: ")
    for address in ("a@", "b1@", "b2@", "c@"):
        assert f"{address}kommune.example (" in str(failure)

    _mail_to(monkeypatch, cfg.port)
    collection_check(**places, publish_to=publish, quarter="2009Q3")
    assert sorted(to[0] for to, _ in box.messages) == [
        "a@kommune.example",
        "b1@kommune.example",
        "b2@kommune.example",
        "c@kommune.example",
    ]


def test_reminders_that_cannot_be_mailed_fail_the_run_naming_who(prefect_api, places, monkeypatch):
    from flows.collection import CollectionMailFailed, collection_reminders

    _mail_to(monkeypatch, _closed_port())
    # 2009-10-03 is two days before the deadline: B (an error) and D (nothing) are owed one
    state = collection_reminders(**places, quarter="2009Q3", day="2009-10-03", return_state=True)
    failure = state.result(raise_on_failure=False)
    assert isinstance(failure, CollectionMailFailed)
    for address in ("b1@", "b2@", "d@"):
        assert f"{address}kommune.example (" in str(failure)
    for address in ("a@", "c@"):
        assert address not in str(failure)


def test_a_scheduled_check_after_publication_checks_nothing(
    prefect_api, places, smtp: tuple[Inbox, Any], monkeypatch, tmp_path
):
    """A run scheduled for 6 October 2009 collects 2009Q3; once 2009Q3 is published the
    collection is over: no file is checked, nobody is mailed."""
    from flows.collection import collection_check

    box, cfg = smtp
    _mail_to(monkeypatch, cfg.port)
    published = tmp_path / "published"
    (published / "2009Q3").mkdir(parents=True)
    (published / "2009Q3" / "manifest.json").write_text("{}", "utf-8")
    name = f"test-{uuid.uuid4().hex[:8]}"
    collection_check.to_deployment(name=name).apply()
    run = flowrun.create(
        f"collection-check/{name}",
        {**places, "publish_to": str(published)},
        at=datetime(2009, 10, 6, 6, tzinfo=UTC),
    )
    assert flowrun.returned(run) == ["2009Q3: udgivet; ingen kontrol"]
    assert flowrun.read(run).state.is_completed()
    assert box.messages == []
    assert not (tmp_path / "review").exists()
