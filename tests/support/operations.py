"""Production-like Prefect for tests: a `prefect server` that can be stopped and started again
on the same database, and `prefect worker start` processes started in any folder.

Every process is started in its own process group, so stopping a worker also stops the flow
run it is executing, as a machine's shutdown would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PREFECT = Path(sys.executable).with_name("prefect")
REPO = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the process and its children: no clean shutdown, as in a crash."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        proc.wait()


@dataclass
class Operations:
    """One Prefect installation: its server (restartable, same port and database), the
    shared result storage its workers persist task results to, and its workers."""

    root: Path
    database_url: str | None = None
    ui: bool = False
    port: int = field(default_factory=free_port)
    server: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KVARTAL_"))}
        env.update(
            PREFECT_API_URL=self.api_url,
            PREFECT_UI_URL=self.ui_url,
            PREFECT_HOME=str(self.root / "home"),
            PREFECT_LOCAL_STORAGE_PATH=str(self.root / "results"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
            PREFECT_LOGGING_TO_API_ENABLED="true",
        )
        env.update(extra)
        return env

    def start_server(self) -> None:
        env = self.env()
        del env["PREFECT_API_URL"]
        env.update(
            PREFECT_SERVER_UI_ENABLED="true" if self.ui else "false",
            PREFECT_UI_API_URL=self.api_url,
            PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2",
            PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_LOOP_SECONDS="2",
            PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED="false",
            PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME="P400D",
        )
        if self.database_url:
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = self.database_url
        log = (self.root / "server.log").open("ab")
        self.server = subprocess.Popen(
            [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(self.api_url + "/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("prefect server did not start:\n" + self.log()[-3000:])
            time.sleep(0.5)

    def stop_server(self) -> None:
        if self.server is not None:
            _stop(self.server)
            self.server = None

    def log(self, name: str = "server.log") -> str:
        path = self.root / name
        return path.read_text("utf-8", "replace") if path.exists() else ""

    def prefect(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PREFECT), *args],
            env=self.env(),
            cwd=cwd or self.root,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def kvartal(self, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kvartal.cli", *args],
            env=self.env(**env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def start_worker(self, pool: str, cwd: Path, **env: str) -> subprocess.Popen[bytes]:
        """`prefect worker start` from `cwd`, a folder with no kvartal code in it."""
        cwd.mkdir(parents=True, exist_ok=True)
        log = (self.root / f"worker-{len(self.workers)}.log").open("ab")
        worker = subprocess.Popen(
            [str(PREFECT), "worker", "start", "--pool", pool],
            env=self.env(**env),
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(worker)
        return worker

    def worker_logs(self) -> str:
        return "\n".join(self.log(f"worker-{i}.log") for i in range(len(self.workers)))

    def close(self) -> None:
        for worker in self.workers:
            _stop(worker)
        self.stop_server()


def wait_for(
    what: str, check: Callable[[], Any], timeout: float, diagnostics: Callable[[], str] = lambda: ""
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}\n{diagnostics()[-6000:]}")


def _database(postgres: Any, name: str) -> str:
    """A database of the test's own in the session's PostgreSQL cluster."""
    from tests.support.postgres import USER, _bindir

    subprocess.run(
        [
            str(_bindir() / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(postgres.port),
            "-U",
            USER,
            name,
        ],
        check=True,
        capture_output=True,
    )
    return f"postgresql+asyncpg://{USER}@127.0.0.1:{postgres.port}/{name}"


@pytest.fixture
def operations(tmp_path: Path, postgres: Any) -> Iterator[Operations]:
    """A started Prefect server of its own on PostgreSQL (a fresh database), stopped with
    its workers after the test."""
    ops = Operations(
        root=tmp_path / "prefect", database_url=_database(postgres, f"ops_{uuid.uuid4().hex[:12]}")
    )
    ops.root.mkdir()
    ops.start_server()
    try:
        yield ops
    finally:
        ops.close()
