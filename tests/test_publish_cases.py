"""Publishing case rows: the version `plan` names after debris of every kind, the names a
render may give, the keys that are versions, what a run with nothing new returns, and the
messages that tell an operator which run holds a version.

Expected values are worked from the protocol (kvartal/publish.py's module text), never
read back from a run.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kvartal.model import SourceFile
from kvartal.publish import (
    Actor,
    Claim,
    Plan,
    PublishConflict,
    PublishResult,
    fingerprint,
    index_entries,
    latest_version,
    plan,
    publish,
    published_versions,
    this_process,
)
from kvartal.storage import LocalStorage, Storage
from tests.test_publish import RecordingStorage, index_renderer, renderer

T0 = datetime(2009, 10, 1, 8, 0, tzinfo=UTC)  # version 1's publication
T1 = datetime(2009, 10, 2, 9, 30, tzinfo=UTC)  # a run that died before finishing
NOW = datetime(2009, 10, 3, 11, 15, tzinfo=UTC)  # the planning run's clock


def go(
    storage: Storage, fp: str, now: datetime | None = None, actor: Actor | None = None
) -> PublishResult:
    return publish(
        storage,
        "2009Q3",
        fingerprint=fp,
        render=renderer(fp),
        manifest_extra={},
        index_renderer=index_renderer,
        now=now,
        actor=actor,
    )


def dies_at(storage: Storage, fp: str, at: str, now: datetime, actor: Actor) -> None:
    """A run of `fp` killed just before its first write whose key starts with `at`."""
    dying = RecordingStorage(storage, fail_on=lambda key: key.startswith(at))
    with pytest.raises(RuntimeError, match="simulated crash"):
        go(dying, fp, now, actor)


GONE = Actor("maskine-x", 1, "gone-owner", lambda: 0.0, 30)  # past its lease at any clock


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return LocalStorage(tmp_path)


def test_plan_on_an_empty_location(storage: Storage) -> None:
    assert plan(storage, "2009Q3", "fp-1", NOW) == Plan(1, False, NOW)


def test_plan_after_a_published_version(storage: Storage) -> None:
    go(storage, "fp-1", T0)
    # the same inputs: version 1 already, with its own time; other inputs: version 2, now
    assert plan(storage, "2009Q3", "fp-1", NOW) == Plan(1, True, T0)
    assert plan(storage, "2009Q3", "fp-2", NOW) == Plan(2, False, NOW)


def test_plan_after_a_dead_claim(storage: Storage) -> None:
    go(storage, "fp-1", T0)
    dies_at(storage, "fp-2", ".kvartal/staging/", T1, GONE)  # claimed version 2, then died
    # its own inputs resume version 2 with the dead run's time; other inputs take version 2
    # over with a time of their own
    assert plan(storage, "2009Q3", "fp-2", NOW) == Plan(2, False, T1)
    assert plan(storage, "2009Q3", "fp-3", NOW) == Plan(2, False, NOW)


def test_plan_after_a_claim_taken_over_and_dead_again(storage: Storage) -> None:
    go(storage, "fp-1", T0)
    dies_at(storage, "fp-2", ".kvartal/staging/", T1, GONE)
    other = Actor("maskine-y", 2, "gone-too", lambda: 1000.0, 30)  # GONE's lease is over
    dies_at(storage, "fp-3", ".kvartal/staging/", NOW, other)  # generation 2, fp-3
    # only the newest claim counts: fp-3's time for fp-3, a new time for fp-2
    later = datetime(2009, 10, 4, tzinfo=UTC)
    assert plan(storage, "2009Q3", "fp-3", later) == Plan(2, False, NOW)
    assert plan(storage, "2009Q3", "fp-2", later) == Plan(2, False, later)


def test_plan_after_a_decided_but_unfinished_version(storage: Storage) -> None:
    go(storage, "fp-1", T0)
    dies_at(storage, "fp-2", "2009Q3/versions/2/", T1, GONE)  # decided, nothing copied
    # version 2 is fp-2's for good: fp-2 finishes it with its time, anything else comes after
    assert plan(storage, "2009Q3", "fp-2", NOW) == Plan(2, False, T1)
    assert plan(storage, "2009Q3", "fp-3", NOW) == Plan(3, False, NOW)
    # and publishing does what the plan said: version 2 finished as decided, then ours
    result = go(storage, "fp-3", NOW)
    assert (result.version, result.published_at) == (3, "2009-10-03T11:15:00+00:00")
    # every key this run wrote is reported, the finished version 2's among them
    assert [k for k in result.written if k.startswith("2009Q3/versions/2/")] == [
        "2009Q3/versions/2/fulfilment.json",
        "2009Q3/versions/2/report.html",
        "2009Q3/versions/2/report.pdf",
        "2009Q3/versions/2/report.xlsx",
        "2009Q3/versions/2/manifest.json",
    ]
    assert published_versions(storage, "2009Q3") == [1, 2, 3]
    two = latest_version(storage, "2009Q3")
    assert two is not None and two[0] == 3
    v2 = json.loads(storage.read("2009Q3/versions/2/manifest.json"))
    assert (v2["fingerprint"], v2["published_at"]) == ("fp-2", "2009-10-02T09:30:00+00:00")


@pytest.mark.parametrize(
    "name",
    ["versions/x", "a//b", "./x", "x/.", "a/../b", "/x", "x/", "manifest.json", ".."],
)
def test_render_names_that_are_not_plain_files_are_refused(storage: Storage, name: str) -> None:
    def render(n: int, at: datetime) -> dict[str, bytes]:
        return {"report.html": b"<p>ok</p>", name: b"x"}

    with pytest.raises(ValueError, match="cannot be published as a file of a version"):
        publish(
            storage,
            "2009Q3",
            fingerprint="fp",
            render=render,
            manifest_extra={},
            index_renderer=index_renderer,
        )
    assert storage.list() == []


def test_a_render_name_in_a_folder_is_published(storage: Storage) -> None:
    def render(n: int, at: datetime) -> dict[str, bytes]:
        return {"bilag/tabel.csv": b"a;b\n", "report.html": b"<p>ok</p>"}

    result = publish(
        storage,
        "2009Q3",
        fingerprint="fp",
        render=render,
        manifest_extra={},
        index_renderer=index_renderer,
    )
    assert result.keys == [
        "2009Q3/versions/1/bilag/tabel.csv",
        "2009Q3/versions/1/report.html",
        "2009Q3/versions/1/manifest.json",
    ]
    assert storage.read("2009Q3/bilag/tabel.csv") == b"a;b\n"


@pytest.mark.parametrize("folder", ["versions/0", "versions/01", "versions/1x", "versionsX/1"])
def test_only_whole_numbers_from_1_are_versions(storage: Storage, folder: str) -> None:
    # a manifest under a folder that is not a version number is no version of ours
    storage.write(f"2009Q3/{folder}/manifest.json", b'{"fingerprint": "fp-1"}')
    assert published_versions(storage, "2009Q3") == []
    assert plan(storage, "2009Q3", "fp-1", NOW) == Plan(1, False, NOW)
    assert index_entries(storage) == []


def test_a_version_of_another_quarter_with_the_same_prefix_is_not_ours(storage: Storage) -> None:
    storage.write("2009Q3x/versions/4/manifest.json", b'{"fingerprint": "fp-1"}')
    assert published_versions(storage, "2009Q3") == []


def test_a_folder_that_is_no_quarter_is_left_out_of_the_index(storage: Storage) -> None:
    go(storage, "fp-1", T0)
    go(storage, "fp-2", NOW)
    # sorts before the quarters; it must not hide them
    storage.write("00-arkiv/versions/1/manifest.json", b'{"files": []}')
    entries = index_entries(storage)
    assert [(e.quarter, [v.version for v in e.versions]) for e in entries] == [("2009Q3", [2, 1])]
    assert entries[0].versions[1].published_at == "2009-10-01T08:00:00+00:00"


def test_a_run_with_nothing_new_returns_the_published_version(storage: Storage) -> None:
    go(storage, "fp-1", T0)
    again = go(storage, "fp-1", NOW)
    assert again == PublishResult(
        "2009Q3",
        1,
        False,
        [
            "2009Q3/versions/1/fulfilment.json",
            "2009Q3/versions/1/report.html",
            "2009Q3/versions/1/report.pdf",
            "2009Q3/versions/1/report.xlsx",
            "2009Q3/versions/1/manifest.json",
        ],
        storage.location("2009Q3/report.html"),
        [],
        "2009-10-01T08:00:00+00:00",
    )


def test_a_run_with_nothing_new_removes_what_a_killed_run_left(storage: Storage) -> None:
    dying = RecordingStorage(storage, fail_on=lambda key: key == "index.html")
    with pytest.raises(RuntimeError, match="simulated crash"):
        go(dying, "fp-1", T0)
    assert storage.list(".kvartal") != []  # its claim, decision and staged files
    go(storage, "fp-1", NOW)
    assert storage.list(".kvartal") == []


@pytest.mark.parametrize("damage", ["missing", "other bytes"])
def test_a_damaged_copy_is_repaired_by_a_run_with_nothing_new(
    storage: Storage, damage: str
) -> None:
    go(storage, "fp-1", T0)
    if damage == "missing":
        storage.delete("2009Q3/report.xlsx")
    else:
        storage.write("2009Q3/report.xlsx", b"PK not the published workbook")
    again = go(storage, "fp-1", NOW)
    assert "2009Q3/report.xlsx" in again.written
    assert storage.read("2009Q3/report.xlsx") == renderer("fp-1")(1)["report.xlsx"]


def test_a_claim_of_another_machine_within_its_lease_is_honoured(storage: Storage) -> None:
    clock = [1_250_000_000.0]
    g = Actor("maskine-g", 4101, "g-owner", lambda: clock[0], 30)
    h = Actor("maskine-h", 4202, "h-owner", lambda: clock[0], 30)
    dies_at(storage, "fp-g", ".kvartal/staging/", T1, g)
    clock[0] += 10
    with pytest.raises(PublishConflict) as busy:
        go(storage, "fp-h", NOW, h)
    assert str(busy.value) == (
        f"En anden kørsel udgiver version 1 af 2009Q3 i {storage.url} lige nu "
        "(maskine maskine-g, proces 4101, startet 2009-08-11T14:13:20+00:00). "
        "Kør igen, når den er færdig; en afbrudt kørsel overtages automatisk, når dens proces "
        "er væk eller efter 30 s. / Another run is publishing version 1 of 2009Q3 right now."
    )


def test_a_writer_whose_claims_were_removed_says_another_run_took_over(
    storage: Storage,
) -> None:
    """G runs in this very process under another owner, so when H publishes, G's claim is
    spent at once (its process is not another live one); G then has no claim to name."""
    clock = [1_250_000_000.0]
    g = Actor(socket.gethostname(), os.getpid(), "g-owner", lambda: clock[0], 30)
    h = Actor("maskine-h", 4202, "h-owner", lambda: clock[0], 30)
    stalled: list[str] = []

    class Stalling(RecordingStorage):
        def write(self, key: str, data: bytes, **kw: object) -> None:
            super().write(key, data, **kw)  # type: ignore[arg-type]
            if key.startswith(".kvartal/staging/") and not stalled:
                stalled.append(key)
                clock[0] += 32
                assert go(storage, "fp-h", NOW, h).version == 1

    with pytest.raises(PublishConflict) as lost:
        go(Stalling(storage), "fp-g", T1, g)
    assert str(lost.value) == (
        f"Denne kørsel (maskine {socket.gethostname()}, proces {os.getpid()}, startet "
        f"2009-08-11T14:13:20+00:00) mistede sin ret til at udgive version 1 af 2009Q3 i "
        f"{storage.url}: en anden kørsel overtog den, fordi denne kørsel ikke blev færdig "
        "inden for 30 s (KVARTAL_PUBLISH_LEASE). Intet af det, denne kørsel skrev, er udgivet, "
        "og den udgivne version er uændret. Kør igen, hvis der stadig mangler noget. / This "
        "run lost its claim on version 1 of 2009Q3 to another run; nothing it wrote is "
        "published."
    )


def test_this_process_publishes_as_this_machine_and_process(storage: Storage) -> None:
    me = this_process()
    assert (me.host, me.pid) == (socket.gethostname(), os.getpid())
    dies_at(storage, "fp-1", ".kvartal/staging/", T1, me)
    (key,) = storage.list(".kvartal/claims")
    claim = Claim.from_bytes(storage.read(key))
    assert (claim.host, claim.pid, claim.owner) == (me.host, me.pid, me.owner)


@pytest.mark.parametrize(("lease", "taken_over"), [(30, True), (60, False)])
def test_this_process_honours_the_lease_it_is_given(
    storage: Storage, lease: int, taken_over: bool
) -> None:
    """A run on another machine died while staging 45 s ago: with KVARTAL_PUBLISH_LEASE=30
    its claim has run out and this process takes version 1 over; with 60 it is still
    honoured, and the operator is told the 60 s."""
    died = Actor("maskine-b", 4404, "b-owner", lambda: time.time() - 45, 600)
    dies_at(storage, "fp-b", ".kvartal/staging/", T1, died)
    if taken_over:
        assert go(storage, "fp-1", NOW, this_process(lease)).version == 1
    else:
        with pytest.raises(PublishConflict, match="maskine maskine-b, proces 4404") as busy:
            go(storage, "fp-1", NOW, this_process(lease))
        assert "er væk eller efter 60 s." in str(busy.value)


def test_a_fingerprint_does_not_depend_on_the_order_settings_are_given_in() -> None:
    sources = [SourceFile("2009Q3/a.xlsx", "1" * 64, 10)]
    assert fingerprint(sources, {"at_risk": 0.9, "lease": 30}) == fingerprint(
        sources, {"lease": 30, "at_risk": 0.9}
    )


def test_a_setting_without_a_json_number_is_refused_in_a_fingerprint() -> None:
    with pytest.raises(ValueError):
        fingerprint([], {"at_risk": float("nan")})


def test_a_run_with_nothing_new_keeps_the_claims_an_overtaken_writer_may_still_read(
    storage: Storage,
) -> None:
    clock = [1_250_000_000.0]
    g = Actor("maskine-g", 4101, "g-owner", lambda: clock[0], 30)
    h = Actor("maskine-h", 4202, "h-owner", lambda: clock[0], 30)
    dies_at(storage, "fp-g", ".kvartal/staging/", T1, g)  # G claims, then stalls
    clock[0] += 32
    dies_at(storage, "fp-h", "index.html", NOW, h)  # H takes over, publishes, is killed
    again = go(storage, "fp-h", NOW, h)
    assert (again.version, again.created) == (1, False)
    # G, on another machine, may resume within a day and must learn who took over:
    # both claims stay; the decision and the staged files are spent
    assert [k.rsplit("/", 1)[1] for k in storage.list(".kvartal/claims")] == ["1.json", "2.json"]
    assert storage.list(".kvartal/decided") == []
    assert storage.list(".kvartal/staging") == []


def test_spent_bookkeeping_of_published_versions_goes_and_an_undecided_newer_one_stays(
    storage: Storage, tmp_path: Path
) -> None:
    go(storage, "fp-1", T0)
    dies_at(storage, "fp-2", "2009Q3/versions/2/", T1, GONE)  # version 2 decided, not copied
    assert go(storage, "fp-1", NOW).version == 1  # nothing new for fp-1
    # version 2's decision is the only set of bytes it may hold: kept until it is published
    assert storage.exists(".kvartal/decided/2009Q3/v2.json")
    finished = go(storage, "fp-2", NOW)
    assert (finished.version, finished.published_at) == (2, "2009-10-02T09:30:00+00:00")
    # at rest: no bookkeeping, not even an empty folder of it
    assert storage.list(".kvartal") == []
    assert ".kvartal" not in os.listdir(tmp_path)


def test_finishing_a_decided_version_leaves_files_already_copied_untouched(
    storage: Storage, tmp_path: Path
) -> None:
    dies_at(storage, "fp-1", "2009Q3/versions/1/manifest.json", T1, GONE)  # files copied
    pdf = tmp_path / "2009Q3/versions/1/report.pdf"
    before = (pdf.stat().st_ino, pdf.stat().st_mtime_ns)
    assert go(storage, "fp-1", NOW).version == 1
    assert (pdf.stat().st_ino, pdf.stat().st_mtime_ns) == before


def test_staged_files_spent_by_another_finisher_meanwhile_are_not_an_error(
    storage: Storage,
) -> None:
    dies_at(storage, "fp-1", "2009Q3/versions/1/", T1, GONE)  # version 1 decided, not copied
    results: list[PublishResult] = []

    class Meanwhile(RecordingStorage):
        """B finishes version 1, publishes its own and removes the spent staging folder
        while A is reading the staged files."""

        def read(self, key: str) -> bytes:
            if key.startswith(".kvartal/staging/") and key.endswith("report.pdf") and not results:
                results.append(go(storage, "fp-b", NOW))
            return self.inner.read(key)

    a = go(Meanwhile(storage), "fp-a", NOW)
    assert [r.version for r in results] == [2]
    assert (a.version, a.created) == (3, True)
    assert published_versions(storage, "2009Q3") == [1, 2, 3]


def test_an_empty_folder_a_killed_run_left_in_the_bookkeeping_is_removed(
    storage: Storage, tmp_path: Path
) -> None:
    # killed between making its staging folder and placing the first file: no key to delete
    (tmp_path / ".kvartal/staging/2009Q3/v1/1-0123456789abcdef").mkdir(parents=True)
    go(storage, "fp-1", NOW)
    assert ".kvartal" not in os.listdir(tmp_path)


def claims_kept(storage: Storage) -> int:
    return len(storage.list(".kvartal/claims"))


def test_claims_are_kept_for_an_overtaken_writer_alive_on_this_machine(storage: Storage) -> None:
    clock = [1_250_000_000.0]
    alive = os.getppid()  # a live process of this machine that is not us
    g = Actor(socket.gethostname(), alive, "g-owner", lambda: clock[0], 30)
    h = Actor("maskine-h", 4202, "h-owner", lambda: clock[0], 30)
    dies_at(storage, "fp-g", ".kvartal/staging/", T1, g)
    clock[0] += 32  # past G's lease, though its process lives
    go(storage, "fp-h", NOW, h)
    assert claims_kept(storage) == 2


@pytest.mark.parametrize(("age", "kept"), [(24 * 3600.0 - 1, 2), (24 * 3600.0, 0)])
def test_claims_of_an_overtaken_writer_elsewhere_are_kept_for_a_day(
    storage: Storage, age: float, kept: int
) -> None:
    clock = [1_250_000_000.0]
    g = Actor("maskine-g", 4101, "g-owner", lambda: clock[0], 30)
    h = Actor("maskine-h", 4202, "h-owner", lambda: clock[0], 30)
    dies_at(storage, "fp-g", ".kvartal/staging/", T1, g)  # G's claim at the clock's start
    clock[0] += 32
    dies_at(storage, "fp-h", "index.html", NOW, h)  # H publishes; killed before cleaning up
    clock[0] = 1_250_000_000.0 + age
    go(storage, "fp-h", NOW, h)  # nothing new; spent bookkeeping removed
    assert claims_kept(storage) == kept


def test_claims_are_kept_when_any_overtaken_writer_may_resume(storage: Storage) -> None:
    clock = [1_250_000_000.0]
    a = Actor("maskine-a", 1, "a-owner", lambda: clock[0], 30)
    b = Actor("maskine-b", 2, "b-owner", lambda: clock[0], 30)
    c = Actor("maskine-c", 3, "c-owner", lambda: clock[0], 30)
    dies_at(storage, "fp-a", ".kvartal/staging/", T1, a)
    clock[0] += 2 * 24 * 3600  # A's machine is gone for good
    dies_at(storage, "fp-b", ".kvartal/staging/", T1, b)
    clock[0] += 32  # B may still resume
    go(storage, "fp-c", NOW, c)
    assert claims_kept(storage) == 3


@pytest.mark.parametrize("name", ["a/b.html", "", ".", "..", ".kvartal", ".kvartal-x.html"])
def test_pages_at_the_root_must_be_plain_names_outside_the_bookkeeping(
    storage: Storage, name: str
) -> None:
    def pages(entries: list[object]) -> dict[str, bytes]:
        return {"index.html": b"<p>index</p>", name: b"x"}

    with pytest.raises(ValueError) as bad:
        publish(
            storage,
            "2009Q3",
            fingerprint="fp",
            render=renderer("fp"),
            manifest_extra={},
            index_renderer=pages,  # type: ignore[arg-type]
        )
    assert str(bad.value) == f"{name!r} cannot be published as a page at the publish root"


def test_a_page_that_did_not_change_is_skipped_and_the_next_one_written(storage: Storage) -> None:
    def pages(entries: list[object]) -> dict[str, bytes]:
        return {"a.html": b"same", "b.html": f"{len(entries[0].versions)}".encode()}  # type: ignore[attr-defined]

    def run(fp: str) -> PublishResult:
        return publish(
            storage,
            "2009Q3",
            fingerprint=fp,
            render=renderer(fp),
            manifest_extra={},
            index_renderer=pages,  # type: ignore[arg-type]
        )

    run("fp-1")
    second = run("fp-2")
    assert "a.html" not in second.written and "b.html" in second.written
    assert storage.read("b.html") == b"2"


def test_a_retry_with_other_inputs_resumes_its_claim_and_its_time(storage: Storage) -> None:
    me = Actor("maskine-a", 4101, "a-owner", lambda: 1_250_000_000.0, 30)
    dies_at(storage, "fp-1", ".kvartal/staging/", T1, me)  # claimed at T1, then failed
    calls: list[tuple[int, datetime]] = []

    def render(n: int, at: datetime) -> dict[str, bytes]:
        calls.append((n, at))
        return renderer("fp-2")(n, at)

    result = publish(
        storage,
        "2009Q3",
        fingerprint="fp-2",
        render=render,
        manifest_extra={"note": "Tæller og Nævner"},
        index_renderer=index_renderer,
        now=NOW,
        actor=me,
    )
    # rendered for its own time, then again for the time its resumed claim carries
    assert calls == [(1, NOW), (1, T1)]
    assert result.published_at == "2009-10-02T09:30:00+00:00"
    raw = storage.read("2009Q3/versions/1/manifest.json")
    manifest = json.loads(raw)
    assert (manifest["version"], manifest["fingerprint"], manifest["published_at"]) == (
        1,
        "fp-2",
        "2009-10-02T09:30:00+00:00",
    )
    assert manifest["note"] == "Tæller og Nævner" and "Tæller og Nævner".encode() in raw
    assert [k.rsplit("/", 1)[1] for k in result.written if k.startswith(".kvartal/staging/")] == [
        "fulfilment.json",
        "report.html",
        "report.pdf",
        "report.xlsx",
    ]


def test_what_a_manifest_cannot_hold_is_refused_with_a_reason(storage: Storage) -> None:
    with pytest.raises(ValueError) as clash:
        publish(
            storage,
            "2009Q3",
            fingerprint="fp",
            render=renderer("fp"),
            manifest_extra={"version": 9, "quarter": "x"},
            index_renderer=index_renderer,
        )
    assert str(clash.value) == "manifest_extra may not set quarter, version"
    with pytest.raises(ValueError):
        go_extra = {"ratio": float("nan")}
        publish(
            storage,
            "2009Q3",
            fingerprint="fp",
            render=renderer("fp"),
            manifest_extra=go_extra,
            index_renderer=index_renderer,
        )
    with pytest.raises(ValueError) as empty:
        publish(
            storage,
            "2009Q3",
            fingerprint="fp",
            render=lambda n, at: {},
            manifest_extra={},
            index_renderer=index_renderer,
        )
    assert str(empty.value) == "render returned no files: there is nothing to publish"
    assert storage.list() == []


def test_a_copy_overwritten_on_every_attempt_gives_up_with_a_reason(storage: Storage) -> None:
    go(storage, "fp-1", T0)
    stale = storage.read("2009Q3/report.pdf")

    class Overwritten(RecordingStorage):
        """Another writer's PUT of the old file lands before every manifest of ours."""

        def write(self, key: str, data: bytes, **kw: object) -> None:
            if key == "2009Q3/manifest.json":
                self.inner.write("2009Q3/report.pdf", stale)
            super().write(key, data, **kw)  # type: ignore[arg-type]

    with pytest.raises(PublishConflict) as gave_up:
        go(Overwritten(storage), "fp-2", NOW)
    assert str(gave_up.value) == (
        f"{storage.location('2009Q3')}: filerne blev ved med at blive overskrevet under "
        "kopieringen; en anden kørsel skriver samme sted. Kør igen, når den er færdig."
    )
    assert not storage.exists("2009Q3/manifest.json")  # no reader is told a wrong file


