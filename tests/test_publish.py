"""Versioned publishing: what recipients see, in which order it is written, and idempotency."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import kvartal
from kvartal.model import SourceFile
from kvartal.publish import (
    Actor,
    Claim,
    IndexEntry,
    PublishConflict,
    PublishResult,
    fingerprint,
    latest_version,
    plan,
    publish,
)
from kvartal.storage import LocalStorage, Storage, open_storage
from kvartal.storage.s3 import S3Storage
from tests.support.faults import ForwardingStorage

REPORT_FILES = ["fulfilment.json", "report.html", "report.pdf", "report.xlsx"]
EXTRA = {
    "sources": [{"path": "2009Q3/centre.xlsx", "sha256": "ab" * 32, "size": 1234}],
    "waivers": [
        {
            "file": "2009Q3/centre.xlsx",
            "cell": "D7",
            "rule": "negativ-optaelling",
            "reason": "rettet i fagsystemet",
            "approved_by": "JH",
        }
    ],
    "run_id": "run-1",
    "kvartal_version": kvartal.__version__,
    "git_revision": "abc123",
}


class RecordingStorage(ForwardingStorage):
    """Records every write in order; can fail one, as a run dying mid-publication."""

    def __init__(self, inner: Storage, fail_on: Callable[[str], bool] | None = None):
        super().__init__(inner)
        self.writes: list[str] = []
        self.fail_on = fail_on

    def write(
        self, key: str, data: bytes, *, content_type: str | None = None, create_only: bool = False
    ) -> None:
        if self.fail_on is not None and self.fail_on(key):
            raise RuntimeError(f"simulated crash before writing {key}")
        self.inner.write(key, data, content_type=content_type, create_only=create_only)
        self.writes.append(key)

    def delete(self, key: str) -> None:
        if self.fail_on is not None and self.fail_on(f"delete:{key}"):
            raise RuntimeError(f"simulated crash before deleting {key}")
        self.inner.delete(key)
        self.writes.append(f"delete:{key}")


def renderer(tag: str) -> Callable[[int, datetime], dict[str, bytes]]:
    def render(n: int, published_at: datetime | None = None) -> dict[str, bytes]:
        table = json.dumps({"quarter": "2009Q3", "version": n, "tag": tag}).encode()
        return {
            "report.html": f"<h1>Bilag 1, version {n}</h1><p>{tag}</p>".encode(),
            "report.pdf": b"%PDF-1.7 " + tag.encode() + bytes([n]),
            "report.xlsx": b"PK\x03\x04" + tag.encode(),
            "fulfilment.json": table,
        }

    return render


def index_renderer(entries: list[IndexEntry]) -> bytes:
    """Deterministic in its entries, as `publish` asks."""
    lines = []
    for e in entries:
        for version, published_at, keys in e.versions:
            lines.append(f"{e.quarter} v{version} {published_at} {' '.join(keys)}")
    return ("\n".join(lines) + "\n").encode()


def do_publish(
    storage: Storage,
    fp: str,
    tag: str = "a",
    quarter: str = "2009Q3",
    extra: dict[str, Any] | None = None,
) -> PublishResult:
    return publish(
        storage,
        quarter,
        fingerprint=fp,
        render=renderer(tag),
        manifest_extra=EXTRA if extra is None else extra,
        index_renderer=index_renderer,
    )


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.slow)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "published")
    else:
        yield open_storage(request.getfixturevalue("s3_env"))


def visible(storage: Storage) -> list[str]:
    """What recipients browse: everything but kvartal's own `.kvartal/` bookkeeping."""
    return [k for k in storage.list() if not k.startswith(".kvartal/")]


