"""The fault harness: publishing killed at every write boundary, polled by readers.

A publication runs in a process of its own (tests.support.publish_child) that the storage
layer SIGKILLs at the Nth write boundary (KVARTAL_FAULT_KILL_AT, see tests/support/faults.py).
After each kill the publish location must be consistent as it stands, and the next run,
with the same or with corrected inputs, must publish without anyone cleaning up.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kvartal.publish import latest_version
from kvartal.storage import LocalStorage, Storage, open_storage
from tests.support import publish_child
from tests.support.consistency import local_debris, manifest_violations, violations

pytestmark = pytest.mark.slow

Q = "2009Q3"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["local", "s3"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A root under which each case gets a fresh publish location of its own."""
    if request.param == "local":
        yield str(tmp_path)
    else:
        yield str(request.getfixturevalue("s3_env"))


def child(where: str, fp: str, tag: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.support.publish_child", where, Q, fp, tag],
        env={**os.environ, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def boundaries(where: str) -> list[str]:
    """The write boundaries a version-2 publication passes, from a traced clean run."""
    publish_child.run(where, Q, "fp-1", "a")
    trace = Path(os.environ.get("TMPDIR", "/tmp")) / f"kvartal-trace-{os.getpid()}.txt"
    trace.unlink(missing_ok=True)
    try:
        done = child(where, "fp-2", "b", KVARTAL_FAULT_TRACE=str(trace))
        assert done.returncode == 0, done.stderr
        return trace.read_text().splitlines()
    finally:
        trace.unlink(missing_ok=True)


def test_a_kill_at_any_write_boundary_is_made_good_by_the_next_run(location: str) -> None:
    points = boundaries(f"{location}/traced")
    # claim, 4 staged files, the decision, 4 files and the manifest of version 2, the
    # manifest away, 4 files, manifest, index, the spent bookkeeping: each a write (locally
    # also a completed temporary file) or a delete
    labels = [p.split(" ", 1)[0] + " " + p.rsplit("/", 1)[-1] for p in points]
    # (twice: the quarter's copy, and the root's, which names udvikling.*)
    assert labels.count("delete manifest.json") == 2
    assert [p.split(" ")[0] for p in points].count("write") >= 17
    local = not location.startswith("s3://")

    for k in range(1, len(points) + 1):
        where = f"{location}/k{k}"
        publish_child.run(where, Q, "fp-1", "a")  # version 1, whole
        killed = child(where, "fp-2", "b", KVARTAL_FAULT_KILL_AT=str(k))
        assert killed.returncode == -signal.SIGKILL, (k, points[k - 1], killed.stderr[-2000:])
        storage = open_storage(where)
        assert violations(storage, Q) == [], f"after a kill at {points[k - 1]}"
        assert manifest_violations(storage, "") == [], f"after a kill at {points[k - 1]}"
        # a decided version is the next run's to finish, whatever its inputs: its decider
        # may only be stalled, so its bytes are the only ones version 2 can ever hold
        v2_exists = storage.exists(f"{Q}/versions/2/manifest.json") or storage.exists(
            ".kvartal/decided/2009Q3/v2.json"
        )

        # Alternately the same inputs again and corrected ones: both publish, no cleanup.
        fp, tag = ("fp-2", "b") if k % 2 else ("fp-3", "c")
        done = child(where, fp, tag)
        assert done.returncode == 0, (k, points[k - 1], done.stderr[-3000:])
        expected = 3 if (v2_exists and fp == "fp-3") else 2
        latest = latest_version(storage, Q)
        assert latest is not None and latest[0] == expected, (k, points[k - 1])
        assert latest[1]["fingerprint"] == fp and latest[1]["tag"] == tag
        assert storage.read(f"{Q}/manifest.json") == storage.read(
            f"{Q}/versions/{expected}/manifest.json"
        )
        assert violations(storage, Q) == []
        # version 1 is untouched; the index lists every version
        assert json.loads(storage.read(f"{Q}/versions/1/manifest.json"))["fingerprint"] == "fp-1"
        index = json.loads(storage.read("index.html"))
        assert [v for v, _ in index[0][1]] == list(range(expected, 0, -1))
        # the trend page shows the newest version, named by the root's manifest
        trend = json.loads(storage.read("udvikling.json"))
        assert trend["targets"][0]["quarters"][0]["version"] == expected
        assert storage.exists("manifest.json") and manifest_violations(storage, "") == []
        # at rest the location holds only what recipients get: no claims, no temporaries
        assert [key for key in storage.list() if key.startswith(".kvartal")] == []
        if local:
            assert local_debris(Path(where)) == [], (k, points[k - 1])
            assert not (Path(where) / ".kvartal").exists()


def _trend_names_whole_versions(storage: Storage, seen: list[str]) -> None:
    """Every version the trend page names has its manifest and exactly its files."""
    try:
        trend = json.loads(storage.read("udvikling.json"))
    except FileNotFoundError:
        return
    for t in trend["targets"]:
        for q in t["quarters"]:
            folder = f"{q['quarter']}/versions/{q['version']}"
            if not storage.exists(f"{folder}/manifest.json"):
                seen.append(f"udvikling.json names {folder}, which has no manifest")
            seen.extend(manifest_violations(storage, folder))


def _poll(storage: Storage, stop: threading.Event, seen: list[str], reads: list[int]) -> None:
    """Read the manifest, the files it names, the manifest again; a mismatch while the
    manifest stayed the same means a reader was shown a mixed quarter."""
    while not stop.is_set():
        _trend_names_whole_versions(storage, seen)
        for folder in (Q, f"{Q}/versions/1", f"{Q}/versions/2", ""):
            prefix = f"{folder}/" if folder else ""  # "": the root's, naming udvikling.*
            try:
                before = storage.read(f"{prefix}manifest.json")
            except FileNotFoundError:
                continue
            problems = manifest_violations(storage, folder)
            try:
                after = storage.read(f"{prefix}manifest.json")
            except FileNotFoundError:
                continue
            reads[0] += 1
            if problems and before == after:
                seen.extend(problems)


def test_readers_polling_during_publications_never_see_a_mixed_quarter(location: str) -> None:
    where = f"{location}/polled"
    storage = open_storage(where)
    publish_child.run(where, Q, "fp-0", "start")
    stop, seen, reads = threading.Event(), [], [0]
    readers = [
        threading.Thread(target=_poll, args=(open_storage(where), stop, seen, reads))
        for _ in range(2)
    ]
    for r in readers:
        r.start()
    try:
        for i in range(1, 7):
            publish_child.run(where, Q, f"fp-{i}", f"run {i}")
    finally:
        stop.set()
        for r in readers:
            r.join()
    assert seen == []
    assert reads[0] > 20  # the readers really read while the versions were written
    latest = latest_version(storage, Q)
    assert latest is not None and latest[0] == 7
    if isinstance(storage, LocalStorage):
        assert local_debris(storage.root) == []


def test_two_publishers_at_once_never_mix_and_a_conflict_says_so(location: str) -> None:
    for round_ in range(4):
        where = f"{location}/race-{round_}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.support.publish_child", where, Q, f"fp-{who}", who],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for who in ("a", "b")
        ]
        outcomes = [
            (p.wait(timeout=120), p.stdout.read(), p.stderr.read())  # type: ignore[union-attr]
            for p in procs
        ]
        storage = open_storage(where)
        assert violations(storage, Q) == []
        won = [json.loads(out) for rc, out, _ in outcomes if rc == 0]
        lost = [err for rc, _, err in outcomes if rc != 0]
        assert won, outcomes
        for err in lost:  # only a genuine concurrent publisher is refused, and told so
            assert err.startswith("En anden kørsel udgiver version"), err
        assert sorted(w["version"] for w in won) == list(range(1, len(won) + 1))
        latest = latest_version(storage, Q)
        assert latest is not None and latest[0] == len(won)
        assert storage.read(f"{Q}/manifest.json") == storage.read(
            f"{Q}/versions/{len(won)}/manifest.json"
        )
        # whoever lost publishes on the next attempt, without cleanup
        if lost:
            first = json.loads(storage.read(f"{Q}/versions/1/manifest.json"))["fingerprint"]
            tag = "b" if first == "fp-a" else "a"
            assert child(where, f"fp-{tag}", tag).returncode == 0
            assert latest_version(storage, Q)[0] == 2  # type: ignore[index]
        assert violations(storage, Q) == []
