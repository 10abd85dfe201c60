"""Two publishers in one process, interleaved at chosen writes: what a reader then sees.

A storage wrapper holds one publisher at a write while the other runs; the interleavings
are the ones the write order is built for (docs/design.md, "Publishing write order"):
a newer version landing in the middle of an older version's copy at `<quarter>/`, an
older copy's write that was in transit landing after the newer copy, and a writer whose
lease ran out resuming while the run that took over is about to decide. Other wrappers
run the second publisher just before a chosen read, or just after a create-only write was
refused: the moments where an overtaken run decides whom to name, and where a run finishes
another's decision from its staged files.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kvartal.publish import Actor, Claim, PublishConflict, PublishResult, publish
from kvartal.storage import AlreadyExists, LocalStorage, Storage
from tests.test_publish import RecordingStorage, index_renderer, renderer

WAIT = 10.0  # seconds a thread waits for the other before the test fails instead of hanging


def go(
    storage: Storage, fp: str, actor: Actor | None = None, run_id: str | None = None
) -> PublishResult:
    return publish(
        storage,
        "2009Q3",
        fingerprint=fp,
        render=renderer(fp),
        manifest_extra={} if run_id is None else {"run_id": run_id},
        index_renderer=index_renderer,
        actor=actor,
    )


def what_a_reader_sees(storage: Storage) -> tuple[str, bool]:
    """The fingerprint `<quarter>/manifest.json` names, and whether every file it lists
    holds the bytes it says."""
    manifest = json.loads(storage.read("2009Q3/manifest.json"))
    intact = all(
        hashlib.sha256(storage.read(f"2009Q3/{f['name']}")).hexdigest() == f["sha256"]
        for f in manifest["files"]
    )
    return manifest["fingerprint"], intact


class Interleaving(RecordingStorage):
    """Runs `meanwhile` once, just before (or just after) the first write whose key `at`
    accepts."""

    def __init__(
        self,
        inner: Storage,
        at: Callable[[str], bool],
        meanwhile: Callable[[], None],
        after: bool = False,
    ):
        super().__init__(inner)
        self.at = at
        self.after = after
        self.meanwhile: Callable[[], None] | None = meanwhile

    def write(self, key: str, data: bytes, **kw: Any) -> None:
        due = self.meanwhile is not None and self.at(key)
        if due and not self.after:
            self._run()
        super().write(key, data, **kw)
        if due and self.after:
            self._run()

    def _run(self) -> None:
        run, self.meanwhile = self.meanwhile, None
        assert run is not None
        run()


def copy_writes(writes: list[str]) -> list[str]:
    """The writes and deletes at `<quarter>/` itself: the copy readers open."""
    return [k for k in writes if k.removeprefix("delete:").count("/") == 1]


def test_a_newer_version_landing_mid_copy_is_what_readers_see(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    newer: list[PublishResult] = []
    # v1 has deleted `2009Q3/manifest.json` and written its first file there when v2 is
    # published from start to end
    older = Interleaving(
        storage,
        at=lambda key: key == "2009Q3/fulfilment.json",
        meanwhile=lambda: newer.append(go(storage, "fp-2")),
        after=True,
    )
    first = go(older, "fp-1")
    assert (first.version, newer[0].version) == (1, 2)
    # v1 stopped at once: not one more write at `2009Q3/` after v2 landed
    assert copy_writes(older.writes) == [
        "delete:2009Q3/manifest.json",
        "2009Q3/fulfilment.json",
    ]
    assert what_a_reader_sees(storage) == ("fp-2", True)
    assert storage.read("2009Q3/report.html") == renderer("fp-2")(2)["report.html"]


def test_an_older_write_in_transit_landing_after_the_newer_copy_is_repaired(
    tmp_path: Path,
) -> None:
    storage = LocalStorage(tmp_path)
    go(storage, "fp-1")
    stale = storage.read("2009Q3/report.pdf")  # v1's bytes, as a PUT of v1 still in transit
    # v2 has written every file at `2009Q3/`; v1's PUT lands just before v2's manifest
    newer = Interleaving(
        storage,
        at=lambda key: key == "2009Q3/manifest.json" and storage.exists("2009Q3/report.xlsx"),
        meanwhile=lambda: storage.write("2009Q3/report.pdf", stale),
    )
    result = go(newer, "fp-2")
    assert result.version == 2
    assert what_a_reader_sees(storage) == ("fp-2", True)
    # read back, found wrong, manifest taken away, the file written again, manifest back
    assert copy_writes(newer.writes) == [
        "delete:2009Q3/manifest.json",
        "2009Q3/fulfilment.json",
        "2009Q3/report.html",
        "2009Q3/report.pdf",
        "2009Q3/report.xlsx",
        "2009Q3/manifest.json",
        "delete:2009Q3/manifest.json",
        "2009Q3/report.pdf",
        "2009Q3/manifest.json",
    ]


def test_a_writer_past_its_lease_cannot_decide_before_the_run_that_took_over(
    tmp_path: Path,
) -> None:
    """G stalls after staging one file; H takes the version over and stages; G resumes and
    must stop before deciding, so that H's bytes become version 1."""
    storage = LocalStorage(tmp_path)
    now = [1_250_000_000.0]
    g = Actor("maskine-g", 4101, "g-owner", lambda: now[0], 30)
    h = Actor("maskine-h", 4202, "h-owner", lambda: now[0], 30)
    g_paused, g_resume = threading.Event(), threading.Event()
    h_paused, h_resume = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    class Pause(RecordingStorage):
        def __init__(self, at: Callable[[str], bool], paused: threading.Event, resume: Any):
            super().__init__(storage)
            self.at, self.paused, self.resume = at, paused, resume

        def write(self, key: str, data: bytes, **kw: Any) -> None:
            if not self.paused.is_set() and self.at(key):
                self.paused.set()
                assert self.resume.wait(WAIT)
            super().write(key, data, **kw)

    def run(name: str, st: Storage, actor: Actor) -> None:
        try:
            outcome[name] = go(st, f"fp-{name}", actor)
        except PublishConflict as exc:
            outcome[name] = exc

    staged = [0]

    def g_second_staged_file(key: str) -> bool:
        if key.startswith(".kvartal/staging/"):
            staged[0] += 1
        return staged[0] == 2

    tg = threading.Thread(
        target=run, args=("g", Pause(g_second_staged_file, g_paused, g_resume), g)
    )
    th = threading.Thread(
        target=run,
        args=("h", Pause(lambda key: key.startswith(".kvartal/decided/"), h_paused, h_resume), h),
    )
    tg.start()
    assert g_paused.wait(WAIT)
    now[0] += 32  # G's lease has run out
    th.start()
    assert h_paused.wait(WAIT)  # H has claimed and staged, and is about to decide
    g_resume.set()
    tg.join(WAIT)
    h_resume.set()
    th.join(WAIT)
    assert not tg.is_alive() and not th.is_alive()

    assert isinstance(outcome["g"], PublishConflict)
    assert "kørslen på maskine maskine-h, proces 4202" in str(outcome["g"])
    assert isinstance(outcome["h"], PublishResult)
    assert (outcome["h"].version, outcome["h"].created) == (1, True)
    assert what_a_reader_sees(storage) == ("fp-h", True)
    assert storage.read("2009Q3/versions/1/report.pdf") == renderer("fp-h")(1)["report.pdf"]