def snapshot(storage: Storage) -> dict[str, tuple[Any, ...]]:
    """Bytes and the storage's own evidence of a rewrite (inode and mtime, LastModified)."""
    out: dict[str, tuple[Any, ...]] = {}
    if isinstance(storage, S3Storage):
        pages = storage.client.get_paginator("list_objects_v2").paginate(
            Bucket=storage.bucket, Prefix=storage.prefix + "/"
        )
        for page in pages:
            for obj in page.get("Contents", []):
                key = obj["Key"][len(storage.prefix) + 1 :]
                out[key] = (storage.read(key), obj["LastModified"], obj["ETag"])
    else:
        assert isinstance(storage, LocalStorage)
        for key in storage.list():
            st = (storage.root / key).stat()
            out[key] = (storage.read(key), st.st_ino, st.st_mtime_ns)
    return out


def wait_for_clock(storage: Storage) -> None:
    """S3 LastModified has whole seconds: a rewrite must be able to show in it."""
    if isinstance(storage, S3Storage):
        time.sleep(1.1)


# ------------------------------------------------------------------------------------------


def test_first_publish_writes_version_1_and_everything_recipients_get(storage: Storage) -> None:
    result = do_publish(storage, "fp-1")

    assert result.created is True
    assert result.version == 1
    assert result.quarter == "2009Q3"
    assert result.location == storage.location("2009Q3/report.html")
    version_keys = [f"2009Q3/versions/1/{n}" for n in REPORT_FILES]
    assert result.keys == [*version_keys, "2009Q3/versions/1/manifest.json"]
    assert visible(storage) == sorted(
        ["index.html", "2009Q3/manifest.json", *(f"2009Q3/{n}" for n in REPORT_FILES), *result.keys]
    )

    rendered = renderer("a")(1)
    raw = storage.read("2009Q3/versions/1/manifest.json")
    manifest = json.loads(raw.decode("utf-8"))
    # indented, keys sorted, UTF-8
    assert raw == (
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    ).encode("utf-8")
    assert manifest["quarter"] == "2009Q3"
    assert manifest["version"] == 1
    assert manifest["fingerprint"] == "fp-1"
    published = datetime.fromisoformat(manifest["published_at"])
    offset = published.utcoffset()
    assert offset is not None and offset.total_seconds() == 0
    assert abs((datetime.now(UTC) - published).total_seconds()) < 120
    for key, value in EXTRA.items():
        assert manifest[key] == value
    assert [f["name"] for f in manifest["files"]] == REPORT_FILES
    for entry in manifest["files"]:
        for where in (f"2009Q3/versions/1/{entry['name']}", f"2009Q3/{entry['name']}"):
            data = storage.read(where)
            assert data == rendered[entry["name"]]
            assert entry["sha256"] == hashlib.sha256(data).hexdigest()
            assert entry["size"] == len(data)
    assert storage.read("2009Q3/manifest.json") == raw
    assert json.loads(storage.read("2009Q3/fulfilment.json"))["version"] == 1

    assert latest_version(storage, "2009Q3") == (1, manifest)
    assert (
        storage.read("index.html")
        == (f"2009Q3 v1 {manifest['published_at']} {' '.join(result.keys)}\n").encode()
    )


def test_same_fingerprint_changes_nothing(storage: Storage) -> None:
    do_publish(storage, "fp-1")
    before = snapshot(storage)
    wait_for_clock(storage)

    recorder = RecordingStorage(storage)
    again = do_publish(recorder, "fp-1", tag="rendered differently, but must not be")

    assert again.created is False
    assert again.version == 1
    assert again.written == [] and recorder.writes == []
    assert snapshot(storage) == before


