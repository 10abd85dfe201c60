"""Start Prefect's temporary API server early, beside the imports, not after them.

Without PREFECT_API_URL, Prefect starts a temporary server on first use: it imports its
server package in our process and then waits for a subprocess that imports it again, all
after Great Expectations and the rest have been imported. On two cores it is faster to start
that subprocess first and import while it boots; this module does what Prefect's
`SubprocessASGIServer` does, minus the in-process import, and hands Prefect the URL.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EarlyServer:
    def __init__(self) -> None:
        spec = importlib.util.find_spec("prefect")
        assert spec is not None and spec.origin is not None
        app_dir = Path(spec.origin).resolve().parent.parent
        self.port = _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        env = {
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(app_dir),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
        )

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(self.api_url + "/health", timeout=2) as r:
                    if r.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def prefect_api(warm_up: list[str]) -> Iterator[None]:
    """Make sure Prefect has an API: the configured one, or a temporary one started now.

    `warm_up` names modules to import while the server boots. KVARTAL_EARLY_SERVER=0 leaves
    the temporary server to Prefect, as it would be without kvartal.
    """
    from kvartal.config import settings

    if os.environ.get("PREFECT_API_URL") or not settings().early_server:
        for name in warm_up:
            importlib.import_module(name)
        yield
        return
    server = EarlyServer()
    # Prefect reads its settings when it is imported, so the URL is set before the imports.
    os.environ["PREFECT_API_URL"] = server.api_url
    # The temporary server and its UI are gone when the command ends: an empty UI address
    # keeps Prefect's "View at http://127.0.0.1:…" lines, and kvartal's run links, away.
    own_ui_url = "PREFECT_UI_URL" not in os.environ
    if own_ui_url:
        os.environ["PREFECT_UI_URL"] = ""
    try:
        for name in warm_up:
            importlib.import_module(name)
        timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120"))
        if not server.wait(timeout):
            raise RuntimeError(
                f"Prefects midlertidige server startede ikke inden for {timeout:.0f} s. Sæt "
                "PREFECT_API_URL til en kørende server, eller KVARTAL_EARLY_SERVER=0."
            )
        yield
    finally:
        _drain_prefect_workers()
        os.environ.pop("PREFECT_API_URL", None)
        if own_ui_url:
            os.environ.pop("PREFECT_UI_URL", None)
        server.stop()


def _drain_prefect_workers() -> None:
    """Send Prefect's queued logs and events while the server still listens."""
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=10)