@pytest.mark.parametrize(("later", "taken_over"), [(30.0, False), (30.5, True)])
def test_a_claim_is_honoured_up_to_the_end_of_its_lease(
    tmp_path: Path, later: float, taken_over: bool
) -> None:
    storage = LocalStorage(tmp_path)
    now = [1_250_000_000.0]
    g = Actor("maskine-g", 4101, "g-owner", lambda: now[0], 30)
    h = Actor("maskine-h", 4202, "h-owner", lambda: now[0], 30)
    dying = RecordingStorage(storage, fail_on=lambda key: key.startswith(".kvartal/staging/"))
    with pytest.raises(RuntimeError, match="simulated crash"):
        go(dying, "fp-g", g)  # G claimed version 1 and went quiet on another machine
    now[0] += later
    if taken_over:
        assert go(storage, "fp-h", h).version == 1
    else:
        with pytest.raises(PublishConflict, match="maskine maskine-g, proces 4101"):
            go(storage, "fp-h", h)


@pytest.mark.parametrize("same_inputs", [False, True])
def test_a_decision_made_after_the_version_was_published_and_spent_names_nothing(
    tmp_path: Path, same_inputs: bool
) -> None:
    """H stalls just before deciding; G takes over after the lease, publishes version 1
    and removes the spent decision; H's decision then lands on a version already
    published. H must not copy a byte: version 1 stays G's."""
    storage = LocalStorage(tmp_path)
    now = [1_250_000_000.0]
    g = Actor("maskine-g", 4101, "g-owner", lambda: now[0], 30)
    h = Actor("maskine-h", 4202, "h-owner", lambda: now[0], 30)
    g_fp = "fp-h" if same_inputs else "fp-g"
    published: list[PublishResult] = []

    def g_takes_over() -> None:
        now[0] += 32
        published.append(go(storage, g_fp, g, run_id="g"))  # its own run, its own manifest

    stalled = Interleaving(storage, lambda key: key.startswith(".kvartal/decided/"), g_takes_over)
    if same_inputs:
        result = go(stalled, "fp-h", h, run_id="h")
        assert (result.version, result.created) == (1, False)  # found it published
    else:
        with pytest.raises(PublishConflict) as lost:
            go(stalled, "fp-h", h, run_id="h")
        assert "kørslen på maskine maskine-g, proces 4101" in str(lost.value)
    assert (published[0].version, published[0].created) == (1, True)
    assert what_a_reader_sees(storage) == (g_fp, True)
    assert json.loads(storage.read("2009Q3/manifest.json"))["run_id"] == "g"
    assert storage.read("2009Q3/versions/1/report.pdf") == renderer(g_fp)(1)["report.pdf"]
    assert not storage.exists(".kvartal/decided/2009Q3/v1.json")
    assert "2009Q3/versions/1/report.pdf" not in stalled.writes