def test_a_staged_file_that_changed_after_the_decision_stops_the_finisher(
    storage: Storage,
) -> None:
    dies_at(storage, "fp-1", "2009Q3/versions/1/", T1, GONE)  # decided, not copied
    (staged,) = [k for k in storage.list(".kvartal/staging") if k.endswith("/report.pdf")]
    storage.write(staged, b"%PDF-1.7 not the decided bytes")
    with pytest.raises(PublishConflict) as changed:
        go(storage, "fp-1", NOW)
    folder = staged.rsplit("/", 1)[0]
    assert str(changed.value) == (
        f"{storage.location(folder)}/report.pdf holder ikke de bytes, som beslutningen om "
        "version 1 af 2009Q3 nævner. Kør igen. / A staged file does not hold the decided "
        "bytes."
    )
    assert published_versions(storage, "2009Q3") == []


def test_a_run_that_meets_a_newly_decided_version_four_rounds_running_gives_up(
    storage: Storage,
) -> None:
    dies_at(storage, "fp-0", "2009Q3/versions/1/", T1, GONE)  # version 1 decided, not copied

    class Busy(RecordingStorage):
        """Each time our run finishes a version decided by another, yet another run
        decides the next one."""

        def write(self, key: str, data: bytes, **kw: Any) -> None:
            super().write(key, data, **kw)
            m = re.fullmatch(r"2009Q3/versions/([0-9]+)/manifest\.json", key)
            if m:
                n = int(m[1]) + 1
                dies_at(storage, f"fp-{n}", f"2009Q3/versions/{n}/", T1, GONE)

    with pytest.raises(PublishConflict) as stop:
        go(Busy(storage), "fp-a", NOW)
    assert str(stop.value) == (
        f"Andre kørsler blev ved med at udgive nye versioner af 2009Q3 i {storage.url}, "
        "mens denne kørsel arbejdede. Kør igen, når de er færdige. / Other runs kept "
        "publishing new versions of 2009Q3; run again when they are done."
    )
    # four rounds: the others' versions 1 to 4 finished, none of ours
    assert published_versions(storage, "2009Q3") == [1, 2, 3, 4]
    assert json.loads(storage.read("2009Q3/versions/4/manifest.json"))["fingerprint"] == "fp-4"


