"""A started `prefect server` process, for tests that are about the server itself.

The server can be stopped and started again on the same port and database, so a test can
restart it while a flow run waits.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrefectServer:
    api_url: str
    home: Path
    log: Path
    port: int
    server_env: dict[str, str] = field(repr=False, default_factory=dict)
    proc: subprocess.Popen[bytes] | None = field(repr=False, default=None)

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/api")

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a client (kvartal, a worker) talking to this server."""
        env = dict(os.environ)
        env.update(
            PREFECT_API_URL=self.api_url,
            PREFECT_HOME=str(self.home),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
        )
        env.pop("PREFECT_API_DATABASE_CONNECTION_URL", None)
        env.update(extra)
        return env

    def start(self) -> None:
        prefect = Path(sys.executable).with_name("prefect")
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.server_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(self.api_url + "/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("prefect server did not start:\n" + self.log.read_text()[-3000:])
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def start_prefect_server(home: Path, **extra_env: str) -> Iterator[PrefectServer]:
    """Start `prefect server` with its own PREFECT_HOME; `extra_env` e.g. its database URL."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2",
        # a quarterly schedule has one run in the default 100-day horizon
        PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME="P400D",
    )
    env.pop("PREFECT_API_URL", None)
    env.update(extra_env)
    server = PrefectServer(
        api_url=f"http://127.0.0.1:{port}/api",
        home=home,
        log=home / "server.log",
        port=port,
        server_env=env,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """`prefect server` on SQLite, as the one-command demo runs it."""
    with start_prefect_server(tmp_path_factory.mktemp("prefect-home")) as server:
        yield server