def test_a_writer_overtaken_twice_names_the_run_that_published(tmp_path: Path) -> None:
    """H stalls before deciding; G takes over and stalls too; K takes over from G and
    publishes. G and H then resume: each must name K, the run that published."""
    storage = LocalStorage(tmp_path)
    now = [1_250_000_000.0]
    h = Actor("maskine-h", 4202, "h-owner", lambda: now[0], 30)
    g = Actor("maskine-g", 4101, "g-owner", lambda: now[0], 30)
    k = Actor("maskine-k", 4303, "k-owner", lambda: now[0], 30)
    lost: list[str] = []

    def k_takes_over() -> None:
        now[0] += 32
        assert go(storage, "fp-k", k).version == 1

    def g_takes_over() -> None:
        now[0] += 32
        g_stalls = Interleaving(
            storage, lambda key: key.startswith(".kvartal/staging/"), k_takes_over, after=True
        )
        with pytest.raises(PublishConflict) as g_lost:
            go(g_stalls, "fp-g", g)
        lost.append(str(g_lost.value))

    h_stalls = Interleaving(storage, lambda key: key.startswith(".kvartal/decided/"), g_takes_over)
    with pytest.raises(PublishConflict) as h_lost:
        go(h_stalls, "fp-h", h)
    lost.append(str(h_lost.value))
    assert all("kørslen på maskine maskine-k, proces 4303" in message for message in lost)
    assert what_a_reader_sees(storage) == ("fp-k", True)


def test_two_runs_claiming_the_same_version_at_once_one_is_told_who_has_it(
    tmp_path: Path,
) -> None:
    storage = LocalStorage(tmp_path)
    b = Claim(1, "fp-b", "2009-10-02T09:30:00+00:00", "b-owner", "maskine-b", 4404, time.time())

    def b_claims_first() -> None:
        storage.write(".kvartal/claims/2009Q3/v1/1.json", b.to_bytes(), create_only=True)

    racing = Interleaving(storage, lambda key: key.startswith(".kvartal/claims/"), b_claims_first)
    with pytest.raises(PublishConflict) as busy:
        go(racing, "fp-a")
    assert "maskine maskine-b, proces 4404" in str(busy.value)
    # the operator is told which version of which quarter is busy, in Danish and English
    assert "udgiver version 1 af 2009Q3 i" in str(busy.value)
    assert "publishing version 1 of 2009Q3 right now" in str(busy.value)
    assert Claim.from_bytes(storage.read(".kvartal/claims/2009Q3/v1/1.json")) == b
    assert [k for k in storage.list() if not k.startswith(".kvartal/claims/")] == []