def test_new_fingerprint_publishes_version_2_and_keeps_version_1(storage: Storage) -> None:
    do_publish(storage, "fp-1", tag="a")
    v1 = {k: v for k, v in snapshot(storage).items() if k.startswith("2009Q3/versions/1/")}
    assert len(v1) == 5
    wait_for_clock(storage)

    result = do_publish(storage, "fp-2", tag="b")

    assert (result.created, result.version) == (True, 2)
    after = snapshot(storage)
    assert {k: v for k, v in after.items() if k.startswith("2009Q3/versions/1/")} == v1
    assert storage.read("2009Q3/report.html") == renderer("b")(2)["report.html"]
    current = json.loads(storage.read("2009Q3/manifest.json"))
    assert (current["version"], current["fingerprint"]) == (2, "fp-2")
    assert json.loads(storage.read("2009Q3/fulfilment.json"))["version"] == 2
    assert latest_version(storage, "2009Q3") == (2, current)
    index = storage.read("index.html").decode().splitlines()
    assert [line.split()[:2] for line in index] == [["2009Q3", "v2"], ["2009Q3", "v1"]]

    # and back to the first inputs: a third version, not a return to version 1
    third = do_publish(storage, "fp-1", tag="a")
    assert (third.created, third.version) == (True, 3)


def test_index_lists_every_quarter_newest_first(storage: Storage) -> None:
    do_publish(storage, "q3", quarter="2009Q3")
    do_publish(storage, "q1", quarter="2010Q1")
    do_publish(storage, "q2", quarter="2009Q2")
    do_publish(storage, "q3b", quarter="2009q3", tag="b")  # any accepted spelling
    index = storage.read("index.html").decode().splitlines()
    assert [line.split()[:2] for line in index] == [
        ["2010Q1", "v1"],
        ["2009Q3", "v2"],
        ["2009Q3", "v1"],
        ["2009Q2", "v1"],
    ]


def test_write_order_claim_staging_decision_files_manifest_then_copy(storage: Storage) -> None:
    recorder = RecordingStorage(storage)
    do_publish(recorder, "fp-1")
    # an S3 location is first probed for conditional writes (tests/test_storage.py)
    writes = [
        w for w in recorder.writes if not w.removeprefix("delete:").startswith(".kvartal/probe/")
    ]
    versioned = [f"2009Q3/versions/1/{n}" for n in REPORT_FILES]
    current = [f"2009Q3/{n}" for n in REPORT_FILES]
    assert writes[0] == ".kvartal/claims/2009Q3/v1/1.json"
    staging = sorted(writes[1:5])
    assert all(w.startswith(".kvartal/staging/2009Q3/v1/1-") for w in staging)
    assert [w.rsplit("/", 1)[1] for w in staging] == REPORT_FILES
    assert len({w.rsplit("/", 1)[0] for w in staging}) == 1  # one folder, this claim's own
    assert writes[5] == ".kvartal/decided/2009Q3/v1.json"
    assert sorted(writes[6:10]) == versioned
    assert writes[10] == "2009Q3/versions/1/manifest.json"
    assert writes[11] == "delete:2009Q3/manifest.json"
    assert sorted(writes[12:16]) == current
    assert writes[16] == "2009Q3/manifest.json"
    assert writes[17] == "index.html"
    assert sorted(writes[18:]) == sorted(
        [
            "delete:.kvartal/claims/2009Q3/v1/1.json",
            "delete:.kvartal/decided/2009Q3/v1.json",
            *(f"delete:{w}" for w in staging),
        ]
    )
    assert storage.list() == visible(storage)  # at rest: only what recipients get


def test_interrupted_version_is_resumed_by_a_retry_with_the_same_bytes(storage: Storage) -> None:
    dying = RecordingStorage(storage, fail_on=lambda key: key.endswith("report.pdf"))
    with pytest.raises(RuntimeError, match="simulated crash"):
        do_publish(dying, "fp-1")
    assert latest_version(storage, "2009Q3") is None  # no manifest: not published
    assert not storage.exists("2009Q3/manifest.json")

    result = do_publish(storage, "fp-1")
    assert (result.created, result.version) == (True, 1)
    assert storage.read("2009Q3/versions/1/report.pdf") == renderer("a")(1)["report.pdf"]


