"""A publisher stopped (SIGSTOP) mid-publication past its lease, overtaken, then resumed:
real processes (tests.support.publish_child) on a folder and on S3 (moto).

The stall is made by the fault harness's storage wrapper (KVARTAL_FAULT_STOP_AT, see
tests/support/faults.py) at a write boundary, as a VM pause or a long GC would make it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kvartal.publish import latest_version
from kvartal.storage import Storage, open_storage
from tests.support import publish_child
from tests.support.consistency import violations

pytestmark = pytest.mark.slow

Q = "2009Q3"
REPO = Path(__file__).resolve().parent.parent
LEASE = "2"


@pytest.fixture(params=["local", "s3"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "local":
        yield str(tmp_path / "udgivelse")
    else:
        yield f"{request.getfixturevalue('s3_env')}/stall"


def _start(where: str, fp: str, tag: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.publish_child", where, Q, fp, tag],
        env={**os.environ, "KVARTAL_PUBLISH_LEASE": LEASE, **env},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_stopped(proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        state = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "T":
            return
        time.sleep(0.05)
    raise AssertionError("the publisher never reached its stop")


def _published_bytes(storage: Storage) -> dict[str, bytes]:
    return {k: storage.read(k) for k in storage.list(f"{Q}/versions")}


def test_a_stalled_writer_overtaken_changes_no_published_byte(where: str) -> None:
    publish_child.run(where, Q, "fp-1", "a")  # version 1
    storage = open_storage(where)
    # G stops right after writing its first file of version 2, as in the reported fault
    g = _start(where, "fp-2", "b", KVARTAL_FAULT_STOP_AT="write *.kvartal/staging/*/report.html")
    try:
        _wait_stopped(g)
        time.sleep(float(LEASE) + 1)  # G's claim is past its lease; G itself is alive
        h = _start(where, "fp-3", "c")
        h_out, h_err = h.communicate(timeout=60)
        assert h.returncode == 0, h_err[-3000:]
        latest = latest_version(storage, Q)
        assert latest is not None and (latest[0], latest[1]["tag"]) == (2, "c")
        before = _published_bytes(storage)
    finally:
        os.kill(g.pid, signal.SIGCONT)
    g_out, g_err = g.communicate(timeout=60)

    assert _published_bytes(storage) == before  # not one byte of version 1 or 2 changed
    assert violations(storage, Q) == []
    assert storage.read(f"{Q}/manifest.json") == storage.read(f"{Q}/versions/2/manifest.json")
    # G says it lost its claim, naming itself and the run that took it, in Danish
    host = socket.gethostname()
    assert g.returncode == 1, g_err[-3000:]
    assert f"Denne kørsel (maskine {host}, proces {g.pid}, startet " in g_err
    assert f"mistede sin ret til at udgive version 2 af {Q}" in g_err
    assert f"kørslen på maskine {host}, proces {h.pid}, startet " in g_err
    assert "En anden kørsel udgiver" not in g_err

    # the same inputs again: nothing to publish, and nothing of G's is left behind
    assert publish_child.run(where, Q, "fp-3", "c") == (2, False)
    assert _published_bytes(storage) == before
    assert [k for k in storage.list() if k.startswith(".kvartal")] == []


def test_a_writer_stalled_after_its_decision_is_finished_by_the_next_run(where: str) -> None:
    publish_child.run(where, Q, "fp-1", "a")
    storage = open_storage(where)
    g = _start(where, "fp-2", "b", KVARTAL_FAULT_STOP_AT="write *.kvartal/decided/*")
    try:
        _wait_stopped(g)
        time.sleep(float(LEASE) + 1)
        h = _start(where, "fp-3", "c")
        h_out, h_err = h.communicate(timeout=60)
        assert h.returncode == 0, h_err[-3000:]
        # G's decided version 2 is finished as G staged it; H's inputs come after it
        tags = [latest_version(storage, Q)]
        assert tags[0] is not None and (tags[0][0], tags[0][1]["tag"]) == (3, "c")
        before = _published_bytes(storage)
    finally:
        os.kill(g.pid, signal.SIGCONT)
    g_out, g_err = g.communicate(timeout=60)
    assert g.returncode == 0, g_err[-3000:]  # G finds its version done as it decided it
    assert _published_bytes(storage) == before
    assert violations(storage, Q) == []
    assert storage.read(f"{Q}/manifest.json") == storage.read(f"{Q}/versions/3/manifest.json")
    assert b"b v2" in storage.read(f"{Q}/versions/2/report.html")