@pytest.mark.parametrize("same_inputs", [False, True])
def test_a_decision_made_first_by_the_run_that_took_over_is_the_one_finished(
    tmp_path: Path, same_inputs: bool
) -> None:
    """H is about to decide when G, past H's lease, takes over, decides and is killed
    before copying. H's decision meets G's: G's is the version's bytes."""
    storage = LocalStorage(tmp_path)
    now = [1_250_000_000.0]
    g = Actor("maskine-g", 4101, "g-owner", lambda: now[0], 30)
    h = Actor("maskine-h", 4202, "h-owner", lambda: now[0], 30)
    g_fp = "fp-h" if same_inputs else "fp-g"

    def g_decides_and_dies() -> None:
        now[0] += 32
        dying = RecordingStorage(storage, fail_on=lambda key: key.startswith("2009Q3/versions/"))
        with pytest.raises(RuntimeError, match="simulated crash"):
            go(dying, g_fp, g, run_id="g")

    stalled = Interleaving(
        storage, lambda key: key.startswith(".kvartal/decided/"), g_decides_and_dies
    )
    if same_inputs:
        result = go(stalled, "fp-h", h, run_id="h")
        assert (result.version, result.created) == (1, False)
        assert "2009Q3/versions/1/manifest.json" in stalled.writes  # H finished G's
        # every key H wrote is in the quarter's folder, the bookkeeping or the root
        keys = [k.removeprefix("delete:") for k in stalled.writes]
        assert all(k.startswith(("2009Q3/", ".kvartal/")) or "/" not in k for k in keys)
        # and only version 1 exists: no copy under any other version's folder
        versions = {k.split("/")[2] for k in storage.list() if k.startswith("2009Q3/versions/")}
        assert versions == {"1"}
    else:
        with pytest.raises(PublishConflict) as lost:
            go(stalled, "fp-h", h, run_id="h")
        assert "kørslen på maskine maskine-g, proces 4101" in str(lost.value)
        assert "mistede sin ret til at udgive version 1 af 2009Q3 i " in str(lost.value)
        go(storage, g_fp, g, run_id="g")  # G's retry finishes its own decision
    manifest = json.loads(storage.read("2009Q3/versions/1/manifest.json"))
    assert (manifest["fingerprint"], manifest["run_id"]) == (g_fp, "g")
    assert what_a_reader_sees(storage) == (g_fp, True)


def test_a_file_deleted_from_the_copy_before_its_manifest_is_written_again(
    tmp_path: Path,
) -> None:
    storage = LocalStorage(tmp_path)
    go(storage, "fp-1")
    newer = Interleaving(
        storage,
        at=lambda key: key == "2009Q3/manifest.json" and storage.exists("2009Q3/report.xlsx"),
        meanwhile=lambda: storage.delete("2009Q3/report.pdf"),
    )
    assert go(newer, "fp-2").version == 2
    assert what_a_reader_sees(storage) == ("fp-2", True)


NO_PROCESS = 4_194_305  # above every Linux pid_max: no process of this machine has it


