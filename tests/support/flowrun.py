"""Deployment runs executed in the test's own process, as a worker executes them.

A flow run is created on the tests' Prefect API (`prefect_test_harness`) from a
deployment, then run here by Prefect's own engine: what `prefect worker start` does in a
subprocess. A run that suspends ends its execution; after the operator's input is given
through the API, a second execution resumes it.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any
from uuid import UUID


def create(deployment: str, parameters: dict[str, Any], at: datetime | None = None) -> UUID:
    """A run of `deployment` ("flow/name"), scheduled for `at` (now when None)."""
    from prefect import get_client
    from prefect.states import Scheduled

    with get_client(sync_client=True) as client:
        found = client.read_deployment_by_name(deployment)
        state = Scheduled(scheduled_time=at) if at else None
        return client.create_flow_run_from_deployment(
            found.id, parameters=parameters, state=state
        ).id


def execute(run_id: UUID) -> Any:
    """One execution of the run; the run as the API has it afterwards."""
    from prefect.exceptions import FailedRun, Pause
    from prefect.flow_engine import flow_run_logger, load_flow, load_flow_run, run_flow

    run = load_flow_run(run_id)
    with contextlib.suppress(Pause, FailedRun):  # suspended, or ended as kvartal meant
        run_flow(load_flow(run), flow_run=run, error_logger=flow_run_logger(run))
    return read(run_id)


def read(run_id: UUID) -> Any:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id)


def answer(run_id: UUID, **form: Any) -> str:
    """The operator's answer in the decision form; the server's verdict: ACCEPT, or the
    refusal with the server's reason ("REJECT: ...") so that a failing test says why."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        result = client.resume_flow_run(run_id, run_input=form)
    verdict = str(result.status.value)
    reason = getattr(result.details, "reason", None)
    return verdict if verdict == "ACCEPT" else f"{verdict}: {reason}"


def returned(run_id: UUID) -> Any:
    """One execution of a run that is expected to complete; what the flow returned."""
    from prefect.flow_engine import flow_run_logger, load_flow, load_flow_run, run_flow

    run = load_flow_run(run_id)
    return run_flow(load_flow(run), flow_run=run, error_logger=flow_run_logger(run))