def test_the_trend_pages_a_publication_writes_are_among_the_keys_it_reports(
    storage: Storage,
) -> None:
    def render(n: int, published_at: datetime | None = None) -> dict[str, bytes]:
        return {"report.html": b"<h1>Bilag 1</h1>", "fulfilment.json": b'{"targets": []}\n'}

    result = publish(
        storage,
        "2009Q3",
        fingerprint="fp-1",
        render=render,
        manifest_extra={},
        index_renderer=index_renderer,
        now=T0,
    )
    # at the root: the trend files, the root manifest naming them, then the index
    assert [k for k in result.written if "/" not in k] == [
        "udvikling.json",
        "udvikling.html",
        "manifest.json",
        "index.html",
    ]
    assert all(storage.exists(k) for k in result.written if "/" not in k)


def claim_names(storage: Storage) -> list[str]:
    return [k.removeprefix(".kvartal/claims/2009Q3/") for k in storage.list(".kvartal/claims")]


def test_claims_are_kept_for_an_overtaken_writer_behind_the_runs_own_older_claim(
    storage: Storage,
) -> None:
    clock = [1_250_000_000.0]
    h = Actor("maskine-h", 4202, "h-owner", lambda: clock[0], 30)
    g = Actor("maskine-g", 4101, "g-owner", lambda: clock[0], 30)
    dies_at(storage, "fp-h", ".kvartal/staging/", T1, h)  # H: generation 1, then fails
    clock[0] += 32
    dies_at(storage, "fp-g", ".kvartal/staging/", T1, g)  # G takes over: generation 2, stalls
    clock[0] += 32
    assert go(storage, "fp-h", NOW, h).version == 1  # H again: generation 3, published
    # G, on another machine, may still resume: every claim of version 1 stays
    assert claim_names(storage) == ["v1/1.json", "v1/2.json", "v1/3.json"]