def test_a_writer_whose_claims_were_all_spent_says_another_run_took_over(tmp_path: Path) -> None:
    """H, a run of this machine whose process is gone, stalls just before deciding; G takes
    over at once, publishes and removes every claim of version 1 (H's process is not
    alive). H's decision then lands on a published version with no claim left to name."""
    storage = LocalStorage(tmp_path)
    now = [1_250_000_000.0]
    g = Actor("maskine-g", 4101, "g-owner", lambda: now[0], 30)
    h = Actor(socket.gethostname(), NO_PROCESS, "h-owner", lambda: now[0], 30)

    def g_takes_over() -> None:
        assert go(storage, "fp-g", g).version == 1

    stalled = Interleaving(storage, lambda key: key.startswith(".kvartal/decided/"), g_takes_over)
    with pytest.raises(PublishConflict) as lost:
        go(stalled, "fp-h", h)
    assert ": en anden kørsel overtog den, fordi denne kørsel" in str(lost.value)
    assert storage.list(".kvartal") == []
    assert what_a_reader_sees(storage) == ("fp-g", True)


def test_an_earlier_attempts_claim_landing_late_gives_the_version_its_time(
    tmp_path: Path,
) -> None:
    """A retry of the same run finds the claim its first attempt wrote (late, with that
    attempt's time): the version is published with that time, and its manifest still
    names its quarter and version."""
    storage = LocalStorage(tmp_path)
    a = Actor("maskine-a", 4501, "a-owner", time.time, 600)
    first = Claim(1, "fp-a", "2009-10-01T08:00:00+00:00", "a-owner", "maskine-a", 4501, time.time())

    def first_attempt_lands() -> None:
        storage.write(".kvartal/claims/2009Q3/v1/1.json", first.to_bytes(), create_only=True)

    late = Interleaving(
        storage, lambda key: key.startswith(".kvartal/claims/"), first_attempt_lands
    )
    result = go(late, "fp-a", a)
    assert (result.version, result.created) == (1, True)
    for where in ("2009Q3/manifest.json", "2009Q3/versions/1/manifest.json"):
        manifest = json.loads(storage.read(where))
        assert manifest["quarter"] == "2009Q3"
        assert manifest["version"] == 1
        assert manifest["published_at"] == "2009-10-01T08:00:00+00:00"
    assert what_a_reader_sees(storage) == ("fp-a", True)


class BeforeRead(RecordingStorage):
    """Runs `meanwhile` once, just before the first read whose key `at` accepts."""

    def __init__(self, inner: Storage, at: Callable[[str], bool], meanwhile: Callable[[], None]):
        super().__init__(inner)
        self.at = at
        self.meanwhile: Callable[[], None] | None = meanwhile

    def read(self, key: str) -> bytes:
        if self.meanwhile is not None and self.at(key):
            run, self.meanwhile = self.meanwhile, None
            run()
        return super().read(key)


class AfterRefusal(RecordingStorage):
    """Runs `meanwhile` once, just after a create-only write whose key `at` accepts was
    refused because the key exists: between the refused write and what the writer reads
    next."""

    def __init__(self, inner: Storage, at: Callable[[str], bool], meanwhile: Callable[[], None]):
        super().__init__(inner)
        self.at = at
        self.meanwhile: Callable[[], None] | None = meanwhile

    def write(self, key: str, data: bytes, **kw: Any) -> None:
        try:
            super().write(key, data, **kw)
        except AlreadyExists:
            if self.meanwhile is not None and self.at(key):
                run, self.meanwhile = self.meanwhile, None
                run()
            raise


def test_a_decision_meeting_an_earlier_one_names_the_run_that_made_it(tmp_path: Path) -> None:
    """H stalls just before deciding; G takes over past H's lease, stages, and stalls just
    before deciding too, while K takes G's claim over past G's lease and is killed while
    staging. G's decision then lands, and G is killed before copying. H's decision meets
    G's: H must name G, whose bytes version 1 holds, not K, the newest claim."""
    storage = LocalStorage(tmp_path)
    now = [1_250_000_000.0]
    h = Actor("maskine-h", 4202, "h-owner", lambda: now[0], 30)
    g = Actor("maskine-g", 4101, "g-owner", lambda: now[0], 30)
    k = Actor("maskine-k", 4303, "k-owner", lambda: now[0], 30)

    def k_takes_over_and_dies() -> None:
        now[0] += 32
        dying = RecordingStorage(storage, fail_on=lambda key: key.startswith(".kvartal/staging/"))
        with pytest.raises(RuntimeError, match="simulated crash"):
            go(dying, "fp-k", k)

    def g_takes_over_decides_and_dies() -> None:
        now[0] += 32
        dying = RecordingStorage(storage, fail_on=lambda key: key.startswith("2009Q3/versions/"))
        g_stalls = Interleaving(
            dying, lambda key: key.startswith(".kvartal/decided/"), k_takes_over_and_dies
        )
        with pytest.raises(RuntimeError, match="simulated crash"):
            go(g_stalls, "fp-g", g)

    h_stalls = Interleaving(
        storage, lambda key: key.startswith(".kvartal/decided/"), g_takes_over_decides_and_dies
    )
    with pytest.raises(PublishConflict) as lost:
        go(h_stalls, "fp-h", h)
    assert "kørslen på maskine maskine-g, proces 4101" in str(lost.value)
    assert "maskine-k" not in str(lost.value)
    # the next run (G's retry) finishes G's decision: version 1 is G's
    assert go(storage, "fp-g", g).version == 1
    assert what_a_reader_sees(storage) == ("fp-g", True)
    assert storage.read("2009Q3/versions/1/report.pdf") == renderer("fp-g")(1)["report.pdf"]


