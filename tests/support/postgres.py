"""A PostgreSQL cluster of the tests' own, for Prefect's server as production runs it.

Debian's server binaries are used directly (`initdb`, `pg_ctl`): no system service, a free
loopback port, trust authentication for the one local user. PostgreSQL refuses to run as
root, so under root (CI) the cluster belongs to Debian's `postgres` user and lives in a
folder that user can reach.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.prefect_server import PrefectServer, free_port, start_prefect_server

DATABASE = "prefect"
USER = "kvartal"


def _bindir() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name)
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL's server binaries are missing: "
            "apt-get install postgresql (.ci/run does this)"
        )
    return Path(found[-1]).parent


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class Postgres:
    port: int
    data: Path

    @property
    def url(self) -> str:
        """The SQLAlchemy URL Prefect's server takes in PREFECT_API_DATABASE_CONNECTION_URL."""
        return f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/{DATABASE}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    bindir = _bindir()
    # Not under pytest's tmp folder: that one is private to root, and the server runs as
    # `postgres` under root.
    top = Path(tempfile.mkdtemp(prefix="kvartal-pg-"))
    data, sockets = top / "data", top / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(top, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    log = top / "server.log"
    subprocess.run(
        _as_owner(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        check=True,
        capture_output=True,
    )
    if os.geteuid() == 0:
        shutil.chown(top, "postgres")
        log.touch()
        shutil.chown(log, "postgres")
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_owner(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            made = subprocess.run(
                [
                    str(bindir / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-U",
                    USER,
                    DATABASE,
                ],
                capture_output=True,
                text=True,
            )
            if made.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"createdb failed: {made.stderr}\n{log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield Postgres(port=port, data=data)
    finally:
        subprocess.run(
            _as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="session")
def prefect_server_pg(
    postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrefectServer]:
    """`prefect server` on PostgreSQL, as the README's production set-up runs it."""
    home = tmp_path_factory.mktemp("prefect-home-pg")
    with start_prefect_server(home, PREFECT_API_DATABASE_CONNECTION_URL=postgres.url) as server:
        yield server