def test_unclaimed_debris_in_an_unfinished_version_is_replaced(storage: Storage) -> None:
    storage.write("2009Q3/versions/1/report.html", b"an abandoned rendering")
    storage.write("2009Q3/versions/1/old-extra.csv", b"x")
    result = do_publish(storage, "fp-1")
    assert (result.created, result.version) == (True, 1)
    assert storage.read("2009Q3/versions/1/report.html") == renderer("a")(1)["report.html"]
    assert not storage.exists("2009Q3/versions/1/old-extra.csv")


def test_a_run_still_at_work_is_a_conflict_that_says_so(storage: Storage) -> None:
    alive = os.getppid()  # a live process on this machine that is not us
    claim = Claim(
        1,
        "fp-other",
        "2009-11-26T09:00:00+00:00",
        "elsewhere",
        socket.gethostname(),
        alive,
        time.time(),
    )
    storage.write(".kvartal/claims/2009Q3/v1/1.json", claim.to_bytes(), create_only=True)
    with pytest.raises(
        PublishConflict,
        match=rf"En anden kørsel udgiver version 1 af 2009Q3.*"
        rf"proces {alive}",
    ):
        do_publish(storage, "fp-1")
    assert not storage.exists("2009Q3/versions/1/manifest.json")
    assert not storage.exists("2009Q3/manifest.json")


def test_a_dead_runs_claim_is_taken_over(storage: Storage) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    claim = Claim(
        1,
        "fp-other",
        "2009-11-26T09:00:00+00:00",
        "gone",
        socket.gethostname(),
        int(dead.stdout),
        time.time(),
    )
    storage.write(".kvartal/claims/2009Q3/v1/1.json", claim.to_bytes(), create_only=True)
    storage.write("2009Q3/versions/1/report.html", b"the dead run's rendering")
    result = do_publish(storage, "fp-1")
    assert (result.created, result.version) == (True, 1)
    manifest = json.loads(storage.read("2009Q3/manifest.json"))
    assert manifest["fingerprint"] == "fp-1"
    assert manifest["published_at"] != "2009-11-26T09:00:00+00:00"  # other inputs: new time
    assert storage.read("2009Q3/report.html") == renderer("a")(1)["report.html"]


def test_a_dead_runs_version_with_the_same_inputs_keeps_its_time(storage: Storage) -> None:
    claim = Claim(
        1, "fp-1", "2009-11-26T09:00:00+00:00", "gone", "another-machine", 1, time.time() - 3600
    )  # past the lease
    storage.write(".kvartal/claims/2009Q3/v1/1.json", claim.to_bytes(), create_only=True)
    seen: list[datetime] = []

    def render(n: int, published_at: datetime) -> dict[str, bytes]:
        seen.append(published_at)
        return renderer("a")(n, published_at)

    result = publish(
        storage,
        "2009Q3",
        fingerprint="fp-1",
        render=render,
        manifest_extra=EXTRA,
        index_renderer=index_renderer,
    )
    assert result.created and result.published_at == "2009-11-26T09:00:00+00:00"
    assert seen == [datetime(2009, 11, 26, 9, 0, tzinfo=UTC)]
    assert (
        json.loads(storage.read("2009Q3/manifest.json"))["published_at"]
        == "2009-11-26T09:00:00+00:00"
    )


def test_interrupted_copy_is_finished_by_the_next_run(storage: Storage) -> None:
    dying = RecordingStorage(storage, fail_on=lambda key: key == "2009Q3/report.xlsx")
    with pytest.raises(RuntimeError, match="simulated crash"):
        do_publish(dying, "fp-1")
    assert latest_version(storage, "2009Q3") is not None  # version 1 exists
    assert not storage.exists("2009Q3/manifest.json")
    assert not storage.exists("index.html")

    result = do_publish(storage, "fp-1")
    assert (result.created, result.version) == (False, 1)
    assert storage.read("2009Q3/manifest.json") == storage.read("2009Q3/versions/1/manifest.json")
    assert storage.read("2009Q3/report.xlsx") == renderer("a")(1)["report.xlsx"]
    assert result.written[-2:] == ["2009Q3/manifest.json", "index.html"]
    assert do_publish(storage, "fp-1").written == []