def test_a_decision_spent_between_the_refused_write_and_its_read_names_the_run_that_published(
    tmp_path: Path,
) -> None:
    """H stalls just before deciding; G takes over past H's lease, decides and is killed
    before copying. H's decision is refused, and before H reads the decision that is
    there, G's retry publishes version 1 and removes it as spent (G's and H's claims stay,
    as H may still resume). H finds no decision and must name G from the claims."""
    storage = LocalStorage(tmp_path)
    now = [1_250_000_000.0]
    h = Actor("maskine-h", 4202, "h-owner", lambda: now[0], 30)
    g = Actor("maskine-g", 4101, "g-owner", lambda: now[0], 30)

    def g_decides_and_dies() -> None:
        now[0] += 32
        dying = RecordingStorage(storage, fail_on=lambda key: key.startswith("2009Q3/versions/"))
        with pytest.raises(RuntimeError, match="simulated crash"):
            go(dying, "fp-g", g)

    def g_retries() -> None:
        assert go(storage, "fp-g", g).version == 1
        assert not storage.exists(".kvartal/decided/2009Q3/v1.json")

    def decided(key: str) -> bool:
        return key.startswith(".kvartal/decided/")

    h_stalls = AfterRefusal(Interleaving(storage, decided, g_decides_and_dies), decided, g_retries)
    with pytest.raises(PublishConflict) as lost:
        go(h_stalls, "fp-h", h)
    assert "kørslen på maskine maskine-g, proces 4101" in str(lost.value)
    assert "mistede sin ret til at udgive version 1 af 2009Q3 i " in str(lost.value)
    assert what_a_reader_sees(storage) == ("fp-g", True)
    assert storage.read("2009Q3/versions/1/report.pdf") == renderer("fp-g")(1)["report.pdf"]
    assert [k for k in h_stalls.writes if not k.startswith(".kvartal/")] == []


