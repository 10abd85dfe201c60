"""The publish task under Prefect: storage failures in transit are retried, a conflict with
a run that is still at work is not (it would still be at work in ten seconds)."""

from __future__ import annotations

import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect import flow, get_client

from kvartal.pipeline import Fulfilment
from kvartal.publish import Claim, Plan, PublishConflict
from kvartal.quarters import Quarter
from kvartal.storage import LocalStorage
from kvartal.validation import ValidationResult
from tasks.publish import publish_report

pytestmark = pytest.mark.slow


def test_a_conflict_fails_the_task_at_once(tmp_path: Path, prefect_api: str) -> None:
    storage = LocalStorage(tmp_path)
    live = Claim(
        1,
        "fp-other",
        "2009-11-26T09:00:00+00:00",
        "elsewhere",
        socket.gethostname(),
        os.getppid(),
        time.time(),
    )
    storage.write(".kvartal/claims/2009Q3/v1/1.json", live.to_bytes(), create_only=True)
    planned = Plan(1, False, datetime(2009, 11, 26, 9, tzinfo=UTC))

    @flow
    def publishing() -> tuple[object, object]:
        state = publish_report(
            str(tmp_path),
            Quarter(2009, 3),
            planned,
            {"report.html": b"<p>x</p>"},
            "fp-1",
            {},
            Fulfilment([], [], [], {}),
            ValidationResult(),
            "Europe/Copenhagen",
            600.0,
            return_state=True,
        )
        return state.result(raise_on_failure=False), state.state_details.task_run_id

    outcome, task_run_id = publishing()
    assert isinstance(outcome, PublishConflict)
    assert "En anden kørsel udgiver version 1 af 2009Q3" in str(outcome)
    assert not storage.exists("2009Q3/versions/1/report.html")
    with get_client(sync_client=True) as client:
        task_run = client.read_task_run(task_run_id)  # type: ignore[arg-type]
    assert task_run.run_count == 1  # retries=3 in the task, none used
    assert task_run.state is not None and task_run.state.is_failed()