def test_interrupted_index_is_finished_by_the_next_run(storage: Storage) -> None:
    dying = RecordingStorage(storage, fail_on=lambda key: key == "index.html")
    with pytest.raises(RuntimeError, match="simulated crash"):
        do_publish(dying, "fp-1")
    result = do_publish(storage, "fp-1")
    assert result.written == ["index.html"]
    assert storage.read("index.html").startswith(b"2009Q3 v1 ")


def test_manifest_extra_cannot_override_core_fields(storage: Storage) -> None:
    with pytest.raises(ValueError, match="version"):
        do_publish(storage, "fp-1", extra={"version": 7})
    assert visible(storage) == []


def test_render_names_must_be_plain_files(tmp_path: Path) -> None:
    st = LocalStorage(tmp_path)
    bad_renderings: list[dict[str, bytes]] = [{"manifest.json": b"{}"}, {"../x.html": b""}, {}]
    for bad in bad_renderings:

        def render(n: int, at: datetime, files: dict[str, bytes] = bad) -> dict[str, bytes]:
            return files

        with pytest.raises(ValueError):
            publish(
                st,
                "2009Q3",
                fingerprint="fp",
                render=render,
                manifest_extra={},
                index_renderer=index_renderer,
            )
    assert st.list() == []


def test_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    a = SourceFile("2009Q3/a.xlsx", "1" * 64, 10)
    b = SourceFile("targets/mål.xlsx", "2" * 64, 20)
    settings = {"at_risk": 0.9}
    base = fingerprint([a, b], settings)
    assert len(base) == 64 and int(base, 16) >= 0
    assert fingerprint([b, a], dict(settings)) == base  # order of discovery does not matter
    assert fingerprint([a, SourceFile(b.path, b.sha256, 999)], settings) == base  # size not
    assert fingerprint([a, SourceFile(b.path, "3" * 64, 20)], settings) != base
    assert fingerprint([a, SourceFile("2009Q2/mål.xlsx", b.sha256, 20)], settings) != base
    assert fingerprint([a], settings) != base
    assert fingerprint([a, b], {"at_risk": 0.85}) != base
    monkeypatch.setattr(kvartal, "__version__", "9.9.9")
    assert fingerprint([a, b], settings) != base