def test_claims_kept_for_an_overtaken_writer_keep_no_later_versions_spent_claims(
    storage: Storage,
) -> None:
    clock = [1_250_000_000.0]
    g = Actor("maskine-g", 4101, "g-owner", lambda: clock[0], 30)
    h = Actor("maskine-h", 4202, "h-owner", lambda: clock[0], 30)
    k = Actor("maskine-k", 4303, "k-owner", lambda: clock[0], 30)
    dies_at(storage, "fp-g", ".kvartal/staging/", T1, g)  # G claims version 1, stalls
    clock[0] += 32
    assert go(storage, "fp-h", NOW, h).version == 1  # H takes it over and publishes
    assert go(storage, "fp-k", NOW, k).version == 2
    # version 1's claims stay for G; version 2's claim is spent
    assert claim_names(storage) == ["v1/1.json", "v1/2.json"]
    assert storage.list(".kvartal/decided") == []


def test_a_claim_on_version_10_does_not_keep_the_spent_bookkeeping_of_version_9(
    storage: Storage,
) -> None:
    for n in range(1, 9):
        go(storage, f"fp-{n}", T0)
    dies_at(storage, "fp-9", "index.html", T1, GONE)  # version 9 published, not cleaned up
    dies_at(storage, "fp-10", ".kvartal/staging/", T1, GONE)  # claims version 10, dies
    assert go(storage, "fp-9", NOW).version == 9  # nothing new; removes what is spent
    # "v10" sorts before "v9": version 10's claim stays (unpublished), version 9's goes
    assert claim_names(storage) == ["v10/1.json"]
    assert storage.list(".kvartal/decided") == []
    assert storage.list(".kvartal/staging") == []