def test_an_overtaken_writer_reading_the_claims_during_a_cleanup_names_the_run_that_took_over(
    tmp_path: Path,
) -> None:
    """H, a run of this machine whose process is gone, stalls while staging; G takes over
    at once, publishes version 1 and is killed before its cleanup. H resumes and lists the
    claims (its own and G's); before it reads them, G's retry removes H's claim and is
    killed before removing its own. H must still name G."""
    storage = LocalStorage(tmp_path)
    now = [1_250_000_000.0]
    h = Actor(socket.gethostname(), NO_PROCESS, "h-owner", lambda: now[0], 30)
    g = Actor("maskine-g", 4101, "g-owner", lambda: now[0], 30)

    def g_publishes_and_dies() -> None:
        # killed at its first page at the publish root, before the spent claims go
        dying = RecordingStorage(storage, fail_on=lambda key: "/" not in key)
        with pytest.raises(RuntimeError, match="simulated crash"):
            go(dying, "fp-g", g)
        assert what_a_reader_sees(storage) == ("fp-g", True)

    def g_retry_dies_half_way_through_the_cleanup() -> None:
        dying = RecordingStorage(
            storage, fail_on=lambda key: key == "delete:.kvartal/claims/2009Q3/v1/2.json"
        )
        with pytest.raises(RuntimeError, match="simulated crash"):
            go(dying, "fp-g", g)
        assert storage.list(".kvartal/claims") == [".kvartal/claims/2009Q3/v1/2.json"]

    h_stalls = BeforeRead(
        Interleaving(
            storage, lambda key: key.startswith(".kvartal/staging/"), g_publishes_and_dies
        ),
        lambda key: key == ".kvartal/claims/2009Q3/v1/1.json",
        g_retry_dies_half_way_through_the_cleanup,
    )
    with pytest.raises(PublishConflict) as lost:
        go(h_stalls, "fp-h", h)
    assert "kørslen på maskine maskine-g, proces 4101" in str(lost.value)
    assert what_a_reader_sees(storage) == ("fp-g", True)
    assert [k for k in h_stalls.writes if not k.startswith(".kvartal/staging/")] == [
        ".kvartal/claims/2009Q3/v1/1.json"
    ]
    # the next run removes what the killed cleanup left
    assert go(storage, "fp-g", g).created is False
    assert storage.list(".kvartal") == []


def test_a_finisher_reads_only_the_decided_runs_staged_files_when_a_later_claim_reuses_its_number(
    tmp_path: Path,
) -> None:
    """Y plans version 1 and stalls while rendering. X claims version 1, decides and is
    killed before copying. F starts to finish X's decision and stalls before reading X's
    staged files; meanwhile X's retry finishes and publishes version 1 and removes its
    spent claim, decision and staged files, and Y resumes: it claims version 1 again with
    the same number (1) X's claim had, stages its own files and is told version 1 is
    another run's. F then must not read Y's staged files as X's: it finds version 1
    published and publishes its own as version 2."""
    storage = LocalStorage(tmp_path)
    now = [1_250_000_000.0]
    x = Actor("maskine-x", 4601, "x-owner", lambda: now[0], 30)
    y = Actor("maskine-y", 4602, "y-owner", lambda: now[0], 30)
    f = Actor("maskine-f", 4603, "f-owner", lambda: now[0], 30)
    y_planned, y_resume = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def y_render(n: int, moment: datetime) -> dict[str, bytes]:
        if not y_planned.is_set():
            y_planned.set()
            assert y_resume.wait(WAIT)
        return renderer("fp-y")(n, moment)

    def y_runs() -> None:
        try:
            outcome["y"] = publish(
                storage,
                "2009Q3",
                fingerprint="fp-y",
                render=y_render,
                manifest_extra={},
                index_renderer=index_renderer,
                actor=y,
            )
        except PublishConflict as exc:
            outcome["y"] = exc

    def x_retries_then_y_resumes() -> None:
        assert go(storage, "fp-x", x).version == 1
        assert storage.list(".kvartal") == []
        y_resume.set()
        ty.join(WAIT)
        assert not ty.is_alive()

    ty = threading.Thread(target=y_runs)
    ty.start()
    try:
        assert y_planned.wait(WAIT)  # Y saw no version and no decision
        dying = RecordingStorage(storage, fail_on=lambda key: key.startswith("2009Q3/versions/"))
        with pytest.raises(RuntimeError, match="simulated crash"):
            go(dying, "fp-x", x)
        f_stalls = BeforeRead(
            storage, lambda key: key.startswith(".kvartal/staging/"), x_retries_then_y_resumes
        )
        result = go(f_stalls, "fp-f", f)
    finally:
        y_resume.set()
        ty.join(WAIT)
    assert isinstance(outcome["y"], PublishConflict)
    assert "mistede sin ret til at udgive version 1 af 2009Q3" in str(outcome["y"])
    assert (result.version, result.created) == (2, True)
    assert what_a_reader_sees(storage) == ("fp-f", True)
    assert storage.read("2009Q3/versions/1/report.pdf") == renderer("fp-x")(1)["report.pdf"]
    assert storage.read("2009Q3/versions/2/report.pdf") == renderer("fp-f")(2)["report.pdf"]
    assert storage.list(".kvartal") == []