def test_a_new_version_carries_the_planned_time_and_renders_once(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    planned = plan(storage, "2009Q3", "fp-1")
    assert (planned.version, planned.already) == (1, False)
    time.sleep(1.1)  # the clock moves on between planning and publishing
    calls: list[tuple[int, datetime]] = []

    def render(n: int, published_at: datetime) -> dict[str, bytes]:
        calls.append((n, published_at))
        return renderer("a")(n, published_at)

    result = publish(
        storage,
        "2009Q3",
        fingerprint="fp-1",
        render=render,
        manifest_extra=EXTRA,
        index_renderer=index_renderer,
        now=planned.published_at,
    )
    assert calls == [(1, planned.published_at)]
    assert result.published_at == planned.published_at.isoformat(timespec="seconds")
    again = plan(storage, "2009Q3", "fp-1")
    assert (again.version, again.already) == (1, True)
    assert again.published_at == planned.published_at


def test_a_late_write_of_an_older_copy_is_repaired_by_a_same_input_run(storage: Storage) -> None:
    do_publish(storage, "fp-1", tag="a")
    do_publish(storage, "fp-2", tag="b")
    # version 1's copy PUT, held in transit, lands after version 2 was copied
    older = renderer("a")(1)["report.pdf"]
    storage.write("2009Q3/report.pdf", older)
    assert storage.read("2009Q3/manifest.json") == storage.read("2009Q3/versions/2/manifest.json")

    again = do_publish(storage, "fp-2", tag="b")
    assert (again.created, again.version) == (False, 2)
    assert "2009Q3/report.pdf" in again.written
    assert storage.read("2009Q3/report.pdf") == renderer("b")(2)["report.pdf"]
    assert storage.read("2009Q3/manifest.json") == storage.read("2009Q3/versions/2/manifest.json")
    assert do_publish(storage, "fp-2", tag="b").written == []  # now nothing to repair


def test_an_overtaken_writer_names_the_run_that_took_its_version(tmp_path: Path) -> None:
    """Two publishers in one process, each with its own identity and a clock we move."""
    storage = LocalStorage(tmp_path)
    now = [1_250_000_000.0]
    g = Actor("maskine-g", 4101, "g-owner", lambda: now[0], 30)
    h = Actor("maskine-h", 4202, "g-owner-not", lambda: now[0], 30)
    stalled: list[str] = []

    class StallingStorage(RecordingStorage):
        """G stops after its first staged file; H publishes meanwhile, 32 s later."""

        def write(self, key: str, data: bytes, **kw: Any) -> None:
            super().write(key, data, **kw)
            if key.startswith(".kvartal/staging/") and not stalled:
                stalled.append(key)
                now[0] += 32
                result = publish(
                    storage,
                    "2009Q3",
                    fingerprint="fp-h",
                    render=renderer("h"),
                    manifest_extra={},
                    index_renderer=index_renderer,
                    actor=h,
                )
                assert (result.created, result.version) == (True, 1)

    with pytest.raises(PublishConflict) as lost:
        publish(
            StallingStorage(storage),
            "2009Q3",
            fingerprint="fp-g",
            render=renderer("g"),
            manifest_extra={},
            index_renderer=index_renderer,
            actor=g,
        )
    message = str(lost.value)
    assert message.startswith(
        "Denne kørsel (maskine maskine-g, proces 4101, startet 2009-08-11T14:13:20+00:00) "
        "mistede sin ret til at udgive version 1 af 2009Q3"
    )
    assert "kørslen på maskine maskine-h, proces 4202, startet 2009-08-11T14:13:52+00:00" in (
        message
    )
    manifest = json.loads(storage.read("2009Q3/versions/1/manifest.json"))
    assert manifest["fingerprint"] == "fp-h"
    assert storage.read("2009Q3/versions/1/report.pdf") == renderer("h")(1)["report.pdf"]


def test_pages_at_the_root_besides_the_index_are_written_like_it(storage: Storage) -> None:
    def pages(entries: list[IndexEntry]) -> dict[str, bytes]:
        return {
            "index.html": index_renderer(entries),
            "udvikling.json": json.dumps([e.quarter for e in entries]).encode(),
        }

    def go(fp: str) -> PublishResult:
        return publish(
            storage,
            "2009Q3",
            fingerprint=fp,
            render=renderer(fp),
            manifest_extra={},
            index_renderer=pages,
        )

    first = go("fp-1")
    assert first.written[-2:] == ["index.html", "udvikling.json"]
    assert storage.read("udvikling.json") == b'["2009Q3"]'
    assert go("fp-1").written == []


# The copy at `<quarter>/` may hold a file otherwise than the version does (the report's
# links to the publish root lead two levels less up from there); `at_quarter` says how.


def _nearer(name: str, data: bytes) -> bytes:
    return data.replace(b"<h1>", b'<h1><a href="../x">') if name == "report.html" else data


def publish_nearer(storage: Storage, fp: str, tag: str = "a") -> PublishResult:
    return publish(
        storage,
        "2009Q3",
        fingerprint=fp,
        render=renderer(tag),
        manifest_extra=EXTRA,
        index_renderer=index_renderer,
        at_quarter=_nearer,
    )


def _manifest(storage: Storage, folder: str) -> dict[str, Any]:
    return dict(json.loads(storage.read(f"{folder}/manifest.json")))


def _holds_what_its_manifest_says(storage: Storage, folder: str) -> bool:
    return all(
        hashlib.sha256(storage.read(f"{folder}/{f['name']}")).hexdigest() == f["sha256"]
        and len(storage.read(f"{folder}/{f['name']}")) == f["size"]
        for f in _manifest(storage, folder)["files"]
    )


def test_the_copy_at_the_quarter_holds_its_own_bytes_and_names_them(storage: Storage) -> None:
    publish_nearer(storage, "fp-1")
    page = renderer("a")(1)["report.html"]
    assert storage.read("2009Q3/versions/1/report.html") == page
    assert (
        storage.read("2009Q3/report.html") == b'<h1><a href="../x">Bilag 1, version 1</h1><p>a</p>'
    )
    for name in ("report.pdf", "report.xlsx", "fulfilment.json"):
        assert storage.read(f"2009Q3/{name}") == storage.read(f"2009Q3/versions/1/{name}")
    assert _holds_what_its_manifest_says(storage, "2009Q3")
    assert _holds_what_its_manifest_says(storage, "2009Q3/versions/1")
    copy, version = _manifest(storage, "2009Q3"), _manifest(storage, "2009Q3/versions/1")
    # the same version, time, sources and waivers: only the changed file's entry differs
    assert {k: v for k, v in copy.items() if k != "files"} == {
        k: v for k, v in version.items() if k != "files"
    }
    differ = [a["name"] for a, b in zip(copy["files"], version["files"], strict=True) if a != b]
    assert differ == ["report.html"]
    assert publish_nearer(storage, "fp-1").written == []  # the same inputs change nothing


def test_a_copy_made_as_the_version_is_brought_to_its_own_bytes(storage: Storage) -> None:
    """A quarter published when the copy was the version's bytes: the next run with the
    same inputs changes the copy's page and manifest alone, and the version not at all."""
    do_publish(storage, "fp-1")
    before = {k: storage.read(k) for k in visible(storage)}
    result = publish_nearer(storage, "fp-1")
    assert (result.created, result.version) == (False, 1)
    assert storage.read("2009Q3/report.html").startswith(b'<h1><a href="../x">')
    assert _holds_what_its_manifest_says(storage, "2009Q3")
    after = {k: storage.read(k) for k in visible(storage)}
    assert sorted(after) == sorted(before)
    assert {k for k in after if before[k] != after[k]} == {
        "2009Q3/report.html",
        "2009Q3/manifest.json",
    }


def test_an_interrupted_or_overwritten_copy_is_repaired_with_its_own_bytes(
    storage: Storage,
) -> None:
    dying = RecordingStorage(storage, fail_on=lambda key: key == "2009Q3/report.xlsx")
    with pytest.raises(RuntimeError, match="simulated crash"):
        publish(
            dying,
            "2009Q3",
            fingerprint="fp-1",
            render=renderer("a"),
            manifest_extra=EXTRA,
            index_renderer=index_renderer,
            at_quarter=_nearer,
        )
    assert not storage.exists("2009Q3/manifest.json")
    publish_nearer(storage, "fp-1")
    assert storage.read("2009Q3/report.html").startswith(b'<h1><a href="../x">')
    assert _holds_what_its_manifest_says(storage, "2009Q3")

    # a late write of the version's page lands on the copy: the next run puts it right
    storage.write("2009Q3/report.html", renderer("a")(1)["report.html"])
    assert not _holds_what_its_manifest_says(storage, "2009Q3")
    assert publish_nearer(storage, "fp-1").written[-1] == "2009Q3/manifest.json"
    assert storage.read("2009Q3/report.html").startswith(b'<h1><a href="../x">')
    assert _holds_what_its_manifest_says(storage, "2009Q3")
