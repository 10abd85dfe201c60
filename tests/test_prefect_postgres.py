"""Prefect's server on PostgreSQL keeps what it was told across a restart.

The production set-up (README) runs `prefect server` on PostgreSQL; this is the ground the
deployment and suspension tests stand on.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _prefect(server, *args: str) -> subprocess.CompletedProcess[str]:
    prefect = Path(sys.executable).with_name("prefect")
    return subprocess.run(
        [str(prefect), *args], env=server.env(), capture_output=True, text=True, timeout=120
    )


def test_server_on_postgres_keeps_a_work_pool_across_a_restart(prefect_server_pg, postgres):
    made = _prefect(prefect_server_pg, "work-pool", "create", "pg-check", "--type", "process")
    assert made.returncode == 0, made.stdout + made.stderr
    assert (
        "postgresql+asyncpg" in prefect_server_pg.server_env["PREFECT_API_DATABASE_CONNECTION_URL"]
    )

    prefect_server_pg.restart()

    shown = _prefect(prefect_server_pg, "work-pool", "inspect", "pg-check")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "pg-check" in shown.stdout
    # The pool is in PostgreSQL, not in a SQLite file under the server's home.
    assert not list(prefect_server_pg.home.glob("*.db"))
