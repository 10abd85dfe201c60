"""Shared test set-up: offline Prefect, one Prefect API per session.

Fixtures that start servers live in `tests/support/` and are registered below, so every
test module can ask for them by name.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_INBOX = REPO / "examples" / "inbox"
# Every process the tests start installs the fault harness's storage wrapper when its
# environment asks for it (tests/support/faults.py): production code knows nothing of it.
FAULT_HOOKS = str(REPO / "tests" / "support" / "faulthook")
os.environ["PYTHONPATH"] = os.pathsep.join(
    [FAULT_HOOKS, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
)

pytest_plugins: list[str] = [
    "tests.support.prefect_server",
    "tests.support.postgres",
    "tests.support.s3server",
    "tests.support.smtp",
    "tests.support.operations",
]


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """A real Prefect API for the session (the harness's temporary server and database)."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())
